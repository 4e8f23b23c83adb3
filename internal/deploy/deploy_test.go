package deploy

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// A custom resource in a later batch than its CRD is applied once the CRD
// is Established.
func TestDeployCRDBeforeCustomResource(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "crd-order")
	ctx := testContext(t)
	const group = "order.example.com"
	p := k.newPlan(t,
		batch("crds", 0, bundle("widget-crd", "default", widgetCRD(t, group, false))),
		batch("services", 10, bundle("widgets", "widgets", widget(t, group, "w1", ""))),
	)
	established, lookErr := "not looked at", error(nil)
	sum, _ := mustDeploy(ctx, t, p, Options{OnEvent: func(e Event) {
		if e.Type == "start" && e.Bundle == "widgets" {
			var crd *unstructured.Unstructured
			if crd, lookErr = k.lookup(ctx, "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets."+group); crd != nil {
				established = condition(crd, "Established")
			}
		}
	}})
	if lookErr != nil || established != "True" {
		t.Errorf("when bundle widgets started, the CRD's Established condition was %q (%v), want True", established, lookErr)
	}
	if !k.exists(ctx, t, group+"/v1", "Widget", "widgets", "w1") {
		t.Error("Widget widgets/w1 does not exist after the deploy")
	}
	if diff := cmp.Diff(&Summary{Bundles: 2, Objects: 2, Created: 2}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}

// A custom resource and its CRD in two bundles of one batch: without
// dependsOn the deploy refuses before applying anything (whether the kind
// would be served in time is luck); with dependsOn it succeeds.
func TestDeployCRDAndCustomResourceInOneBatch(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "crd-batch")
	ctx := testContext(t)
	tests := []struct {
		name    string
		group   string
		deps    []string
		wantErr []string // substrings of the error; nil for success
	}{{
		name:    "without dependsOn",
		group:   "nodeps.example.com",
		wantErr: []string{"cluster " + clusterName + ": batch apps: bundle widgets applies Widget w1, whose CRD bundle widget-crd applies in the same batch: add dependsOn: [\"widget-crd\"] to widgets"},
	}, {
		name:  "with dependsOn",
		group: "deps.example.com",
		deps:  []string{"widget-crd"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := k.newPlan(t, batch("apps", 0,
				bundle("widget-crd", "default", widgetCRD(t, tt.group, false)),
				dependsOn(bundle("widgets", "widgets", widget(t, tt.group, "w1", "")), tt.deps...),
			))
			_, events, err := deployPlan(ctx, t, p, Options{})
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("deploy: %v", err)
				}
				if !k.exists(ctx, t, tt.group+"/v1", "Widget", "widgets", "w1") {
					t.Error("Widget widgets/w1 does not exist after the deploy")
				}
				if i, j := eventIndex(events, "done", "widget-crd"), eventIndex(events, "start", "widgets"); i < 0 || j < i {
					t.Errorf("widgets started before widget-crd was done: %v", eventKinds(events))
				}
				return
			}
			if err == nil {
				t.Fatalf("deploy succeeded, want an error; events %v", eventKinds(events))
			}
			if missing := containsAll(err.Error(), tt.wantErr...); len(missing) > 0 {
				t.Errorf("error lacks %q:\n%v", missing, err)
			}
			// The cluster's failed event is all there is.
			if len(events) != 1 || events[0].Type != "failed" || events[0].Bundle != "" {
				t.Errorf("something was applied before the refusal: %v", eventKinds(events))
			}
		})
	}
}

// A bundle starts only when the bundles it depends on, in its batch or an
// earlier one, are done, and a batch starts when the batch before is done;
// bundles without dependencies start together.
func TestDeployDependsOnOrder(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "depends")
	ctx := testContext(t)
	p := k.newPlan(t,
		batch("one", 0,
			bundle("a", "order", deployment(t, "a", 1, false)),
			dependsOn(bundle("b", "order", configMap(t, "b")), "a"),
			bundle("x", "order", configMap(t, "x")),
		),
		batch("two", 10,
			dependsOn(bundle("c", "order", configMap(t, "c")), "a"),
			dependsOn(bundle("d", "order", deployment(t, "d", 1, false)), "c"),
		),
	)
	_, events := mustDeploy(ctx, t, p, Options{})
	after := []struct{ dependent, dependency string }{
		{"b", "a"}, // dependsOn in the batch
		{"c", "a"}, // dependsOn across batches
		{"d", "c"},
		{"c", "b"}, // batch two after all of batch one
		{"c", "x"},
		{"d", "x"},
	}
	for _, o := range after {
		start, done := eventIndex(events, "start", o.dependent), eventIndex(events, "done", o.dependency)
		if start < 0 || done < 0 || start < done {
			t.Errorf("%s started at event %d, %s done at event %d; want the start after the done:\n%s",
				o.dependent, start, o.dependency, done, eventLines(events))
		}
	}
	if xs, ad := eventIndex(events, "start", "x"), eventIndex(events, "done", "a"); xs > ad {
		t.Errorf("x, which depends on nothing, started after a was done:\n%s", eventLines(events))
	}
	var done []string
	for _, e := range events {
		if e.Type == "done" {
			done = append(done, e.Bundle)
		}
	}
	slices.Sort(done)
	if diff := cmp.Diff([]string{"a", "b", "c", "d", "x"}, done); diff != "" {
		t.Errorf("bundles done (-want +got):\n%s", diff)
	}
}

// A Deployment holds back the bundles that depend on it until it is
// Available.
func TestDeployWaitsForDeploymentAvailable(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "available")
	ctx := testContext(t)
	p := k.newPlan(t, batch("apps", 0,
		bundle("api", "gate", deployment(t, "api", 2, false)),
		dependsOn(bundle("web", "gate", configMap(t, "web")), "api"),
	))
	var (
		available string
		ready     int64 = -1
		lookErr   error
	)
	_, events := mustDeploy(ctx, t, p, Options{OnEvent: func(e Event) {
		if e.Type == "start" && e.Bundle == "web" {
			var d *unstructured.Unstructured
			if d, lookErr = k.lookup(ctx, "apps/v1", "Deployment", "gate", "api"); d != nil {
				available = condition(d, "Available")
				ready, _, _ = unstructured.NestedInt64(d.Object, "status", "availableReplicas")
			}
		}
	}})
	if lookErr != nil || available != "True" || ready != 2 {
		t.Errorf("when web started, Deployment gate/api had Available=%q and %d available replicas (%v); want True and 2", available, ready, lookErr)
	}
	if start, done := eventIndex(events, "start", "web"), eventIndex(events, "done", "api"); done < 0 || start < done {
		t.Errorf("web started before api was done:\n%s", eventLines(events))
	}
}

// A bundle's CEL readiness rule decides when its custom resources are
// ready: the deploy waits until the status says so, or times out naming
// the object.
func TestDeployCustomReadiness(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "readiness")
	ctx := testContext(t)
	const (
		rule = "has(status.state) && status.state == 'ready'"
		// bare reads status.state without has(): CEL fails on an object
		// without it, which is reported as the field not set yet.
		bare = "status.state == 'ready'"
	)
	tests := []struct {
		name        string
		subresource bool   // the CRD has a status subresource
		status      string // the Widget's status in the manifest
		rule        string // the readiness rule; rule when empty
		setReady    bool   // the test sets status.state after about a second
		wantErr     []string
	}{
		{name: "status subresource set later", subresource: true, setReady: true},
		{name: "plain status field set later", status: "status: {state: pending}", setReady: true},
		{name: "status subresource never set", subresource: true,
			wantErr: []string{"batch apps: bundle widgets: not ready after", "Widget/widgets-", "/w1 InProgress", "readiness rule not met yet (" + rule + "): status.state is not set"}},
		{name: "plain status field never ready", status: "status: {state: pending}",
			wantErr: []string{"batch apps: bundle widgets: not ready after", "Widget/widgets-", "/w1 InProgress", "readiness rule not met: " + rule}},
		{name: "status never set, rule without has", subresource: true, rule: bare,
			wantErr: []string{"/w1 InProgress", "readiness rule not met yet (" + bare + "): status.state is not set"}},
		{name: "status empty, rule without has", status: "status: {}", rule: bare,
			wantErr: []string{"/w1 InProgress", "readiness rule not met yet (" + bare + "): status.state is not set"}},
		{name: "status empty, rule without has, set later", status: "status: {}", rule: bare, setReady: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			group := string(rune('a'+i)) + ".readiness.example.com"
			ns := "widgets-" + string(rune('a'+i))
			u := bundle("widgets", ns, widget(t, group, "w1", tt.status))
			r := tt.rule
			if r == "" {
				r = rule
			}
			u.Readiness = []plan.Readiness{{APIVersion: group + "/v1", Kind: "Widget", Current: r}}
			u.Timeout = "2s"
			if tt.setReady {
				u.Timeout = "20s"
			}
			p := k.newPlan(t,
				batch("crds", 0, bundle("widget-crd", "default", widgetCRD(t, group, tt.subresource))),
				batch("apps", 10, u),
			)
			began := time.Now()
			patched := make(chan error, 1)
			if tt.setReady {
				go func() {
					patched <- setWidgetReady(ctx, k, group, ns, tt.subresource, began.Add(time.Second))
				}()
			}
			_, events, err := deployPlan(ctx, t, p, Options{})
			took := time.Since(began)
			if tt.setReady {
				if perr := <-patched; perr != nil {
					t.Fatalf("set status: %v", perr)
				}
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("deploy: %v", err)
				}
				if took < time.Second {
					t.Errorf("deploy took %s; the Widget was made ready only after 1s", took)
				}
				return
			}
			if err == nil {
				t.Fatalf("deploy succeeded, want a timeout; events %v", eventKinds(events))
			}
			if missing := containsAll(err.Error(), tt.wantErr...); len(missing) > 0 {
				t.Errorf("error lacks %q:\n%v", missing, err)
			}
		})
	}
}

// setWidgetReady waits until the Widget w1 exists and at is reached, then
// sets its status.state to ready.
func setWidgetReady(ctx context.Context, k *testCluster, group, ns string, subresource bool, at time.Time) error {
	w := &unstructured.Unstructured{}
	w.SetAPIVersion(group + "/v1")
	w.SetKind("Widget")
	w.SetNamespace(ns)
	w.SetName("w1")
	for {
		err := k.c.Get(ctx, client.ObjectKeyFromObject(w), w)
		if err == nil && !time.Now().Before(at) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	patch := client.RawPatch(types.MergePatchType, []byte(`{"status":{"state":"ready"}}`))
	if subresource {
		return k.c.Status().Patch(ctx, w, patch)
	}
	return k.c.Patch(ctx, w, patch)
}

// A bundle that is not ready within its timeout fails the deploy with a
// message naming the batch, bundle, object, its status and conditions; the
// bundles after it do not start.
func TestDeployTimeoutMessage(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "timeout")
	ctx := testContext(t)
	stuck := bundle("stuck", "stuck", deployment(t, "stuck", 1, true))
	stuck.Timeout = "2s"
	p := k.newPlan(t,
		batch("apps", 0, stuck, dependsOn(bundle("after", "stuck", configMap(t, "after")), "stuck")),
		batch("later", 10, bundle("last", "stuck", configMap(t, "last"))),
	)
	_, events, err := deployPlan(ctx, t, p, Options{})
	if err == nil {
		t.Fatalf("deploy succeeded, want a timeout; events %v", eventKinds(events))
	}
	want := []string{"cluster " + clusterName + ": batch apps: bundle stuck: not ready after 2", "Deployment/stuck/stuck InProgress", "Available=False"}
	if missing := containsAll(err.Error(), want...); len(missing) > 0 {
		t.Errorf("error lacks %q:\n%v", missing, err)
	}
	if i := eventIndex(events, "failed", "stuck"); i < 0 || len(events[i].NotReady) != 1 || events[i].NotReady[0].Object != "Deployment/stuck/stuck" {
		t.Errorf("want a failed event for stuck naming Deployment/stuck/stuck as not ready:\n%s", eventLines(events))
	}
	for _, b := range []string{"after", "last"} {
		if i := eventIndex(events, "start", b); i >= 0 {
			t.Errorf("bundle %s started after stuck failed:\n%s", b, eventLines(events))
		}
		if k.exists(ctx, t, "v1", "ConfigMap", "stuck", b) {
			t.Errorf("ConfigMap stuck/%s exists; its bundle should not have been applied", b)
		}
	}
	if i := eventIndex(events, "skipped", "after"); i < 0 {
		t.Errorf("no skipped event for after, which depends on stuck:\n%s", eventLines(events))
	}
	// What was applied is in the inventory, for a later prune.
	if diff := cmp.Diff([]string{"stuck_stuck_apps_Deployment"}, k.inventoryIDs(ctx, t)); diff != "" {
		t.Errorf("inventory after the failed deploy (-want +got):\n%s", diff)
	}
}

// A second deploy of the same Plan changes nothing.
func TestDeploySecondDeployUnchanged(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "unchanged")
	ctx := testContext(t)
	const group = "steady.example.com"
	p := k.newPlan(t,
		batch("crds", 0, bundle("widget-crd", "default", widgetCRD(t, group, true))),
		batch("namespaces", 5, bundle("ns", "default", obj(t, `{apiVersion: v1, kind: Namespace, metadata: {name: steady}}`))),
		batch("apps", 10,
			bundle("app", "steady",
				configMap(t, "settings"),
				obj(t, `{apiVersion: v1, kind: Secret, metadata: {name: token}, stringData: {token: s3cr3t}}`),
				obj(t, `{apiVersion: v1, kind: ServiceAccount, metadata: {name: app}}`),
				obj(t, `{apiVersion: v1, kind: Service, metadata: {name: app}, spec: {selector: {app: app}, ports: [{port: 80, targetPort: 8080}]}}`),
				obj(t, `{apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: steady-app}, rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]}`),
				deployment(t, "app", 1, false),
				widget(t, group, "w1", ""),
			),
		),
	)
	began := time.Now()
	first, _ := mustDeploy(ctx, t, p, Options{})
	firstTook := time.Since(began)
	if diff := cmp.Diff(&Summary{Bundles: 3, Objects: 9, Created: 9}, first); diff != "" {
		t.Errorf("first deploy (-want +got):\n%s", diff)
	}
	began = time.Now()
	second, events := mustDeploy(ctx, t, p, Options{})
	t.Logf("first deploy %s, second %s", firstTook.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if diff := cmp.Diff(&Summary{Bundles: 3, Objects: 9, Unchanged: 9}, second); diff != "" {
		t.Errorf("second deploy (-want +got):\n%s", diff)
	}
	for _, e := range events {
		if e.Type == "namespace" {
			t.Errorf("second deploy created namespace %s again", e.Object)
		}
	}
}

// A field another manager owns is a conflict that fails the deploy naming
// the object and the manager, unless ForceConflicts takes it over.
func TestDeployConflicts(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "conflicts")
	ctx := testContext(t)
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "conflict"}}}
	if err := k.c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	theirs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "shared", "namespace": "conflict"},
		"data":     map[string]any{"key": "theirs"},
	}}
	if err := k.c.Patch(ctx, theirs, client.Apply, client.FieldOwner("kubectl")); err != nil {
		t.Fatalf("apply as kubectl: %v", err)
	}
	p := k.newPlan(t, batch("apps", 0, bundle("cfg", "conflict",
		obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: shared}, data: {key: ours, more: ours}}`))))
	value := func() string {
		v, _, _ := unstructured.NestedString(k.get(ctx, t, "v1", "ConfigMap", "conflict", "shared").Object, "data", "key")
		return v
	}

	_, events, err := deployPlan(ctx, t, p, Options{})
	if err == nil {
		t.Fatalf("deploy succeeded over kubectl's field; events %v", eventKinds(events))
	}
	want := []string{"batch apps: bundle cfg: ", "ConfigMap/conflict/shared", `"kubectl"`, ".data.key"}
	if missing := containsAll(err.Error(), want...); len(missing) > 0 {
		t.Errorf("error lacks %q:\n%v", missing, err)
	}
	if v := value(); v != "theirs" {
		t.Errorf("after the failed deploy data.key = %q, want theirs", v)
	}

	mustDeploy(ctx, t, p, Options{ForceConflicts: true})
	if v := value(); v != "ours" {
		t.Errorf("after the forced deploy data.key = %q, want ours", v)
	}
	// kubectl no longer owns the field: a deploy without force succeeds.
	mustDeploy(ctx, t, p, Options{})
}

// Prune deletes what left the Plan and is in the inventory; it keeps
// Namespaces and CRDs unless their bundle says prune, and never touches
// objects the inventory does not list.
func TestDeployPrune(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "prune")
	ctx := testContext(t)
	const group = "prune.example.com"
	full := func(pruneNamespace bool) *plan.Plan {
		ns := bundle("ns", "default", obj(t, `{apiVersion: v1, kind: Namespace, metadata: {name: prune-ns}}`))
		ns.Prune = pruneNamespace
		return k.newPlan(t,
			batch("crds", 0, bundle("widget-crd", "default", widgetCRD(t, group, false))),
			batch("namespaces", 5, ns),
			batch("apps", 10,
				bundle("cfg", "prune-app", configMap(t, "settings")),
				bundle("stay", "prune-app", configMap(t, "stay")),
			),
		)
	}
	small := k.newPlan(t, batch("apps", 10, bundle("stay", "prune-app", configMap(t, "stay"))))

	mustDeploy(ctx, t, full(false), Options{})
	// An object of the same name and with wookie's labels that wookie never
	// applied: prune must leave it alone.
	if err := k.c.Create(ctx, &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "prune-other"}}}); err != nil {
		t.Fatal(err)
	}
	foreign := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "settings", "namespace": "prune-other",
			"labels": map[string]any{render.LabelCluster: clusterName, render.LabelBundle: "cfg"}},
	}}
	if err := k.c.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}

	sum, events := mustDeploy(ctx, t, small, Options{Prune: true})
	if diff := cmp.Diff(&Summary{Bundles: 1, Objects: 1, Unchanged: 1, Pruned: 1, Kept: 2}, sum); diff != "" {
		t.Errorf("prune summary (-want +got):\n%s", diff)
	}
	var got []string
	for _, e := range events {
		if e.Type == "pruned" || e.Type == "kept" {
			got = append(got, e.Type+" "+e.Object)
		}
	}
	slices.Sort(got)
	wantEvents := []string{"kept CustomResourceDefinition/widgets." + group, "kept Namespace/prune-ns", "pruned ConfigMap/prune-app/settings"}
	if diff := cmp.Diff(wantEvents, got); diff != "" {
		t.Errorf("prune events (-want +got):\n%s", diff)
	}
	checks := []struct {
		apiVersion, kind, ns, name string
		want                       bool
	}{
		{"v1", "ConfigMap", "prune-app", "settings", false},
		{"v1", "ConfigMap", "prune-app", "stay", true},
		{"v1", "ConfigMap", "prune-other", "settings", true},
		{"v1", "Namespace", "", "prune-ns", true},
		{"apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets." + group, true},
	}
	for _, c := range checks {
		if got := k.exists(ctx, t, c.apiVersion, c.kind, c.ns, c.name); got != c.want {
			t.Errorf("after prune: %s %s/%s exists = %v, want %v", c.kind, c.ns, c.name, got, c.want)
		}
	}
	wantIDs := []string{"_prune-ns__Namespace", "_widgets." + group + "_apiextensions.k8s.io_CustomResourceDefinition", "prune-app_stay__ConfigMap"}
	if diff := cmp.Diff(wantIDs, k.inventoryIDs(ctx, t)); diff != "" {
		t.Errorf("inventory after prune (-want +got):\n%s", diff)
	}

	// With prune: true on its bundle the Namespace goes too; the CRD stays.
	mustDeploy(ctx, t, full(true), Options{})
	sum, _ = mustDeploy(ctx, t, small, Options{Prune: true})
	if sum.Pruned != 2 || sum.Kept != 1 {
		t.Errorf("second prune: pruned %d, kept %d; want 2 and 1", sum.Pruned, sum.Kept)
	}
	if k.exists(ctx, t, "v1", "Namespace", "", "prune-ns") {
		t.Error("Namespace prune-ns still exists (and is not being deleted) after a prune with prune: true on its bundle")
	}
	if !k.exists(ctx, t, "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets."+group) {
		t.Error("the CRD was pruned; its bundle does not say prune: true")
	}
	if !k.exists(ctx, t, "v1", "ConfigMap", "prune-other", "settings") {
		t.Error("ConfigMap prune-other/settings, which wookie never applied, was deleted")
	}
}

// A dry run sends every object to the server, reports what the server
// rejects, and changes nothing.
func TestDeployDryRun(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "dry-run")
	ctx := testContext(t)
	tests := []struct {
		name    string
		objs    []plan.Object
		want    *Summary
		wantErr []string
	}{{
		name:    "invalid port",
		objs:    []plan.Object{obj(t, `{apiVersion: v1, kind: Service, metadata: {name: bad}, spec: {ports: [{port: 999999}]}}`)},
		wantErr: []string{"batch apps: bundle dry: ", "Service/default/bad", "999999"},
	}, {
		name:    "deployment without selector",
		objs:    []plan.Object{obj(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: bad}, spec: {template: {metadata: {labels: {app: bad}}, spec: {containers: [{name: c, image: x}]}}}}`)},
		wantErr: []string{"batch apps: bundle dry: ", "Deployment/default/bad", "selector"},
	}, {
		name: "valid",
		objs: []plan.Object{
			configMap(t, "good"),
			obj(t, `{apiVersion: v1, kind: Service, metadata: {name: good}, spec: {ports: [{port: 80}]}}`),
		},
		want: &Summary{Bundles: 1, Objects: 2, Created: 2},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := k.newPlan(t, batch("apps", 0, bundle("dry", "default", tt.objs...)))
			sum, events, err := deployPlan(ctx, t, p, Options{DryRun: true, Prune: true})
			switch {
			case tt.wantErr == nil && err != nil:
				t.Errorf("dry run: %v", err)
			case tt.wantErr == nil:
				if diff := cmp.Diff(tt.want, sum); diff != "" {
					t.Errorf("summary (-want +got):\n%s", diff)
				}
			case err == nil:
				t.Errorf("dry run succeeded, want an error")
			default:
				if missing := containsAll(err.Error(), tt.wantErr...); len(missing) > 0 {
					t.Errorf("error lacks %q:\n%v", missing, err)
				}
			}
			for _, e := range events {
				if !e.DryRun {
					t.Errorf("event %s %s does not say dryRun", e.Type, e.Bundle)
				}
			}
			for _, o := range tt.objs {
				u := unstructured.Unstructured{Object: o}
				if k.get(ctx, t, u.GetAPIVersion(), u.GetKind(), "default", u.GetName()) != nil {
					t.Errorf("%s default/%s exists after a dry run", u.GetKind(), u.GetName())
				}
			}
			if k.get(ctx, t, "v1", "Namespace", "", InventoryNamespace) != nil {
				t.Errorf("namespace %s exists after a dry run", InventoryNamespace)
			}
		})
	}
}

// A dry run of a Plan for a fresh cluster passes when a real deploy would:
// objects in namespaces that the deploy creates, and custom resources of
// CRDs that an earlier batch applies, and it changes nothing.
func TestDeployDryRunOfNewObjects(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "dry-new")
	ctx := testContext(t)
	const group = "dry.example.com"
	tests := []struct {
		name    string
		batches []plan.Batch
	}{{
		name:    "release namespace deploy creates",
		batches: []plan.Batch{batch("apps", 0, bundle("app", "dry-release", configMap(t, "settings")))},
	}, {
		name: "namespace from an earlier batch",
		batches: []plan.Batch{
			batch("namespaces", 0, bundle("ns", "default", obj(t, `{apiVersion: v1, kind: Namespace, metadata: {name: dry-ns}}`))),
			batch("apps", 10, bundle("app", "dry-ns", configMap(t, "settings"))),
		},
	}, {
		name: "custom resource of a CRD from an earlier batch",
		batches: []plan.Batch{
			batch("crds", 0, bundle("widget-crd", "default", widgetCRD(t, group, false))),
			batch("apps", 10, bundle("widgets", "default", widget(t, group, "w1", ""))),
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := k.newPlan(t, tt.batches...)
			if _, _, err := deployPlan(ctx, t, p, Options{DryRun: true}); err != nil {
				t.Errorf("dry run: %v", err)
			}
			for _, ns := range []string{"dry-release", "dry-ns"} {
				if k.get(ctx, t, "v1", "Namespace", "", ns) != nil {
					t.Errorf("namespace %s exists after a dry run", ns)
				}
			}
			if k.get(ctx, t, "apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets."+group) != nil {
				t.Error("the CRD exists after a dry run")
			}
		})
	}
}

// A deploy cut off by a kube-apiserver crash fails; once the server is
// back the same Plan deploys, and every object exists once, in the cluster
// and in the inventory.
func TestDeployAPIServerRestart(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "restart")
	ctx := testContext(t)
	gate := bundle("gate", "restart", configMap(t, "gate"))
	gate.Readiness = []plan.Readiness{{APIVersion: "v1", Kind: "ConfigMap", Current: "has(data.ready)"}}
	gate.Timeout = "4s"
	p := k.newPlan(t,
		batch("first", 0, bundle("one", "restart", configMap(t, "one"))),
		batch("middle", 10, gate),
		batch("last", 20, bundle("three", "restart", configMap(t, "three"))),
	)

	type result struct {
		events []Event
		err    error
	}
	rendered := renderPlan(ctx, t, p, nil)
	res := make(chan result, 1)
	go func() {
		_, events, err := deployRendered(ctx, t, p, rendered, Options{})
		res <- result{events, err}
	}()
	// Stop the server while the deploy waits for the gate.
	for !k.exists(ctx, t, "v1", "ConfigMap", "restart", "gate") {
		select {
		case r := <-res:
			t.Fatalf("deploy ended before the gate was applied: %v\n%s", r.err, eventLines(r.events))
		case <-time.After(50 * time.Millisecond):
		}
	}
	time.Sleep(3 * testInterval)
	k.env.StopAPIServer(t)
	stopped := time.Now()
	var r result
	select {
	case r = <-res:
	case <-time.After(30 * time.Second):
		t.Error("deploy did not end within 30s of the kube-apiserver crash")
		r = <-res
	}
	t.Logf("deploy ended %.1fs after the crash: %v", time.Since(stopped).Seconds(), r.err)
	if r.err == nil {
		t.Errorf("deploy succeeded although kube-apiserver died during it:\n%s", eventLines(r.events))
	}
	if i := eventIndex(r.events, "start", "three"); i >= 0 {
		t.Errorf("bundle three started although gate never became ready:\n%s", eventLines(r.events))
	}

	k.env.StartAPIServer(t)
	if k.exists(ctx, t, "v1", "ConfigMap", "restart", "three") {
		t.Error("ConfigMap three exists before the second deploy")
	}
	cm := k.get(ctx, t, "v1", "ConfigMap", "restart", "gate")
	if err := k.c.Patch(ctx, cm, client.RawPatch(types.MergePatchType, []byte(`{"data":{"ready":"yes"}}`))); err != nil {
		t.Fatal(err)
	}
	mustDeploy(ctx, t, p, Options{})

	var list unstructured.UnstructuredList
	list.SetAPIVersion("v1")
	list.SetKind("ConfigMapList")
	if err := k.c.List(ctx, &list, client.MatchingLabels{render.LabelCluster: clusterName}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range list.Items {
		got = append(got, u.GetNamespace()+"/"+u.GetName())
	}
	slices.Sort(got)
	if diff := cmp.Diff([]string{"restart/gate", "restart/one", "restart/three"}, got); diff != "" {
		t.Errorf("ConfigMaps labelled %s=%s (-want +got):\n%s", render.LabelCluster, clusterName, diff)
	}
	wantIDs := []string{"restart_gate__ConfigMap", "restart_one__ConfigMap", "restart_three__ConfigMap"}
	if diff := cmp.Diff(wantIDs, k.inventoryIDs(ctx, t)); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
}

// A namespace that objects go to and that no bundle creates is created
// before the objects, as helm install --create-namespace does, and
// reported once.
func TestDeployCreatesMissingNamespace(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "namespace")
	ctx := testContext(t)
	tests := []struct {
		name    string
		bundles []plan.Bundle
		ns      string
	}{{
		name:    "release namespace",
		bundles: []plan.Bundle{bundle("app", "fresh-release", configMap(t, "settings"))},
		ns:      "fresh-release",
	}, {
		name:    "metadata.namespace",
		bundles: []plan.Bundle{bundle("app", "default", obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: fresh-meta}}`))},
		ns:      "fresh-meta",
	}, {
		// The bundles of a batch run in parallel; the namespace is
		// created, and reported, once.
		name:    "eight bundles, one namespace",
		bundles: sharing(t, "fresh-shared", 8),
		ns:      "fresh-shared",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := k.newPlan(t, batch("apps", 0, tt.bundles...))
			_, events := mustDeploy(ctx, t, p, Options{Parallel: len(tt.bundles)})
			var got []Event
			for _, e := range events {
				if e.Type == "namespace" {
					e.Time, e.Bundle = time.Time{}, ""
					got = append(got, e)
				}
			}
			want := []Event{{Type: "namespace", Cluster: clusterName, Batch: "apps", Object: "Namespace/" + tt.ns}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("namespace events (-want +got):\n%s", diff)
			}
			if !k.exists(ctx, t, "v1", "ConfigMap", tt.ns, "settings") {
				t.Errorf("ConfigMap %s/settings does not exist", tt.ns)
			}
		})
	}
}

// sharing makes n bundles whose ConfigMaps (the last named settings) go to
// namespace ns.
func sharing(t *testing.T, ns string, n int) []plan.Bundle {
	var out []plan.Bundle
	for i := range n {
		name := string(rune('a' + i))
		cm := name
		if i == n-1 {
			cm = "settings"
		}
		out = append(out, bundle(name, ns, configMap(t, cm)))
	}
	return out
}
