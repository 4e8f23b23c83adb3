package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render/rendertest"
)

// archives is a ChartSource of charts built by the test, by chart name.
type archives map[string][]byte

func (a archives) Archive(_ context.Context, c *plan.Chart) ([]byte, error) {
	data, ok := a[c.Name]
	if !ok {
		return nil, fmt.Errorf("chart %s: not found", c.Name)
	}
	return data, nil
}

func charts(t *testing.T, cs ...charttest.Chart) archives {
	a := archives{}
	for _, c := range cs {
		a[c.Name] = charttest.Package(t, c)
	}
	return a
}

func chartBundle(name, ns, chart string, deps ...string) plan.Bundle {
	return plan.Bundle{Name: name, Namespace: ns, DependsOn: deps, Chart: &plan.Chart{Repo: "./charts", Name: chart}}
}

func manifestBundle(name, ns string, objs ...plan.Object) plan.Bundle {
	return plan.Bundle{Name: name, Namespace: ns, Manifests: objs}
}

// mkPlan builds a normalized one-cluster Plan from batches.
func mkPlan(t *testing.T, batches ...plan.Batch) *plan.Plan {
	t.Helper()
	p := &plan.Plan{APIVersion: plan.APIVersion, Kind: plan.Kind, Clusters: []plan.Cluster{{
		Name: "c1", Target: "test", Context: "c1", KubeVersion: "1.31.4", Batches: batches,
	}}}
	if err := plan.Normalize(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func std(crds, operators, services []plan.Bundle) []plan.Batch {
	return []plan.Batch{
		{Name: "crds", Priority: 100, Bundles: crds},
		{Name: "operators", Priority: 300, Bundles: operators},
		{Name: "services", Priority: 600, Bundles: services},
	}
}

// layout lists batch/bundle: kind/namespace/name of every object.
func layout(r *Result) []string {
	var out []string
	for _, c := range r.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				line := b.Name + "/" + u.Name
				if u.Generated {
					line += " (generated)"
				}
				if len(u.DependsOn) > 0 {
					line += " <- " + strings.Join(u.DependsOn, ",")
				}
				out = append(out, line)
				for _, o := range u.Objects {
					out = append(out, fmt.Sprintf("  %s %s/%s", o.GetKind(), o.GetNamespace(), o.GetName()))
				}
			}
		}
	}
	return out
}

var pxc = plan.Object{"apiVersion": "pxc.percona.com/v1", "kind": "PerconaXtraDBCluster", "metadata": map[string]any{"name": "db"}, "spec": map[string]any{"crVersion": "1.20.0"}}

// TestCRDModes moves a chart's crds/ CRDs to <bundle>-crds, keeps them
// inline or drops them, and scopes the custom resource accordingly.
func TestCRDModes(t *testing.T) {
	src := charts(t, rendertest.Operator())
	tests := []struct {
		name    string
		mode    string
		batches func(op plan.Bundle) []plan.Batch
		want    []string
		wantErr string
	}{{
		name: "separate into the crds batch",
		batches: func(op plan.Bundle) []plan.Batch {
			return std(nil, []plan.Bundle{op}, []plan.Bundle{manifestBundle("db", "pxc", pxc)})
		},
		want: []string{
			"crds/pxc-operator-crds (generated)",
			"  CustomResourceDefinition /perconaxtradbclusters.pxc.percona.com",
			"operators/pxc-operator <- pxc-operator-crds",
			"  Role pxc/pxc-operator",
			"  Deployment pxc/pxc-operator",
			"services/db",
			"  PerconaXtraDBCluster pxc/db",
		},
	}, {
		name: "separate without a crds batch",
		batches: func(op plan.Bundle) []plan.Batch {
			return []plan.Batch{{Name: "apps", Priority: 1, Bundles: []plan.Bundle{op}}}
		},
		want: []string{
			"apps/pxc-operator-crds (generated)",
			"  CustomResourceDefinition /perconaxtradbclusters.pxc.percona.com",
			"apps/pxc-operator <- pxc-operator-crds",
			"  Role pxc/pxc-operator",
			"  Deployment pxc/pxc-operator",
		},
	}, {
		name: "inline",
		mode: plan.CRDsInline,
		batches: func(op plan.Bundle) []plan.Batch {
			return std(nil, []plan.Bundle{op}, nil)
		},
		want: []string{
			"operators/pxc-operator",
			"  CustomResourceDefinition /perconaxtradbclusters.pxc.percona.com",
			"  Role pxc/pxc-operator",
			"  Deployment pxc/pxc-operator",
		},
	}, {
		name: "skip: the custom resource's kind is then unknown",
		mode: plan.CRDsSkip,
		batches: func(op plan.Bundle) []plan.Batch {
			return std(nil, []plan.Bundle{op}, []plan.Bundle{manifestBundle("db", "pxc", pxc)})
		},
		wantErr: `cluster c1: bundle db: PerconaXtraDBCluster db (pxc.percona.com/v1, from manifests[0]): unknown kind: Kubernetes 1.31.4 does not serve pxc.percona.com/v1 and no CRD in the Plan defines it; declare it in the cluster's provides.kinds or the bundle's resourceScopes ("PerconaXtraDBCluster.pxc.percona.com": Namespaced or Cluster)`,
	}, {
		name: "a bundle already has the generated name",
		batches: func(op plan.Bundle) []plan.Batch {
			return std([]plan.Bundle{manifestBundle("pxc-operator-crds", "pxc", plan.Object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x"}})}, []plan.Bundle{op}, nil)
		},
		wantErr: "cluster c1: bundle pxc-operator: its CRDs go to a bundle pxc-operator-crds, but the Plan has a bundle of that name: rename it or set crds: inline",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := chartBundle("pxc-operator", "pxc", "pxc-operator")
			op.CRDs = tt.mode
			r, err := Render(context.Background(), mkPlan(t, tt.batches(op)...), Options{Charts: src})
			if tt.wantErr != "" {
				if err == nil {
					t.Fatal("no error")
				}
				if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, layout(r)); diff != "" {
				t.Errorf("layout (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCapabilities checks that .Capabilities.APIVersions.Has sees the CRDs
// of earlier batches and of in-batch dependencies, and only those.
func TestCapabilities(t *testing.T) {
	src := charts(t, rendertest.Base(), rendertest.Istiod())
	has := func(r *Result) bool {
		for _, c := range r.Clusters {
			for _, b := range c.Batches {
				for _, u := range b.Bundles {
					for _, o := range u.Objects {
						if o.GetKind() == "EnvoyFilter" {
							return true
						}
					}
				}
			}
		}
		return false
	}
	base, istiod := chartBundle("istio-base", "istio-system", "base"), chartBundle("istiod", "istio-system", "istiod")
	istiodAfterBase := chartBundle("istiod", "istio-system", "istiod", "istio-base")
	tests := []struct {
		name    string
		batches []plan.Batch
		want    bool
	}{
		{"CRDs in an earlier batch", std([]plan.Bundle{base}, []plan.Bundle{istiod}, nil), true},
		{"CRDs in a later batch", std(nil, []plan.Bundle{istiod}, []plan.Bundle{base}), false},
		{"same batch, depending on them", std(nil, []plan.Bundle{base, istiodAfterBase}, nil), true},
		{"same batch, not depending on them", std(nil, []plan.Bundle{base, istiod}, nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Render(context.Background(), mkPlan(t, tt.batches...), Options{Charts: src})
			if err != nil {
				t.Fatal(err)
			}
			if got := has(r); got != tt.want {
				t.Errorf("EnvoyFilter rendered: %v, want %v", got, tt.want)
			}
		})
	}
}

func broken(name, template string) charttest.Chart {
	return charttest.Chart{Name: name, Version: "0.1.0", Files: map[string]string{"templates/x.yaml": template}}
}

var cm = plan.Object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "shared"}}

// TestBadInput gives each kind of broken chart or Plan and its message.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name    string
		chart   charttest.Chart
		values  plan.Object
		bundles []plan.Bundle
		want    string
	}{{
		name:  "template error",
		chart: broken("bad", "a: {{ .Values.x.y.z }}\n"),
		want:  `cluster c1: bundle b: chart bad@0.1.0: bad/templates/x.yaml:1:13: executing "bad/templates/x.yaml" at <.Values.x.y.z>: nil pointer evaluating interface {}.y`,
	}, {
		name:  "required",
		chart: broken("bad", "a: {{ required \"set image.tag\" .Values.image }}\n"),
		want:  `cluster c1: bundle b: chart bad@0.1.0: execution error at (bad/templates/x.yaml:1:6): set image.tag`,
	}, {
		name:  "fail",
		chart: broken("bad", "{{ fail \"this chart needs Kubernetes 2\" }}\n"),
		want:  `cluster c1: bundle b: chart bad@0.1.0: execution error at (bad/templates/x.yaml:1:3): this chart needs Kubernetes 2`,
	}, {
		name:   "values schema",
		chart:  rendertest.Istiod(),
		values: plan.Object{"replicaCount": "three"},
		want:   `cluster c1: bundle b: chart istiod@1.30.3: values: values don't meet the specifications of the schema(s) in the following chart(s): istiod: - at '/replicaCount': got string, want integer`,
	}, {
		name:  "output that is not YAML",
		chart: broken("bad", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n"),
		want:  "cluster c1: bundle b: chart bad@0.1.0: YAML parse error on bad/templates/x.yaml: yaml: line 3: did not find expected ',' or '}'",
	}, {
		name:  "object without kind",
		chart: broken("bad", "apiVersion: v1\nmetadata:\n  name: x\n"),
		want:  "cluster c1: bundle b: chart bad@0.1.0: bad/templates/x.yaml: document 1: not a Kubernetes object: no kind",
	}, {
		name:  "object without a name",
		chart: broken("bad", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"),
		want:  "cluster c1: bundle b: chart bad@0.1.0: bad/templates/x.yaml: document 1: not a Kubernetes object: no metadata.name",
	}, {
		name:  "a list where an object belongs",
		chart: broken("bad", "- apiVersion: v1\n  kind: ConfigMap\n"),
		want:  "cluster c1: bundle b: chart bad@0.1.0: YAML parse error on bad/templates/x.yaml: cannot unmarshal array into Go value of type util.SimpleHead",
	}, {
		name:  "kubeVersion the chart does not support",
		chart: charttest.Chart{Name: "old", Version: "0.1.0", Files: map[string]string{"Chart.yaml": "apiVersion: v2\nname: old\nversion: 0.1.0\nkubeVersion: <1.20.0\n"}},
		want:  "cluster c1: bundle b: chart old@0.1.0: chart requires kubeVersion <1.20.0, which does not match the cluster's Kubernetes v1.31.4",
	}, {
		name:    "two bundles make one object",
		bundles: []plan.Bundle{manifestBundle("a", "ns", cm), manifestBundle("z", "ns", cm)},
		want:    "cluster c1: ConfigMap ns/shared is produced by bundles a and z",
	}, {
		name:    "one bundle makes an object twice",
		bundles: []plan.Bundle{manifestBundle("a", "ns", cm, cm)},
		want:    "cluster c1: bundle a: ConfigMap ns/shared is produced twice (manifests[1])",
	}, {
		name:    "unknown kind",
		bundles: []plan.Bundle{manifestBundle("a", "ns", plan.Object{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}})},
		want:    `cluster c1: bundle a: Widget w (example.com/v1, from manifests[0]): unknown kind: Kubernetes 1.31.4 does not serve example.com/v1 and no CRD in the Plan defines it; declare it in the cluster's provides.kinds or the bundle's resourceScopes ("Widget.example.com": Namespaced or Cluster)`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bundles := tt.bundles
			src := archives{}
			if tt.chart.Name != "" {
				b := chartBundle("b", "ns", tt.chart.Name)
				b.Chart.Values = tt.values
				bundles = []plan.Bundle{b}
				src = charts(t, tt.chart)
			}
			_, err := Render(context.Background(), mkPlan(t, plan.Batch{Name: "apps", Priority: 1, Bundles: bundles}), Options{Charts: src})
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

// TestResourceScopes declares the scope of a kind no CRD defines, in the
// bundle's resourceScopes or the cluster's provides.kinds (which wins).
func TestResourceScopes(t *testing.T) {
	widget := plan.Object{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}
	other := map[string]string{plan.ScopeNamespaced: plan.ScopeCluster, plan.ScopeCluster: plan.ScopeNamespaced}
	for _, how := range []string{"bundle", "cluster"} {
		for _, scope := range []string{plan.ScopeNamespaced, plan.ScopeCluster} {
			b := manifestBundle("a", "ns", widget)
			p := mkPlan(t, plan.Batch{Name: "apps", Bundles: []plan.Bundle{b}})
			if how == "bundle" {
				p.Clusters[0].Batches[0].Bundles[0].ResourceScopes = map[string]string{"Widget.example.com": scope}
			} else {
				p.Clusters[0].Batches[0].Bundles[0].ResourceScopes = map[string]string{"Widget.example.com": other[scope]}
				p.Clusters[0].Provides = &plan.Provides{Kinds: map[string]string{"Widget.example.com": scope}}
			}
			r, err := Render(context.Background(), p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := r.Clusters[0].Batches[0].Bundles[0].Objects[0].GetNamespace()
			if want := map[string]string{plan.ScopeNamespaced: "ns", plan.ScopeCluster: ""}[scope]; got != want {
				t.Errorf("%s %s: namespace %q, want %q", how, scope, got, want)
			}
		}
	}
}

// TestAllowUnknownKinds keeps objects of undeclared kinds as written.
func TestAllowUnknownKinds(t *testing.T) {
	widget := plan.Object{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}}
	placed := plan.Object{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "v", "namespace": "elsewhere"}}
	p := mkPlan(t, plan.Batch{Name: "apps", Bundles: []plan.Bundle{manifestBundle("a", "ns", widget, placed)}})
	r, err := Render(context.Background(), p, Options{AllowUnknownKinds: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range r.Clusters[0].Batches[0].Bundles[0].Objects {
		got = append(got, o.ID())
	}
	if diff := cmp.Diff([]string{"Widget.example.com w", "Widget.example.com elsewhere/v"}, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
}

// TestRenderCache renders through the cache: the second render reads it, a
// damaged entry is ignored, and different values miss it.
func TestRenderCache(t *testing.T) {
	src := charts(t, rendertest.Istiod())
	cache := &Cache{Dir: t.TempDir()}
	b := chartBundle("istiod", "istio-system", "istiod")
	p := mkPlan(t, plan.Batch{Name: "apps", Bundles: []plan.Bundle{b}})
	first, err := Render(context.Background(), p, Options{Charts: src, Cache: cache, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// The chart reads the API versions: one entry of its render, one that
	// says so (speculate).
	entries, markers := renderEntries(t, cache)
	if len(entries) != 1 || len(markers) != 1 {
		t.Fatalf("cache entries: renders %v, API version markers %v", entries, markers)
	}
	firstYAML := yamlOf(t, first)
	for _, damage := range []func([]byte) []byte{
		func(b []byte) []byte { return b },
		func(b []byte) []byte { return []byte(strings.Replace(string(b), "istiod", "hacked", 1)) },
		func(b []byte) []byte { return b[:len(b)/2] },
	} {
		data, _ := os.ReadFile(entries[0])
		if err := os.WriteFile(entries[0], damage(data), 0o644); err != nil {
			t.Fatal(err)
		}
		again, err := Render(context.Background(), p, Options{Charts: src, Cache: cache, Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(firstYAML, yamlOf(t, again)); diff != "" {
			t.Errorf("render through the cache differs (-first +again):\n%s", diff)
		}
	}
	b.Chart.Values = plan.Object{"replicaCount": 3}
	p2 := mkPlan(t, plan.Batch{Name: "apps", Bundles: []plan.Bundle{b}})
	if _, err := Render(context.Background(), p2, Options{Charts: src, Cache: cache, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	entries, _ = renderEntries(t, cache)
	if len(entries) != 2 {
		t.Errorf("other values should be another entry: %v", entries)
	}
}

// renderEntries lists the render cache's entries: those holding renders,
// and the markers of renders that read the API versions.
func renderEntries(t *testing.T, cache *Cache) (renders, markers []string) {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(cache.Dir, "render", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		data, err := os.ReadFile(e)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), `"readsAPIVersions":true`) {
			markers = append(markers, e)
		} else {
			renders = append(renders, e)
		}
	}
	return renders, markers
}

func yamlOf(t *testing.T, r *Result) []string {
	var out []string
	for _, c := range r.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				data, err := MarshalYAML(u.Objects)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, string(data))
			}
		}
	}
	return out
}

// TestHookOrder puts pre hooks by weight first and post hooks last.
func TestHookOrder(t *testing.T) {
	r, err := Render(context.Background(), mkPlan(t, plan.Batch{Name: "apps", Bundles: []plan.Bundle{chartBundle("istiod", "istio-system", "istiod")}}), Options{Charts: charts(t, rendertest.Istiod())})
	if err != nil {
		t.Fatal(err)
	}
	objs := r.Clusters[0].Batches[0].Bundles[0].Objects
	var names []string
	for _, o := range objs {
		names = append(names, o.GetKind()+"/"+o.GetName())
	}
	if names[0] != "ConfigMap/istiod-pre-config" || names[1] != "Job/istiod-pre-install" || names[len(names)-1] != "Job/istiod-post-install" {
		t.Errorf("order: %v", names)
	}
	if slices.Contains(names, "Pod/istiod-test") {
		t.Error("the test hook was kept")
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "3 kept, which wookie deploy runs as Helm does") {
		t.Errorf("warnings: %q", r.Warnings)
	}
}

// TestSkipSchemaValidation renders a chart whose values.schema.json
// rejects every input, as the gateway chart of Istio 1.22 to 1.24 does:
// it fails unless the chart says skipSchemaValidation, and a cached
// render with the switch is never taken for one without it.
func TestSkipSchemaValidation(t *testing.T) {
	ch := charttest.Chart{Name: "gw", Version: "1.0.0", Files: map[string]string{
		"values.yaml": "_internal_defaults_do_not_set:\n  replicas: 1\n",
		"values.schema.json": `{"$schema": "http://json-schema.org/schema#", "type": "object", "additionalProperties": false,
  "$defs": {"values": {"type": "object", "properties": {"replicas": {"type": "integer"}}}},
  "defaults": {"$ref": "#/$defs/values"}, "$ref": "#/$defs/values"}`,
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gw\ndata:\n  replicas: {{ .Values._internal_defaults_do_not_set.replicas | quote }}\n",
	}}
	src := charts(t, ch)
	cache := &Cache{Dir: t.TempDir()}
	run := func(skip bool) error {
		b := chartBundle("gw", "ns", "gw")
		b.Chart.SkipSchemaValidation = skip
		_, err := Render(context.Background(), mkPlan(t, plan.Batch{Name: "apps", Priority: 1, Bundles: []plan.Bundle{b}}), Options{Charts: src, Cache: cache})
		return err
	}
	if err := run(true); err != nil {
		t.Fatalf("with skipSchemaValidation: %v", err)
	}
	for range 2 { // the second time with the switch's render in the cache
		err := run(false)
		if err == nil || !strings.Contains(err.Error(), "additional properties '_internal_defaults_do_not_set' not allowed") {
			t.Fatalf("without skipSchemaValidation: got %v, want the schema's error", err)
		}
	}
}
