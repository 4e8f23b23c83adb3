package deploy

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/internal/render/rendertest"
)

// meta reads a bundle's wait, timeout and prune from the Plan; a generated
// CRD bundle takes prune from the bundle whose chart it came from, and
// Options.Timeout replaces every bundle's timeout.
func TestBundleMeta(t *testing.T) {
	t.Parallel()
	op := plan.Bundle{Name: "op", Namespace: "ns", Timeout: "2s", Prune: true, Wait: new(false),
		Readiness: []plan.Readiness{{APIVersion: "example.com/v1", Current: "true"}}}
	pc := &plan.Cluster{Name: "c", Batches: []plan.Batch{{Name: "b", Bundles: []plan.Bundle{op, {Name: "plain", Namespace: "ns"}}}}}
	tests := []struct {
		name    string
		bundle  render.Bundle
		timeout time.Duration // Options.Timeout
		want    bundleMeta
	}{
		{name: "defaults", bundle: render.Bundle{Name: "plain"},
			want: bundleMeta{wait: true, timeout: DefaultTimeout}},
		{name: "from the Plan", bundle: render.Bundle{Name: "op"},
			want: bundleMeta{timeout: 2 * time.Second, readiness: op.Readiness, prune: true}},
		{name: "Options.Timeout", bundle: render.Bundle{Name: "op"}, timeout: 7 * time.Second,
			want: bundleMeta{timeout: 7 * time.Second, readiness: op.Readiness, prune: true}},
		{name: "generated CRD bundle", bundle: render.Bundle{Name: "op-crds", Generated: true},
			want: bundleMeta{wait: true, timeout: DefaultTimeout, prune: true}},
		{name: "generated CRD bundle with Options.Timeout", bundle: render.Bundle{Name: "op-crds", Generated: true}, timeout: 7 * time.Second,
			want: bundleMeta{wait: true, timeout: 7 * time.Second, prune: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &clusterDeploy{plan: pc, opts: Options{Timeout: tt.timeout}}
			got, err := d.meta(&tt.bundle)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(bundleMeta{})); diff != "" {
				t.Errorf("meta (-want +got):\n%s", diff)
			}
		})
	}
}

// A chart's crds/ go to a generated bundle in the crds batch, which is
// applied and ready before the chart's bundle; it is pruned by the chart
// bundle's prune setting.
func TestDeployChartWithCRDs(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "chart")
	ctx := testContext(t)
	op := rendertest.Operator()
	charts := archives{op.Name: charttest.Package(t, op)}
	pxc := plan.Bundle{Name: "pxc", Namespace: "pxc", Chart: &plan.Chart{Repo: "./charts", Name: op.Name}, Prune: true}
	p := k.newPlan(t,
		batch("crds", 0),
		batch("operators", 10, pxc),
		batch("services", 20, bundle("db", "pxc",
			obj(t, `{apiVersion: pxc.percona.com/v1, kind: PerconaXtraDBCluster, metadata: {name: db}, spec: {size: 1}}`))),
	)
	_, events, err := deployCharts(ctx, t, p, charts, Options{Timeout: 20 * time.Second})
	if err != nil {
		t.Fatalf("deploy: %v\n%s", err, eventLines(events))
	}
	var done []string
	for _, e := range events {
		if e.Type == "done" {
			done = append(done, e.Batch+"/"+e.Bundle)
		}
	}
	if diff := cmp.Diff([]string{"crds/pxc-crds", "operators/pxc", "services/db"}, done); diff != "" {
		t.Errorf("bundles done, in order (-want +got):\n%s", diff)
	}
	if !k.exists(ctx, t, "pxc.percona.com/v1", "PerconaXtraDBCluster", "pxc", "db") {
		t.Error("PerconaXtraDBCluster pxc/db does not exist")
	}
	inv, err := loadInventory(ctx, k.c, clusterName)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(inv.Entries, func(e InventoryEntry) bool { return e.Bundle == "pxc-crds" })
	if i < 0 || !inv.Entries[i].Prune || inv.Entries[i].ID != "_perconaxtradbclusters.pxc.percona.com_apiextensions.k8s.io_CustomResourceDefinition" {
		t.Errorf("inventory has no prunable entry for the CRD of bundle pxc-crds: %+v", inv.Entries)
	}
}

// A cluster-scoped object that carries a metadata.namespace (charts do
// this with ClusterRoles) is recorded in the inventory and pruned like any
// other.
func TestDeployClusterScopedObjectWithNamespace(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "scope")
	ctx := testContext(t)
	stray := obj(t, `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: stray, namespace: elsewhere}, rules: []}`)
	with := k.newPlan(t, batch("apps", 0, bundle("rbac", "rbac", configMap(t, "cm"), stray)))
	without := k.newPlan(t, batch("apps", 0, bundle("rbac", "rbac", configMap(t, "cm"))))

	mustDeploy(ctx, t, with, Options{})
	if !k.exists(ctx, t, "rbac.authorization.k8s.io/v1", "ClusterRole", "", "stray") {
		t.Fatal("ClusterRole stray was not applied")
	}
	if k.exists(ctx, t, "v1", "Namespace", "", "elsewhere") {
		t.Error("deploy created namespace elsewhere for a cluster-scoped object")
	}
	want := []string{"_stray_rbac.authorization.k8s.io_ClusterRole", "rbac_cm__ConfigMap"}
	if diff := cmp.Diff(want, k.inventoryIDs(ctx, t)); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
	sum, _ := mustDeploy(ctx, t, without, Options{Prune: true})
	if k.exists(ctx, t, "rbac.authorization.k8s.io/v1", "ClusterRole", "", "stray") {
		t.Errorf("ClusterRole stray survived a prune after leaving the Plan (summary %+v)", sum)
	}
}

// Cancelling the context stops a deploy at once, also while it waits for
// the Namespaces and CRDs of a bundle (ssa's first stage).
func TestDeployCancel(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "cancel")
	ctx := testContext(t)
	// A Namespace that stays Terminating: it holds a ConfigMap with a
	// finalizer nobody removes.
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "doomed"}}}
	if err := k.c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	held := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "held", "namespace": "doomed", "finalizers": []any{"wookie.dev/test-hold"}}}}
	if err := k.c.Create(ctx, held); err != nil {
		t.Fatal(err)
	}
	if err := k.c.Delete(ctx, ns); err != nil {
		t.Fatal(err)
	}
	u := bundle("ns", "default", obj(t, `{apiVersion: v1, kind: Namespace, metadata: {name: doomed}}`))
	u.Timeout = "8s"
	p := k.newPlan(t, batch("namespaces", 0, u))

	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rendered := renderPlan(ctx, t, p, nil)
	res := make(chan error, 1)
	go func() {
		_, _, err := deployRendered(dctx, t, p, rendered, Options{})
		res <- err
	}()
	time.Sleep(time.Second)
	cancel()
	cancelled := time.Now()
	var err error
	select {
	case err = <-res:
	case <-time.After(3 * time.Second):
		t.Errorf("deploy still running 3s after its context was cancelled")
		err = <-res
	}
	t.Logf("deploy returned %.1fs after the cancel: %v", time.Since(cancelled).Seconds(), err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("deploy error = %v, want context.Canceled", err)
	}
}

// notReady says which objects are not ready and why: a missing object is
// Missing, but an object the server could not be asked about is not.
func TestNotReadyStates(t *testing.T) {
	t.Parallel()
	const rule = "has(data.ready)"
	cm := func(name string, data map[string]any) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
			"metadata": map[string]any{"name": name, "namespace": "ns"}}}
		if data != nil {
			u.Object["data"] = data
		}
		return u
	}
	unreachable := errors.New(`Get "https://127.0.0.1:1/api/v1/namespaces/ns/configmaps/cut": dial tcp 127.0.0.1:1: connect: connection refused`)
	tests := []struct {
		name  string
		live  []client.Object
		obj   *unstructured.Unstructured
		rules []plan.Readiness
		want  []ObjectState
	}{
		{name: "ready by kstatus", live: []client.Object{cm("a", nil)}, obj: cm("a", nil)},
		{name: "ready by rule", live: []client.Object{cm("a", map[string]any{"ready": "1"})}, obj: cm("a", nil),
			rules: []plan.Readiness{{APIVersion: "v1", Kind: "ConfigMap", Current: rule}}},
		{name: "rule not met", live: []client.Object{cm("a", map[string]any{"other": "1"})}, obj: cm("a", nil),
			rules: []plan.Readiness{{APIVersion: "v1", Kind: "ConfigMap", Current: rule}},
			want:  []ObjectState{{Object: "ConfigMap/ns/a", Status: "InProgress", Message: "readiness rule not met: " + rule}}},
		{name: "missing", obj: cm("gone", nil),
			want: []ObjectState{{Object: "ConfigMap/ns/gone", Status: "Missing"}}},
		{name: "server unreachable", obj: cm("cut", nil),
			want: []ObjectState{{Object: "ConfigMap/ns/cut", Status: "Unreadable", Message: unreachable.Error()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fake.NewClientBuilder().WithObjects(tt.live...)
			if tt.name == "server unreachable" {
				b = b.WithInterceptorFuncs(interceptor.Funcs{Get: func(context.Context, client.WithWatch, client.ObjectKey, client.Object, ...client.GetOption) error {
					return unreachable
				}})
			}
			d := &clusterDeploy{conn: &conn{client: b.Build()}}
			got := d.notReady(t.Context(), []*unstructured.Unstructured{tt.obj}, tt.rules)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("notReady (-want +got):\n%s", diff)
			}
		})
	}
}
