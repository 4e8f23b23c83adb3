package deploy

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A workload that is not ready because its pods cannot be created says
// why: a Deployment the message of its ReplicaFailure condition, a
// StatefulSet its newest Warning event, each on one line after the
// reason. Here a ResourceQuota allowing no pods refuses them, as an
// admission webhook that nothing serves would.
func TestNotReadyCause(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "cause")
	ctx := testContext(t)
	quota := obj(t, `{apiVersion: v1, kind: ResourceQuota, metadata: {name: no-pods}, spec: {hard: {pods: "0"}}}`)
	set := obj(t, `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db},
spec: {replicas: 1, serviceName: db, selector: {matchLabels: {app: db}},
template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db, image: registry.invalid/db:1}]}}}}`)
	tests := []struct {
		name   string
		object string
		obj    func() map[string]any
	}{
		{"deployment", "Deployment/quota/web", func() map[string]any { return deployment(t, "web", 1, false) }},
		{"statefulset", "StatefulSet/quota/db", func() map[string]any { return set }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bundle(tt.name, "quota", tt.obj())
			b.Timeout = "5s"
			p := k.newPlan(t,
				batch("quota", 0, bundle("quota-"+tt.name, "quota", quota)),
				batch("apps", 10, b),
			)
			_, _, err := deployPlan(ctx, t, p, Options{})
			if err == nil {
				t.Fatal("deploy succeeded, want a timeout")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("the report is not one line:\n%s", msg)
			}
			_, after, ok := strings.Cut(msg, tt.object+" ")
			if !ok {
				t.Fatalf("the report names no %s: %s", tt.object, msg)
			}
			// "exceeded quota: no-pods", or "status unknown for quota:
			// no-pods" before the quota controller has counted.
			got := []bool{strings.Contains(after, "FailedCreate: "), strings.Contains(after, "quota: no-pods")}
			if diff := cmp.Diff([]bool{true, true}, got); diff != "" {
				t.Errorf("the report lacks the cause (FailedCreate, quota: no-pods) (-want +got):\n%s\n%s", diff, msg)
			}
		})
	}
}

// The cause is one line of at most maxCause runes, after its reason.
func TestOneLine(t *testing.T) {
	long := strings.Repeat("x", 2*maxCause)
	tests := []struct {
		name, reason, msg, want string
	}{
		{"folded", "FailedCreate", "Internal error occurred:\n  failed calling webhook", "FailedCreate: Internal error occurred: failed calling webhook"},
		{"no reason", "", "pods forbidden", "pods forbidden"},
		{"cut", "R", long, "R: " + long[:maxCause-4] + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, oneLine(tt.reason, tt.msg)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A readiness rule reading fields the object lacks names them.
func TestUnsetFields(t *testing.T) {
	tests := []struct{ err, want string }{
		{"failed to evaluate the CEL expression 'x': no such attribute(s): status.state", "status.state is not set"},
		{"no such attribute(s): status.a, status.b", "status.a, status.b are not set"},
		{"something else\nentirely", "something else entirely"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, unsetFields(errors.New(tt.err))); diff != "" {
			t.Errorf("%q (-want +got):\n%s", tt.err, diff)
		}
	}
}
