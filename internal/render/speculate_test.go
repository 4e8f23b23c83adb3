package render

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/plan"
)

// TestSpeculate renders a chart that depends on a CRD of an earlier batch,
// whose templates reach the API versions in every way there is, or not at
// all. Rendered up front, a chart that reads them would miss the CRD's;
// each must see it, or render up front when it reads nothing, and a warm
// render through the cache must give the same.
func TestSpeculate(t *testing.T) {
	crd := plan.Object{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.example.com"},
		"spec": map[string]any{
			"group": "example.com", "scope": "Namespaced",
			"names":    map[string]any{"kind": "Widget", "plural": "widgets"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true}},
		},
	}
	const has = `.Capabilities.APIVersions.Has "example.com/v1"`
	for _, tc := range []struct {
		name   string
		expr   string
		values plan.Object
		want   string
		// reads: the render waits for its dependencies (a marker in
		// the cache); otherwise it rendered up front.
		reads bool
	}{
		{name: "APIVersions.Has", expr: has, want: "true", reads: true},
		{name: "tpl of a value", expr: `tpl .Values.t .`, values: plan.Object{"t": "{{ " + has + " }}"}, want: "true", reads: true},
		{name: "toYaml of Capabilities", expr: `contains "example.com/v1" (toYaml .Capabilities)`, want: "true", reads: true},
		{name: "toJson of the root", expr: `contains "example.com/v1" (toJson $)`, want: "true", reads: true},
		{name: "a deep copy of the root", expr: `(deepCopy $).Capabilities.APIVersions.Has "example.com/v1"`, want: "true", reads: true},
		{name: "Capabilities.Copy", expr: `.Capabilities.Copy.APIVersions.Has "example.com/v1"`, want: "true", reads: true},
		{name: "toToml", expr: `contains "example.com/v1" (toToml $)`, want: "true", reads: true},
		{name: "KubeVersion only", expr: `.Capabilities.KubeVersion.Version`, want: "v1.31.4"},
		{name: "nothing", expr: `"static"`, want: "static"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := charttest.Chart{Name: "app", Version: "1.0.0", Files: map[string]string{
				"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  seen: {{ " + tc.expr + " | toString | quote }}\n",
			}}
			app := chartBundle("app", "apps", "app")
			app.Chart.Values = tc.values
			p := mkPlan(t,
				plan.Batch{Name: "crds", Priority: 100, Bundles: []plan.Bundle{manifestBundle("widgets", "default", crd)}},
				plan.Batch{Name: "apps", Priority: 600, Bundles: []plan.Bundle{app}},
			)
			cache := &Cache{Dir: t.TempDir()}
			for _, run := range []struct {
				name  string
				cache *Cache
			}{{"no cache", nil}, {"cold", cache}, {"warm", cache}} {
				r, err := Render(context.Background(), p, Options{Charts: charts(t, ch), Cache: run.cache, Version: "test"})
				if err != nil {
					t.Fatalf("%s: %v", run.name, err)
				}
				b := bundleIn(&r.Clusters[0], "app")
				if b == nil || len(b.Objects) != 1 {
					t.Fatalf("%s: bundle app: %+v", run.name, b)
				}
				got, _, _ := unstructured.NestedString(b.Objects[0].Object, "data", "seen")
				if got != tc.want {
					t.Errorf("%s: data.seen %q, want %q", run.name, got, tc.want)
				}
			}
			renders, markers := renderEntries(t, cache)
			if want := map[bool]int{true: 1, false: 0}[tc.reads]; len(markers) != want || len(renders) != 1 {
				t.Errorf("cache: renders %v, markers of renders that read the API versions %v (want %d)", renders, markers, want)
			}
		})
	}
}
