package deploy

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
	"wookie.dev/wookie/internal/plan"
)

// writes counts the API server's apply and patch requests (dry runs
// included) so far, from its /metrics.
func (k *testCluster) writes(ctx context.Context, t *testing.T) int {
	t.Helper()
	cs, err := kubernetes.NewForConfig(k.env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") || !(strings.Contains(line, `verb="APPLY"`) || strings.Contains(line, `verb="PATCH"`)) {
			continue
		}
		// Only wookie's requests on the test's objects: leases (the
		// deploy lock), events and status updates of controllers aside.
		if !strings.Contains(line, `resource="configmaps"`) && !strings.Contains(line, `resource="services"`) && !strings.Contains(line, `resource="deployments"`) && !strings.Contains(line, `resource="widgets"`) {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		n += int(v)
	}
	return n
}

// A deploy that changes nothing sends no apply, dry run or conflict probe
// for objects already as it would make them; one changed by another writer
// (drift), or from which the Plan removed a field, is applied again.
func TestDeployUpToDateSendsNothing(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "uptodate")
	ctx := testContext(t)
	const group = "fresh.example.com"
	apps := func(extra string) plan.Bundle {
		return bundle("app", "fresh",
			configMap(t, "one"),
			obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: two}, data: {a: "1", b: "2"%s}}`, extra),
			obj(t, `{apiVersion: v1, kind: Service, metadata: {name: app}, spec: {selector: {app: app}, ports: [{port: 80, targetPort: 8080}]}}`),
			deployment(t, "app", 1, false),
			widget(t, group, "w1", ""),
		)
	}
	plans := func(extra string) *plan.Plan {
		return k.newPlan(t,
			batch("crds", 0, bundle("widget-crd", "default", widgetCRD(t, group, true))),
			batch("namespaces", 5, bundle("ns", "default", obj(t, `{apiVersion: v1, kind: Namespace, metadata: {name: fresh}}`))),
			batch("apps", 10, apps(extra)),
		)
	}
	p := plans(`, c: "3"`)
	mustDeploy(ctx, t, p, Options{})

	before := k.writes(ctx, t)
	second, _ := mustDeploy(ctx, t, p, Options{})
	if diff := cmp.Diff(&Summary{Bundles: 3, Objects: 7, Unchanged: 7}, second); diff != "" {
		t.Errorf("second deploy (-want +got):\n%s", diff)
	}
	if n := k.writes(ctx, t) - before; n != 0 {
		t.Errorf("second deploy sent %d apply or patch requests for objects that had not changed", n)
	}

	// Another writer changes a value wookie set (and so owns it): the next
	// deploy sees it and refuses, as for any conflict; forced, it puts the
	// value back, and only that object is applied.
	cm := k.get(ctx, t, "v1", "ConfigMap", "fresh", "one")
	if err := unstructured.SetNestedField(cm.Object, "drifted", "data", "key"); err != nil {
		t.Fatal(err)
	}
	if err := k.c.Update(ctx, cm, client.FieldOwner("kubectl-edit")); err != nil {
		t.Fatal(err)
	}
	_, _, err := deployPlan(ctx, t, p, Options{})
	if err == nil || !strings.Contains(err.Error(), `"kubectl-edit"`) {
		t.Errorf("deploy after drift: %v, want the conflict with kubectl-edit", err)
	}
	third, _ := mustDeploy(ctx, t, p, Options{ForceConflicts: true})
	if third.Configured != 1 || third.Unchanged != 6 {
		t.Errorf("forced deploy after drift: %+v, want 1 configured, 6 unchanged", third)
	}
	if v, _, _ := unstructured.NestedString(k.get(ctx, t, "v1", "ConfigMap", "fresh", "one").Object, "data", "key"); v != "one" {
		t.Errorf("after the deploy data.key = %q, want one", v)
	}

	// The Plan drops a field wookie owns: every value still matches, but
	// the apply must remove it.
	fourth, _ := mustDeploy(ctx, t, plans(""), Options{})
	if fourth.Configured != 1 {
		t.Errorf("deploy without data.c: %+v, want 1 configured", fourth)
	}
	if _, found, _ := unstructured.NestedString(k.get(ctx, t, "v1", "ConfigMap", "fresh", "two").Object, "data", "c"); found {
		t.Error("data.c is still there after the Plan dropped it")
	}
}

// upToDate compares as server-side apply would decide: values set by the
// object, fields wookie owns.
func TestUpToDate(t *testing.T) {
	managed := func(fields string) string {
		return `managedFields: [{manager: wookie, operation: Apply, apiVersion: v1, fieldsType: FieldsV1, fieldsV1: ` + fields + `}]`
	}
	ownsAB := managed(`{"f:data": {"f:a": {}, "f:b": {}}}`)
	for _, tc := range []struct {
		name          string
		desired, live string
		want          bool
	}{
		{"same", `{apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {a: "1", b: "2"}}`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: x, uid: u, ` + ownsAB + `}, data: {a: "1", b: "2"}}`, true},
		{"value differs", `{apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {a: "1", b: "3"}}`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: x, ` + ownsAB + `}, data: {a: "1", b: "2"}}`, false},
		{"owned field dropped", `{apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {a: "1"}}`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: x, ` + ownsAB + `}, data: {a: "1", b: "2"}}`, false},
		{"field of another manager stays", `{apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {a: "1", b: "2"}}`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: x, ` + ownsAB + `}, data: {a: "1", b: "2", c: "3"}}`, true},
		{"not owned by wookie", `{apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {a: "1"}}`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: x}, data: {a: "1"}}`, false},
		{"other apiVersion owned", `{apiVersion: v2, kind: ConfigMap, metadata: {name: x}, data: {a: "1", b: "2"}}`,
			`{apiVersion: v2, kind: ConfigMap, metadata: {name: x, ` + ownsAB + `}, data: {a: "1", b: "2"}}`, false},
		{"numbers by value, null timestamp", `{apiVersion: v1, kind: Service, metadata: {name: s, creationTimestamp: null}, spec: {ports: [{port: 80, targetPort: 8080}]}}`,
			`{apiVersion: v1, kind: Service, metadata: {name: s, creationTimestamp: "2026-01-01T00:00:00Z", ` + managed(`{"f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:targetPort": {}}}}}`) + `}, spec: {ports: [{port: 80.0, protocol: TCP, targetPort: 8080}]}}`, true},
		{"list length differs", `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {ports: [{port: 80}]}}`,
			`{apiVersion: v1, kind: Service, metadata: {name: s, ` + managed(`{"f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {}}}}`) + `}, spec: {ports: [{port: 80}, {port: 81}]}}`, false},
		{"owned list element dropped", `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {ports: [{port: 80}]}}`,
			`{apiVersion: v1, kind: Service, metadata: {name: s, ` + managed(`{"f:spec": {"f:ports": {"k:{\"port\":81,\"protocol\":\"TCP\"}": {}}}}`) + `}, spec: {ports: [{port: 80}]}}`, false},
		{"set list", `{apiVersion: v1, kind: X, metadata: {name: s}, spec: {finalizers: [a]}}`,
			`{apiVersion: v1, kind: X, metadata: {name: s, ` + managed(`{"f:spec": {"f:finalizers": {"v:\"a\"": {}}}}`) + `}, spec: {finalizers: [a]}}`, true},
		{"empty map left out by the server", `{apiVersion: v1, kind: X, metadata: {name: s}, spec: {nodeSelector: {}, a: "1"}}`,
			`{apiVersion: v1, kind: X, metadata: {name: s, ` + managed(`{"f:spec": {"f:a": {}, "f:nodeSelector": {}}}`) + `}, spec: {a: "1"}}`, true},
		{"missing", `{apiVersion: v1, kind: ConfigMap, metadata: {name: x}}`, ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d, l map[string]any
			if err := yaml.Unmarshal([]byte(tc.desired), &d); err != nil {
				t.Fatal(err)
			}
			var live *unstructured.Unstructured
			if tc.live != "" {
				if err := yaml.Unmarshal([]byte(tc.live), &l); err != nil {
					t.Fatal(err)
				}
				live = &unstructured.Unstructured{Object: l}
			}
			if got := upToDate(&unstructured.Unstructured{Object: d}, live); got != tc.want {
				t.Errorf("upToDate = %v, want %v", got, tc.want)
			}
		})
	}
}
