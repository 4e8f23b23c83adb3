package planview_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/planview"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/pkg/pipeline"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// example evaluates examples/<name> once per test binary.
var example = sync.OnceValues(func() (*plan.Plan, error) {
	dir, err := os.MkdirTemp("", "planview-cache-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p, err := pipeline.New(pipeline.Config{
		Files:    []string{filepath.Join("..", "..", "examples", "multi-primary")},
		CacheDir: dir, StateDir: dir, LockFile: filepath.Join(dir, "wookie.lock"),
	})
	if err != nil {
		return nil, err
	}
	return p.Load()
})

// multiPrimary is the Plan of examples/multi-primary.
func multiPrimary(t *testing.T) *plan.Plan {
	t.Helper()
	pl, err := example()
	if err != nil {
		t.Fatalf("evaluate examples/multi-primary: %v", err)
	}
	return pl
}

// fixture is a small Plan and its render that has every kind of node and
// edge: a pinned chart with values whose CRDs rendering puts in a bundle
// of their own, raw manifests, a generated bundle, a sensitive one left
// out of the render, a cross-cluster input made by a bundle and one made
// by no bundle.
func fixture() (*plan.Plan, *render.Result) {
	ns := func(name string) plan.Object {
		return plan.Object{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": name}}
	}
	pl := &plan.Plan{APIVersion: plan.APIVersion, Kind: plan.Kind, Clusters: []plan.Cluster{
		{
			Name: "east", KubeVersion: "1.31.4",
			Batches: []plan.Batch{
				{Name: "crds", Priority: 100},
				{Name: "namespaces", Priority: 200, Bundles: []plan.Bundle{
					{Name: "ns-app", Namespace: "app", Manifests: []plan.Object{ns("app")}},
					{Name: "cacerts", Namespace: "app", Generate: &plan.Generate{IstioCACerts: &plan.IstioCACerts{Cluster: "east"}}, DependsOn: []string{"ns-app"}},
					{Name: "reader", Namespace: "app", DependsOn: []string{"ns-app"}, Manifests: []plan.Object{
						{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token", "metadata": map[string]any{"name": "reader-token"}},
						{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "reader"}},
					}},
				}},
				{Name: "services", Priority: 600, Bundles: []plan.Bundle{
					{Name: "web", Namespace: "app", Chart: &plan.Chart{
						Repo: "https://charts.example.com", Name: "web", Version: "1.2.3",
						Digest: "sha256:" + strings.Repeat("ab", 32),
						Values: plan.Object{"replicas": 2, "image": map[string]any{"tag": "v1 <b>&\"quoted\""}},
					}},
				}},
			},
		},
		{
			Name: "west", KubeVersion: "1.31.4",
			Inputs: []plan.Input{
				{Name: "east-lb", From: plan.InputSource{Cluster: "east", APIVersion: "v1", Kind: "Service", Namespace: "app", Name: "web", Expression: "status.loadBalancer.ingress[0].ip"}},
				{Name: "east-token", From: plan.InputSource{Cluster: "east", APIVersion: "v1", Kind: "Secret", Namespace: "app", Name: "reader-token", Expression: "data.token"}},
			},
			Batches: []plan.Batch{
				{Name: "services", Priority: 600, Bundles: []plan.Bundle{
					{Name: "remote", Namespace: "app", Sensitive: true, Manifests: []plan.Object{
						{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "remote"}, "stringData": map[string]any{"token": plan.InputRef("east-token"), "lb": plan.InputRef("east-lb")}},
					}},
				}},
			},
		},
	}}
	obj := func(apiVersion, kind, namespace, name string) *render.Object {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(apiVersion)
		u.SetKind(kind)
		u.SetNamespace(namespace)
		u.SetName(name)
		return &render.Object{Unstructured: u}
	}
	test := obj("v1", "Pod", "app", "web-test")
	test.Hook = "post"
	res := &render.Result{
		Clusters: []render.Cluster{{Name: "east", Batches: []render.Batch{
			{Name: "crds", Priority: 100, Bundles: []render.Bundle{
				{Name: "web-crds", Namespace: "app", Generated: true, Objects: []*render.Object{obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "widgets.example.com")}},
			}},
			{Name: "namespaces", Priority: 200, Bundles: []render.Bundle{
				{Name: "ns-app", Namespace: "app", Objects: []*render.Object{obj("v1", "Namespace", "", "app")}},
				{Name: "reader", Namespace: "app", DependsOn: []string{"ns-app"}, Objects: []*render.Object{obj("v1", "Secret", "app", "reader-token"), obj("rbac.authorization.k8s.io/v1", "ClusterRole", "", "reader")}},
			}},
			{Name: "services", Priority: 600, Bundles: []render.Bundle{
				{Name: "web", Namespace: "app", DependsOn: []string{"web-crds"}, Objects: []*render.Object{obj("v1", "Service", "app", "web"), obj("apps/v1", "Deployment", "app", "web"), test}},
			}},
		}}},
		OmittedObjects: []render.OmittedObject{
			{Cluster: "east", Batch: "services", Bundle: "web", Object: "Secret app/web-key", Source: "web/templates/secret.yaml", Why: render.WhySecretData},
		},
		Omitted: []render.OmittedBundle{
			{Cluster: "east", Batch: "namespaces", Bundle: "cacerts", Why: render.WhyGenerated},
			{Cluster: "west", Batch: "services", Bundle: "remote", Why: render.WhySensitive},
		},
	}
	return pl, res
}

// TestGolden compares every output with its golden file in testdata;
// -update rewrites them.
func TestGolden(t *testing.T) {
	pl, res := fixture()
	status := map[string]planview.State{
		"east/ns-app":   {State: "Ready", Objects: 1, Present: 1, Ready: 1},
		"east/web-crds": {State: "Ready", Objects: 1, Present: 1, Ready: 1},
		"east/reader":   {State: "Ready", Objects: 2, Present: 2, Ready: 2},
		"east/cacerts":  {State: "Ready", Objects: 1, Present: 1, Ready: 1},
		"east/web":      {State: "NotReady", Objects: 3, Present: 3, Ready: 2, NotReady: []string{"Deployment app/web: InProgress: 1 of 2 replicas available"}},
		"west/remote":   {State: "Missing", Objects: 1, NotReady: []string{"Secret app/remote: Missing"}},
	}
	tests := []struct {
		name   string
		plan   func(t *testing.T) *plan.Plan
		res    *render.Result
		format string
		opts   planview.Options
	}{
		{name: "fixture-plan.dot", plan: func(*testing.T) *plan.Plan { return pl }, format: "dot"},
		{name: "fixture-rendered.dot", plan: func(*testing.T) *plan.Plan { return pl }, res: res, format: "dot"},
		{name: "fixture-plan.mmd", plan: func(*testing.T) *plan.Plan { return pl }, format: "mermaid"},
		{name: "fixture-rendered.mmd", plan: func(*testing.T) *plan.Plan { return pl }, res: res, format: "mermaid"},
		{name: "fixture-plan.html", plan: func(*testing.T) *plan.Plan { return pl }, format: "html"},
		{name: "fixture-status.html", plan: func(*testing.T) *plan.Plan { return pl }, res: res, format: "html", opts: planview.Options{Title: "wookie status", Status: status}},
		{name: "multi-primary.dot", plan: multiPrimary, format: "dot"},
		{name: "multi-primary.mmd", plan: multiPrimary, format: "mermaid"},
		{name: "multi-primary.html", plan: multiPrimary, format: "html"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := write(t, tt.plan(t), tt.res, tt.format, tt.opts)
			again := write(t, tt.plan(t), tt.res, tt.format, tt.opts)
			if string(got) != string(again) {
				t.Fatal("two runs over the same Plan differ")
			}
			path := filepath.Join("testdata", tt.name)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, d)
			}
		})
	}
}

// write builds the Graph of pl and writes it in format.
func write(t *testing.T, pl *plan.Plan, res *render.Result, format string, o planview.Options) []byte {
	t.Helper()
	g, err := planview.Build(pl, res)
	if err != nil {
		t.Fatal(err)
	}
	switch format {
	case "dot":
		return planview.DOT(g)
	case "mermaid":
		return planview.Mermaid(g)
	}
	out, err := planview.HTML(g, o)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBuild checks the graph of the fixture: nodes in deploy order, the
// bundle rendering adds, objects, and every kind of edge.
func TestBuild(t *testing.T) {
	pl, res := fixture()
	type node struct {
		ID, Source           string
		Sensitive, Generated bool
		Objects              []string
		Note                 string
	}
	tests := []struct {
		name      string
		res       *render.Result
		wantNodes []node
		wantEdges []planview.Edge
	}{
		{
			name: "plan",
			wantNodes: []node{
				{ID: "east/ns-app", Source: "1 manifest", Objects: []string{"Namespace app"}},
				{ID: "east/cacerts", Source: "cacerts of east", Sensitive: true, Generated: true, Objects: []string{"Secret app/cacerts"}, Note: "made from the certificate store at deploy time"},
				{ID: "east/reader", Source: "2 manifests", Objects: []string{"Secret app/reader-token", "ClusterRole.rbac.authorization.k8s.io reader"}},
				{ID: "east/web", Source: "web@1.2.3", Note: "rendered from the chart at render time (wookie plan -o html --render lists them)"},
				{ID: "west/remote", Source: "1 manifest", Sensitive: true, Objects: []string{"Secret app/remote"}},
			},
			wantEdges: []planview.Edge{
				{Kind: planview.EdgeDependsOn, From: "east/ns-app", FromCluster: "east", To: "east/cacerts"},
				{Kind: planview.EdgeDependsOn, From: "east/ns-app", FromCluster: "east", To: "east/reader"},
				// No bundle of the Plan lists the Service web: the chart
				// makes it, which only rendering tells.
				{Kind: planview.EdgeInput, FromCluster: "east", To: "west/remote", Label: "east-lb"},
				{Kind: planview.EdgeInput, From: "east/reader", FromCluster: "east", To: "west/remote", Label: "east-token"},
			},
		},
		{
			name: "rendered",
			res:  res,
			wantNodes: []node{
				{ID: "east/web-crds", Source: "CRDs of web", Generated: true, Objects: []string{"CustomResourceDefinition.apiextensions.k8s.io widgets.example.com"}},
				{ID: "east/ns-app", Source: "1 manifest", Objects: []string{"Namespace app"}},
				{ID: "east/cacerts", Source: "cacerts of east", Sensitive: true, Generated: true, Objects: []string{"Secret app/cacerts"}, Note: "left out of the render (generated); made from the certificate store at deploy time"},
				{ID: "east/reader", Source: "2 manifests", Objects: []string{"Secret app/reader-token", "ClusterRole.rbac.authorization.k8s.io reader"}},
				{ID: "east/web", Source: "web@1.2.3", Objects: []string{"Service app/web", "Deployment.apps app/web", "Pod app/web-test (post hook)", "Secret app/web-key (left out: secret data)"}},
				{ID: "west/remote", Source: "1 manifest", Sensitive: true, Objects: []string{"Secret app/remote"}, Note: "left out of the render (sensitive)"},
			},
			wantEdges: []planview.Edge{
				{Kind: planview.EdgeDependsOn, From: "east/ns-app", FromCluster: "east", To: "east/cacerts"},
				{Kind: planview.EdgeDependsOn, From: "east/ns-app", FromCluster: "east", To: "east/reader"},
				{Kind: planview.EdgeDependsOn, From: "east/web-crds", FromCluster: "east", To: "east/web"},
				{Kind: planview.EdgeInput, From: "east/reader", FromCluster: "east", To: "west/remote", Label: "east-token"},
				{Kind: planview.EdgeInput, From: "east/web", FromCluster: "east", To: "west/remote", Label: "east-lb"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := planview.Build(pl, tt.res)
			if err != nil {
				t.Fatal(err)
			}
			var nodes []node
			for _, c := range g.Clusters {
				for _, b := range c.Batches {
					for _, n := range b.Nodes {
						nodes = append(nodes, node{ID: n.ID, Source: n.Source, Sensitive: n.Sensitive, Generated: n.Generated, Objects: n.Objects, Note: n.ObjectsNote})
					}
				}
			}
			if d := cmp.Diff(tt.wantNodes, nodes); d != "" {
				t.Errorf("nodes (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantEdges, g.Edges); d != "" {
				t.Errorf("edges (-want +got):\n%s", d)
			}
		})
	}
}

// TestMultiPrimaryInputs checks that the example's remote secrets are
// drawn reading the reader token of the other cluster.
func TestMultiPrimaryInputs(t *testing.T) {
	g, err := planview.Build(multiPrimary(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []planview.Edge
	for _, e := range g.Edges {
		if e.Kind == planview.EdgeInput {
			got = append(got, e)
		}
	}
	want := []planview.Edge{
		{Kind: planview.EdgeInput, From: "alpha/istio-reader-token", FromCluster: "alpha", To: "beta/istio-remote-secrets", Label: "reader-ca-alpha, reader-token-alpha"},
		{Kind: planview.EdgeInput, From: "beta/istio-reader-token", FromCluster: "beta", To: "alpha/istio-remote-secrets", Label: "reader-ca-beta, reader-token-beta"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("input edges (-want +got):\n%s", d)
	}
}
