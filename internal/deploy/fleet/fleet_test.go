package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/deploy/fleet"
	"wookie.dev/wookie/internal/emit"
	"wookie.dev/wookie/internal/fleettest"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/internal/testenv"
)

// planYAML is a Plan of two clusters: mgmt, Fleet's own (fleet-local/local),
// whose operators batch holds a Widget of the CRD its crds batch makes, so
// Fleet can only make it ready when the batch order holds; and down, a
// downstream cluster wookie registers in fleet-default. bundle fleet-crd
// stands for the fleet project's bundles, which are never handed to Fleet.
// extra is added to down's services batch, broken to mgmt's.
func planYAML(mgmt, down *testenv.Env, extra, broken bool) string {
	s := fmt.Sprintf(`apiVersion: wookie.dev/v1alpha1
kind: Plan
gitops: {fleet: {management: mgmt}}
clusters:
- name: mgmt
  target: kubeconfig
  kubeconfig: %q
  context: %q
  kubeVersion: 1.37.2
  gitops: {fleet: {clusterName: local, workspace: fleet-local}}
  batches:
  - name: crds
    priority: 100
    bundles:
    - name: fleet-crd
      namespace: cattle-fleet-system
      labels: {wookie.dev/installs: fleet}
      manifests:
      - {apiVersion: v1, kind: ConfigMap, metadata: {name: stands-for-fleet}}
    - name: widget-crd
      namespace: default
      manifests:
      - apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.com}
        spec:
          group: example.com
          names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
          scope: Namespaced
          versions:
          - name: v1
            served: true
            storage: true
            schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
  - name: namespaces
    priority: 200
    bundles:
    - name: ns-app
      namespace: app
      manifests:
      - {apiVersion: v1, kind: Namespace, metadata: {name: app}}
  - name: operators
    priority: 300
    bundles:
    - name: widget
      namespace: app
      manifests:
      - {apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {size: 1}}
  - name: services
    priority: 600
    bundles:
    - name: hello
      namespace: app
      manifests:
      - {apiVersion: v1, kind: ConfigMap, metadata: {name: hello}, data: {greeting: hi}}
`, mgmt.Kubeconfig, mgmt.Context)
	if broken {
		s += `    - name: broken
      namespace: app
      resourceScopes: {Gadget.example.com: Namespaced}
      manifests:
      - {apiVersion: example.com/v1, kind: Gadget, metadata: {name: g}}
`
	}
	s += fmt.Sprintf(`- name: down
  target: kubeconfig
  kubeconfig: %q
  context: %q
  kubeVersion: 1.37.2
  batches:
  - name: namespaces
    priority: 200
    bundles:
    - name: ns-app
      namespace: app
      manifests:
      - {apiVersion: v1, kind: Namespace, metadata: {name: app}}
  - name: services
    priority: 600
    bundles:
    - name: hello
      namespace: app
      manifests:
      - {apiVersion: v1, kind: ConfigMap, metadata: {name: hello}, data: {greeting: hi from down}}
`, down.Kubeconfig, down.Context)
	if extra {
		s += `    - name: extra
      namespace: app
      manifests:
      - {apiVersion: v1, kind: ConfigMap, metadata: {name: extra}}
`
	}
	return s
}

// bundlesOf renders the Plan and builds its Fleet Bundles.
func bundlesOf(t *testing.T, doc string) (*plan.Plan, []fleet.Bundle) {
	t.Helper()
	p, err := plan.Decode([]byte(doc), "plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res, err := render.Render(context.Background(), p, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	bundles, _, err := emit.FleetBundles(p, res, emit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p, bundles
}

// events collects deploy events.
type events struct {
	mu  sync.Mutex
	all []deploy.Event
}

func (e *events) add(ev deploy.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

// of returns "type cluster/bundle" of each event of the given types.
func (e *events) of(types ...string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if slices.Contains(types, ev.Type) {
			out = append(out, ev.Type+" "+ev.Cluster+"/"+ev.Bundle)
		}
	}
	return out
}

// TestDeployViaFleet hands a two-cluster Plan to Fleet's real controller
// and agents: mgmt is Fleet's own cluster, down is registered by Deploy
// (Cluster and kubeconfig Secret) and gets its agent from
// fleettest.RunImportedAgent. Every bundle becomes Ready in batch order
// (the Widget only exists once its CRD's bundle is ready); a bundle that
// leaves the Plan is deleted with Prune and Fleet removes its ConfigMap
// downstream; a broken bundle fails with Fleet's message.
func TestDeployViaFleet(t *testing.T) {
	mgmt := testenv.Start(t, testenv.Options{Kwok: true, Name: "mgmt"})
	down := testenv.Start(t, testenv.Options{Kwok: true, Name: "down"})
	f := fleettest.Start(t, mgmt)
	ctx := context.Background()

	p, bundles := bundlesOf(t, planYAML(mgmt, down, true, false))
	var ev events
	opts := fleet.Options{Timeout: 4 * time.Minute, Settle: 10 * time.Second, Interval: 500 * time.Millisecond, OnEvent: ev.add}
	type outcome struct {
		res *fleet.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := fleet.Deploy(ctx, p, bundles, opts)
		done <- outcome{res, err}
	}()
	// kwok only fakes the agent's Pod that Fleet deploys to down: run it.
	f.RunImportedAgent(t, "fleet-default", "down", down)
	out := <-done
	if out.err != nil {
		t.Fatalf("deploy: %v", out.err)
	}
	if got, want := len(out.res.States), 7; got != want {
		t.Errorf("%d bundles handed to Fleet, want %d (fleet-crd is not): %+v", got, want, out.res.States)
	}
	for _, st := range out.res.States {
		if !st.Ready || st.Bundle == "fleet-crd" {
			t.Errorf("state %+v", st)
		}
	}
	if out.res.Created != 7 || out.res.Registered != 1 {
		t.Errorf("result %+v: want 7 created, 1 registered", out.res)
	}
	wantApplied := []string{
		"registered down/",
		"fleet-applied mgmt/widget-crd", "fleet-applied mgmt/ns-app", "fleet-applied mgmt/widget", "fleet-applied mgmt/hello",
		"fleet-applied down/ns-app", "fleet-applied down/hello", "fleet-applied down/extra",
	}
	if diff := cmp.Diff(wantApplied, ev.of("registered", "fleet-applied")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	// Batch order on mgmt, as Fleet made the bundles ready.
	var mgmtReady []string
	for _, e := range ev.of("fleet-ready") {
		if strings.HasPrefix(e, "fleet-ready mgmt/") {
			mgmtReady = append(mgmtReady, e)
		}
	}
	if diff := cmp.Diff([]string{"fleet-ready mgmt/widget-crd", "fleet-ready mgmt/ns-app", "fleet-ready mgmt/widget", "fleet-ready mgmt/hello"}, mgmtReady); diff != "" {
		t.Errorf("mgmt ready order (-want +got):\n%s", diff)
	}
	dyn := dynamic.NewForConfigOrDie(mgmt.RESTConfig())
	widget := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
	if _, err := dyn.Resource(widget).Namespace("app").Get(ctx, "w", metav1.GetOptions{}); err != nil {
		t.Errorf("mgmt: Widget app/w: %v", err)
	}
	downCS := kubernetes.NewForConfigOrDie(down.RESTConfig())
	for _, name := range []string{"hello", "extra"} {
		if _, err := downCS.CoreV1().ConfigMaps("app").Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Errorf("down: ConfigMap app/%s: %v", name, err)
		}
	}
	mgmtCS := kubernetes.NewForConfigOrDie(mgmt.RESTConfig())
	if _, err := mgmtCS.CoreV1().ConfigMaps("cattle-fleet-system").Get(ctx, "stands-for-fleet", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("mgmt: the fleet-crd bundle was deployed by Fleet: %v", err)
	}

	t.Run("status", func(t *testing.T) {
		states, err := fleet.Status(ctx, p, bundles, fleet.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, st := range states {
			got = append(got, fmt.Sprintf("%s/%s %s %s", st.Cluster, st.Bundle, st.State, st.Clusters))
		}
		want := []string{
			"mgmt/widget-crd Ready 1/1", "mgmt/ns-app Ready 1/1", "mgmt/widget Ready 1/1", "mgmt/hello Ready 1/1",
			"down/ns-app Ready 1/1", "down/hello Ready 1/1", "down/extra Ready 1/1",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("status (-want +got):\n%s", diff)
		}
	})

	t.Run("prune", func(t *testing.T) {
		p2, bundles2 := bundlesOf(t, planYAML(mgmt, down, false, false))
		var ev2 events
		before, err := fleet.Status(ctx, p2, bundles2, fleet.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if last := before[len(before)-1]; last.State != "Extra" || last.Bundle != "extra" {
			t.Errorf("status before prune, last: %+v, want bundle extra Extra", last)
		}
		res, err := fleet.Deploy(ctx, p2, bundles2, fleet.Options{Prune: true, Timeout: 2 * time.Minute, Interval: 500 * time.Millisecond, OnEvent: ev2.add})
		if err != nil {
			t.Fatal(err)
		}
		if res.Pruned != 1 || res.Unchanged != 6 || res.Created != 0 {
			t.Errorf("result %+v: want 1 pruned, 6 unchanged", res)
		}
		if diff := cmp.Diff([]string{"pruned down/extra"}, ev2.of("pruned")); diff != "" {
			t.Errorf("pruned (-want +got):\n%s", diff)
		}
		err = poll(2*time.Minute, func() bool {
			_, err := downCS.CoreV1().ConfigMaps("app").Get(ctx, "extra", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
		if err != nil {
			t.Errorf("down: ConfigMap app/extra still there after prune")
		}
	})

	t.Run("field Fleet does not know", func(t *testing.T) {
		p4, bundles4 := bundlesOf(t, planYAML(mgmt, down, false, false))
		bundles4[1].Object["spec"].(map[string]any)["helmm"] = map[string]any{"releaseName": "x"} // [0] installs Fleet
		_, err := fleet.Deploy(ctx, p4, bundles4, fleet.Options{Timeout: time.Minute})
		if err == nil || !strings.Contains(err.Error(), `.spec.helmm: field not declared in schema`) {
			t.Errorf("err = %v, want the API server's validation against Fleet's CRD naming spec.helmm", err)
		}
	})

	t.Run("broken bundle", func(t *testing.T) {
		p3, bundles3 := bundlesOf(t, planYAML(mgmt, down, false, true))
		_, err := fleet.Deploy(ctx, p3, bundles3, fleet.Options{Timeout: 3 * time.Minute, Settle: 5 * time.Second, Interval: 500 * time.Millisecond})
		var nr *fleet.NotReadyError
		if !errors.As(err, &nr) {
			t.Fatalf("err = %v, want a NotReadyError", err)
		}
		if len(nr.States) != 1 || nr.States[0].Bundle != "broken" || nr.Why != "Fleet reports errors" {
			t.Errorf("not ready: %+v (%s)", nr.States, nr.Why)
		}
		for _, want := range []string{"cluster mgmt: bundle broken (Bundle fleet-local/", `no matches for kind "Gadget" in version "example.com/v1"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}
	})

	// Last: it prunes down's Bundles, whose namespace then terminates.
	t.Run("down left out of downstream", func(t *testing.T) {
		// A valid Plan names at least one downstream cluster; this one has
		// no third, so Downstream is set after validation to a name that
		// leaves down out.
		p5, bundles5 := bundlesOf(t, planYAML(mgmt, down, false, false))
		p5.GitOps.Fleet.Downstream = []string{"elsewhere"}
		var ev5 events
		_, err := fleet.Deploy(ctx, p5, bundles5, fleet.Options{Clusters: []string{"down"}})
		if err == nil || !strings.Contains(err.Error(), "--cluster down: not deployed through Fleet") {
			t.Errorf("deploy --cluster down: %v, want it refused", err)
		}
		res, err := fleet.Deploy(ctx, p5, bundles5, fleet.Options{Prune: true, Timeout: 2 * time.Minute, Interval: 500 * time.Millisecond, OnEvent: ev5.add})
		if err != nil {
			t.Fatal(err)
		}
		// Pruned too: mgmt's broken bundle of the subtest before.
		if res.Pruned != 3 || len(res.States) != 4 || res.Registered != 0 {
			t.Errorf("result %+v: want down's 2 Bundles and broken pruned, mgmt's 4 ready, none registered", res)
		}
		if diff := cmp.Diff([]string{"note down/", "pruned down/ns-app", "pruned down/hello", "pruned mgmt/broken"}, ev5.of("note", "pruned")); diff != "" {
			t.Errorf("events (-want +got):\n%s", diff)
		}
	})
}

// TestNotInstalled: a management cluster without Fleet's CRDs is an
// error saying so, before anything is written.
func TestNotInstalled(t *testing.T) {
	mgmt := testenv.Start(t, testenv.Options{Name: "bare"})
	down := mgmt
	p, bundles := bundlesOf(t, planYAML(mgmt, down, false, false))
	_, err := fleet.Deploy(context.Background(), p, bundles, fleet.Options{})
	var ni *fleet.NotInstalledError
	if !errors.As(err, &ni) || err.Error() != "cluster mgmt: Fleet is not installed (the API server has no bundles.fleet.cattle.io)" {
		t.Fatalf("err = %v, want a NotInstalledError", err)
	}
	cs := kubernetes.NewForConfigOrDie(mgmt.RESTConfig())
	if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "fleet-default", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace fleet-default: %v, want none", err)
	}
}

// TestManagement: which cluster Fleet runs in.
func TestManagement(t *testing.T) {
	two := &plan.Plan{Clusters: []plan.Cluster{{Name: "a"}, {Name: "b"}}}
	tests := []struct {
		name    string
		p       *plan.Plan
		want    string
		wantErr string
	}{
		{name: "one cluster", p: &plan.Plan{Clusters: []plan.Cluster{{Name: "a"}}}, want: "a"},
		{name: "named", p: &plan.Plan{GitOps: &plan.GitOps{Fleet: &plan.FleetGitOps{Management: "b"}}, Clusters: two.Clusters}, want: "b"},
		{name: "two, none named", p: two, wantErr: "gitops.fleet.management: not set, and the Plan has 2 clusters (a, b): name the cluster Fleet runs in (projects: fleet: cluster)"},
		{name: "unknown", p: &plan.Plan{GitOps: &plan.GitOps{Fleet: &plan.FleetGitOps{Management: "c"}}, Clusters: two.Clusters}, wantErr: "gitops.fleet.management: c is not a cluster of the Plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := fleet.Management(tt.p)
			got, gotErr := "", ""
			if c != nil {
				got = c.Name
			}
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.want+"|"+tt.wantErr, got+"|"+gotErr); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestFleetClusters: which clusters deploy --via fleet hands to Fleet.
func TestFleetClusters(t *testing.T) {
	three := []plan.Cluster{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	tests := []struct {
		name string
		p    *plan.Plan
		want map[string]bool
	}{
		{name: "no gitops", p: &plan.Plan{Clusters: three}, want: map[string]bool{"a": true, "b": true, "c": true}},
		{name: "management, no downstream", p: &plan.Plan{GitOps: &plan.GitOps{Fleet: &plan.FleetGitOps{Management: "a"}}, Clusters: three},
			want: map[string]bool{"a": true, "b": true, "c": true}},
		{name: "downstream named", p: &plan.Plan{GitOps: &plan.GitOps{Fleet: &plan.FleetGitOps{Management: "a", Downstream: []string{"c"}}}, Clusters: three},
			want: map[string]bool{"a": true, "c": true}},
		{name: "one cluster", p: &plan.Plan{GitOps: &plan.GitOps{Fleet: &plan.FleetGitOps{Downstream: []string{"x"}}}, Clusters: three[:1]},
			want: map[string]bool{"a": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, fleet.FleetClusters(tt.p)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// poll calls cond every 500ms until it holds or timeout passes.
func poll(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(500 * time.Millisecond)
	}
	return nil
}
