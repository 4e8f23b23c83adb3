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
	empty := map[string]any{"status": map[string]any{}}
	tests := []struct {
		name, err, expr string
		obj             map[string]any
		want            string
	}{
		{name: "attribute", err: "failed to evaluate the CEL expression 'x': no such attribute(s): status.state", want: "status.state is not set"},
		{name: "attributes", err: "no such attribute(s): status.a, status.b", want: "status.a, status.b are not set"},
		{name: "other error", err: "something else\nentirely", want: "something else entirely"},
		{name: "key of an empty status", err: "failed to evaluate the CEL expression 'status.state == 'ready'': no such key: state",
			expr: "status.state == 'ready'", obj: empty, want: "status.state is not set"},
		{name: "key by index", err: "no such key: state", expr: `status["state"] == 'ready'`, obj: empty, want: "status.state is not set"},
		{name: "deeper key", err: "no such key: phase", expr: "spec.size == 1 && status.sub.phase == 'Ready'",
			obj: map[string]any{"spec": map[string]any{"size": 1}, "status": map[string]any{"sub": map[string]any{}}}, want: "status.sub.phase is not set"},
		{name: "key the object has on one path", err: "no such key: state", expr: "spec.state == 'on' && status.state == 'ready'",
			obj: map[string]any{"spec": map[string]any{"state": "on"}, "status": map[string]any{}}, want: "status.state is not set"},
		{name: "key of two paths", err: "no such key: state", expr: "spec.state == 'on' && status.state == 'ready'",
			obj: map[string]any{"spec": map[string]any{}, "status": map[string]any{}}, want: "state is not set"},
		{name: "key of no path", err: "no such key: state", expr: "self.state == 'ready'", obj: empty, want: "state is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, unsetFields(errors.New(tt.err), tt.expr, tt.obj)); diff != "" {
				t.Errorf("%q (-want +got):\n%s", tt.err, diff)
			}
		})
	}
}
