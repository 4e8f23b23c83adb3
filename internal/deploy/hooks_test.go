package deploy

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/plan"
)

// hookJob is a hook Job template: its pod runs on kwok's node and
// completes at once.
func hookJob(name, events string, weight int, policy string) string {
	annotations := fmt.Sprintf("    helm.sh/hook: %s\n    helm.sh/hook-weight: %q\n", events, fmt.Sprint(weight))
	if policy != "" {
		annotations += "    helm.sh/hook-delete-policy: " + policy + "\n"
	}
	return fmt.Sprintf(`apiVersion: batch/v1
kind: Job
metadata:
  name: %s
  annotations:
%s  labels:
    v: {{ .Values.v | quote }}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      containers: [{name: hook, image: registry.invalid/hook:1}]
`, name, annotations)
}

// hooksChart has pre hooks of weights -5 (a ConfigMap, pre-install and
// pre-upgrade, no delete policy), 0 (a Job) and 1 (a Job run on install
// only, deleted when it succeeds), a ConfigMap that is no hook, a
// post-install and post-upgrade Job of weight 5, and a test hook.
func hooksChart() charttest.Chart {
	return charttest.Chart{Name: "hooked", Version: "0.1.0", Files: map[string]string{
		"values.yaml": "v: one\n",
		"templates/pre.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: pre-config
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-5"
data:
  v: {{ .Values.v | quote }}
---
` + hookJob("pre-job", "pre-install,pre-upgrade", 0, "") + "---\n" + hookJob("install-job", "pre-install", 1, "hook-succeeded"),
		"templates/app.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: app
data:
  v: {{ .Values.v | quote }}
`,
		"templates/post.yaml": hookJob("post-job", "post-install,post-upgrade", 5, "before-hook-creation"),
		"templates/test.yaml": hookJob("test-job", "test", 0, ""),
	}}
}

// Helm hooks run as Helm runs them: pre hooks by weight, each weight
// ready (Jobs complete) before the next, then the bundle's objects, ready,
// then post hooks. A first deploy installs (pre-install hooks); a deploy
// that changes nothing leaves the hooks alone; a deploy that changes the
// bundle upgrades: pre-upgrade and post-upgrade hooks run again, each
// deleted and created anew (before-hook-creation, Helm's default), the
// install-only hook not at all. hook-succeeded deletes a hook once it is
// ready; test hooks are never applied.
func TestDeployHooks(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "hooks")
	ctx := testContext(t)
	charts := archives{"hooked": charttest.Package(t, hooksChart())}
	newPlan := func(v string) *plan.Plan {
		return k.newPlan(t, batch("apps", 0, plan.Bundle{Name: "hooked", Namespace: "hooks",
			Chart: &plan.Chart{Repo: "./charts", Name: "hooked", Values: map[string]any{"v": v}}}))
	}
	// At each hook event, what exists and which Jobs are complete.
	var mu sync.Mutex
	var seen []string
	look := func(e Event) {
		if e.Type != "hook" && e.Type != "done" {
			return
		}
		line := e.Type + " " + e.Message + ":"
		for _, name := range []string{"pre-config", "app"} {
			if u, err := k.lookup(ctx, "v1", "ConfigMap", "hooks", name); err == nil && u != nil {
				v, _, _ := unstructured.NestedString(u.Object, "data", "v")
				line += " " + name + "=" + v
			}
		}
		for _, name := range []string{"pre-job", "install-job", "post-job"} {
			if u, err := k.lookup(ctx, "batch/v1", "Job", "hooks", name); err == nil && u != nil {
				line += " " + name
				if condition(u, "Complete") == "True" {
					line += "✓"
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, line)
	}
	deploy := func(v string) ([]string, *Summary) {
		t.Helper()
		mu.Lock()
		seen = nil
		mu.Unlock()
		sum, events, err := deployCharts(ctx, t, newPlan(v), charts, Options{Timeout: 30 * time.Second, OnEvent: look})
		if err != nil {
			t.Fatalf("deploy: %v\n%s", err, eventLines(events))
		}
		mu.Lock()
		defer mu.Unlock()
		return seen, sum
	}
	uids := func() map[string]types.UID {
		out := map[string]types.UID{}
		for _, o := range []struct{ apiVersion, kind, name string }{
			{"v1", "ConfigMap", "pre-config"}, {"batch/v1", "Job", "pre-job"}, {"batch/v1", "Job", "post-job"},
		} {
			if u := k.get(ctx, t, o.apiVersion, o.kind, "hooks", o.name); u != nil {
				out[o.name] = u.GetUID()
			}
		}
		return out
	}
	gone := func(name string) bool {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if !k.exists(ctx, t, "batch/v1", "Job", "hooks", name) {
				return true
			}
			time.Sleep(100 * time.Millisecond)
		}
		return false
	}

	// hook-succeeded deletes install-job in the background: it may be
	// there a little longer.
	withoutInstallJob := func(lines []string) []string {
		for i := range lines {
			if !strings.Contains(lines[i], "(Job/hooks/install-job)") {
				lines[i] = strings.Replace(lines[i], " install-job✓", "", 1)
			}
		}
		return lines
	}
	got, _ := deploy("one")
	want := []string{
		"hook pre-install hooks of weight -5 ready (ConfigMap/hooks/pre-config): pre-config=one",
		"hook pre-install hooks of weight 0 ready (Job/hooks/pre-job): pre-config=one pre-job✓",
		"hook pre-install hooks of weight 1 ready (Job/hooks/install-job): pre-config=one pre-job✓ install-job✓",
		"hook post-install hooks of weight 5 ready (Job/hooks/post-job): pre-config=one app=one pre-job✓ post-job✓",
		"done : pre-config=one app=one pre-job✓ post-job✓",
	}
	if diff := cmp.Diff(want, withoutInstallJob(got)); diff != "" {
		t.Errorf("install: what existed at each step (-want +got):\n%s", diff)
	}
	if !gone("install-job") {
		t.Error("install-job (hook-succeeded) was not deleted")
	}
	if k.exists(ctx, t, "batch/v1", "Job", "hooks", "test-job") {
		t.Error("the test hook was applied")
	}
	first := uids()

	got, sum := deploy("one")
	if diff := cmp.Diff([]string{"done : pre-config=one app=one pre-job✓ post-job✓"}, got); diff != "" {
		t.Errorf("a deploy that changes nothing ran hooks (-want +got):\n%s", diff)
	}
	if sum.Created+sum.Configured != 0 || sum.Unchanged != 5 {
		t.Errorf("a deploy that changes nothing: %+v, want 5 objects unchanged", sum)
	}
	if diff := cmp.Diff(first, uids()); diff != "" {
		t.Errorf("a deploy that changes nothing replaced hooks (-want +got):\n%s", diff)
	}

	// The old Jobs are there, complete, until their weight comes.
	got, _ = deploy("two")
	want = []string{
		"hook pre-upgrade hooks of weight -5 ready (ConfigMap/hooks/pre-config): pre-config=two app=one pre-job✓ post-job✓",
		"hook pre-upgrade hooks of weight 0 ready (Job/hooks/pre-job): pre-config=two app=one pre-job✓ post-job✓",
		"hook post-upgrade hooks of weight 5 ready (Job/hooks/post-job): pre-config=two app=two pre-job✓ post-job✓",
		"done : pre-config=two app=two pre-job✓ post-job✓",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("upgrade: what existed at each step (-want +got):\n%s", diff)
	}
	for name, uid := range uids() {
		if uid == first[name] {
			t.Errorf("upgrade: hook %s was not created anew", name)
		}
	}
	if k.exists(ctx, t, "batch/v1", "Job", "hooks", "install-job") {
		t.Error("upgrade: the pre-install hook ran")
	}
}

// A pre hook that does not get ready stops its bundle before the bundle's
// objects are applied; the error names the hooks, and hook-failed deletes
// the hook.
func TestDeployHookNotReady(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "hook-fails")
	ctx := testContext(t)
	stuck := strings.Replace(hookJob("stuck-job", "pre-install,pre-upgrade", 2, "hook-failed"),
		"      restartPolicy: Never\n", "      restartPolicy: Never\n      nodeSelector: {wookie.dev/no-such-node: 'true'}\n", 1)
	ch := charttest.Chart{Name: "stuck", Version: "0.1.0", Files: map[string]string{
		"values.yaml":        "v: one\n",
		"templates/pre.yaml": stuck,
		"templates/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
	}}
	b := plan.Bundle{Name: "stuck", Namespace: "hooks", Chart: &plan.Chart{Repo: "./charts", Name: "stuck"}, Timeout: "3s"}
	_, events, err := deployCharts(ctx, t, k.newPlan(t, batch("apps", 0, b)), archives{"stuck": charttest.Package(t, ch)}, Options{})
	if err == nil {
		t.Fatalf("deploy succeeded; events:\n%s", eventLines(events))
	}
	want := "cluster " + clusterName + ": batch apps: bundle stuck: pre-install hooks of weight 2: not ready after 3"
	if lines := strings.Split(err.Error(), "\n"); !strings.HasPrefix(lines[0], want) || !strings.Contains(lines[0], "Job/hooks/stuck-job") {
		t.Errorf("error:\n%v\nwant it to start with %q and name the Job", err, want)
	}
	if k.exists(ctx, t, "v1", "ConfigMap", "hooks", "app") {
		t.Error("the bundle's objects were applied after its pre hook failed")
	}
	if k.exists(ctx, t, "batch/v1", "Job", "hooks", "stuck-job") {
		t.Error("the hook was not deleted (hook-failed)")
	}
}
