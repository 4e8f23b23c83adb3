package deploy

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
)

// A workload that is not ready says why, a line per cause, each line
// naming cluster, batch, bundle and object: the messages of its conditions
// that are not met, the ReplicaFailure of a Deployment, the Warning events
// of a StatefulSet (FailedCreate) and of the workload's pods
// (FailedScheduling). Here a ResourceQuota allowing no pods refuses them,
// as an admission webhook that nothing serves would, and a nodeSelector
// that no Node matches leaves the pods of another unscheduled.
func TestNotReadyCause(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "cause")
	ctx := testContext(t)
	quota := obj(t, `{apiVersion: v1, kind: ResourceQuota, metadata: {name: no-pods}, spec: {hard: {pods: "0"}}}`)
	set := obj(t, `{apiVersion: apps/v1, kind: StatefulSet, metadata: {name: db},
spec: {replicas: 1, serviceName: db, selector: {matchLabels: {app: db}},
template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db, image: registry.invalid/db:1}]}}}}`)
	tests := []struct {
		name      string
		namespace string
		object    string
		obj       plan.Object
		// want are the words of the cause lines, each found in one line.
		want [][]string
	}{
		{"deployment", "quota", "Deployment/quota/web", deployment(t, "web", 1, false), [][]string{
			// "exceeded quota: no-pods", or "status unknown for quota:
			// no-pods" before the quota controller has counted.
			{"FailedCreate: ", "quota: no-pods"},
			{"Available=False", "Deployment does not have minimum availability"},
		}},
		{"statefulset", "quota", "StatefulSet/quota/db", set, [][]string{{"FailedCreate: ", "quota: no-pods"}}},
		{"unschedulable", "free", "Deployment/free/stuck", deployment(t, "stuck", 1, true), [][]string{
			{"FailedScheduling: ", "node(s) didn't match Pod's node affinity/selector", "(pod stuck-"},
			{"Available=False", "Deployment does not have minimum availability"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := bundle(tt.name, tt.namespace, tt.obj)
			b.Timeout = "5s"
			batches := []plan.Batch{batch("apps", 10, b)}
			if tt.namespace == "quota" {
				batches = append([]plan.Batch{batch("quota", 0, bundle("quota-"+tt.name, "quota", quota))}, batches...)
			}
			_, events, err := deployPlan(ctx, t, k.newPlan(t, batches...), Options{})
			if err == nil {
				t.Fatal("deploy succeeded, want a timeout")
			}
			lines := strings.Split(err.Error(), "\n")
			head := "cluster " + clusterName + ": batch apps: bundle " + tt.name + ": "
			if !strings.HasPrefix(lines[0], head+"not ready after ") || !strings.Contains(lines[0], tt.object+" ") {
				t.Errorf("first line: %s", lines[0])
			}
			var causes []string
			for _, l := range lines[1:] {
				c, ok := strings.CutPrefix(l, head+tt.object+": ")
				if !ok {
					t.Errorf("a line that names no cluster, batch, bundle and object: %s", l)
				}
				causes = append(causes, c)
			}
			for _, words := range tt.want {
				if !slices.ContainsFunc(causes, func(c string) bool { return len(containsAll(c, words...)) == 0 }) {
					t.Errorf("no cause line with %q in:\n%s", words, err)
				}
			}
			i := eventIndex(events, "failed", tt.name)
			if i < 0 || len(events[i].NotReady) != 1 || !slices.Equal(events[i].NotReady[0].Causes, causes) {
				t.Errorf("the failed event lacks the causes %q: %+v", causes, events)
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
