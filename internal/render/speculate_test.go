package render

import (
	"context"
	"slices"
	"strings"
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
	// Named templates that reach the Capabilities without naming them.
	const (
		dump   = `{{ define "dump" }}{{ $s := "" }}{{ range $k, $v := . }}{{ if hasPrefix "Capa" $k }}{{ $s = toString $v }}{{ end }}{{ end }}{{ contains "example.com/v1" $s }}{{ end }}`
		typeOf = `{{ define "type" }}{{ range $k, $v := . }}{{ if hasPrefix "Capa" $k }}{{ typeOf $v }}{{ end }}{{ end }}{{ end }}`
	)
	for _, tc := range []struct {
		name   string
		expr   string
		values plan.Object
		want   string
		// reads: the render waits for its dependencies (a marker in
		// the cache); otherwise it rendered up front.
		reads bool
		// wantErr: the render fails, up front and in turn alike.
		wantErr string
		// helpers is a template file of named templates.
		helpers string
	}{
		{name: "APIVersions.Has", expr: has, want: "true", reads: true},
		{name: "tpl of a value", expr: `tpl .Values.t .`, values: plan.Object{"t": "{{ " + has + " }}"}, want: "true", reads: true},
		{name: "toYaml of Capabilities", expr: `contains "example.com/v1" (toYaml .Capabilities)`, want: "true", reads: true},
		{name: "toJson of the root", expr: `contains "example.com/v1" (toJson $)`, want: "true", reads: true},
		{name: "a deep copy of the root", expr: `(deepCopy $).Capabilities.APIVersions.Has "example.com/v1"`, want: "true", reads: true},
		{name: "Capabilities.Copy", expr: `.Capabilities.Copy.APIVersions.Has "example.com/v1"`, want: "true", reads: true},
		{name: "toToml", expr: `contains "example.com/v1" (toToml $)`, want: "true", reads: true},
		{name: "toJson of a deep copy of the root", expr: `contains "example.com/v1" (toJson (deepCopy $))`, want: "true", reads: true},
		{name: "toYaml of a deep copy of the root", expr: `contains "example.com/v1" (toYaml (deepCopy $))`, want: "true", reads: true},
		{name: "the root's Capabilities printed, unnamed", expr: `include "dump" $`, helpers: dump, want: "true", reads: true},
		{name: "typeOf the root's Capabilities, unnamed", expr: `include "type" $`, helpers: typeOf, want: "*common.Capabilities", reads: true},
		{name: "a field only the probe has", expr: `tpl (print "{{ $.Capa" "bilities.ca" "ps }}") .`, wantErr: "can't evaluate field caps"},
		{name: "Helm's embedded name", expr: `tpl (print "{{ $.Capa" "bilities.Capa" "bilities }}") .`, wantErr: "can't evaluate field Capabilities"},
		{name: "KubeVersion only", expr: `.Capabilities.KubeVersion.Version`, want: "v1.31.4"},
		{name: "KubeVersion printed", expr: `.Capabilities.KubeVersion`, want: "{v1.31.4 v1.31.4 1 31}"},
		{name: "KubeVersion's method", expr: `.Capabilities.KubeVersion.GitVersion`, want: "v1.31.4"},
		{name: "KubeVersion as JSON", expr: `toJson .Capabilities.KubeVersion`, want: `{"Version":"v1.31.4","Major":"1","Minor":"31"}`},
		{name: "HelmVersion", expr: `.Capabilities.HelmVersion.GoVersion | empty | not`, want: "true"},
		{name: "nothing", expr: `"static"`, want: "static"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := charttest.Chart{Name: "app", Version: "1.0.0", Files: map[string]string{
				"templates/cm.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  seen: {{ " + tc.expr + " | toString | quote }}\n",
				"templates/_helpers.tpl": tc.helpers,
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
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("%s: error %v, want one saying %q", run.name, err, tc.wantErr)
					}
					continue
				}
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
			// The same chart made to render in its turn (speculable
			// refuses it) gives the same, as Helm would.
			ch.Files["templates/_turn.tpl"] = "{{/* typeOf */}}"
			r, err := Render(context.Background(), p, Options{Charts: charts(t, ch), Version: "test"})
			if err == nil {
				got, _, _ := unstructured.NestedString(bundleIn(&r.Clusters[0], "app").Objects[0].Object, "data", "seen")
				if got != tc.want {
					t.Errorf("rendered in turn: data.seen %q, want %q", got, tc.want)
				}
			} else if tc.wantErr == "" || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("rendered in turn: error %v, want %q", err, tc.wantErr)
			}
			renders, markers := renderEntries(t, cache)
			if tc.wantErr != "" {
				if len(renders)+len(markers) != 0 {
					t.Errorf("cache: renders %v, markers %v of a failed render", renders, markers)
				}
				return
			}
			if want := map[bool]int{true: 1, false: 0}[tc.reads]; len(markers) != want || len(renders) != 1 {
				t.Errorf("cache: renders %v, markers of renders that read the API versions %v (want %d)", renders, markers, want)
			}
		})
	}
}

// TestSpeculateReloadsChart renders a chart whose subchart condition is
// decided before a subchart's imported values, as Helm decides it, with
// templates that read the API versions and that do not. Rendering changes
// the loaded chart (Helm's ProcessDependencies drops disabled subcharts
// and imports values in place), so the render in turn that follows a
// dropped render up front must start from the archive again: both give
// the app and the subchart, cold and warm.
func TestSpeculateReloadsChart(t *testing.T) {
	for _, expr := range []string{`"static"`, `.Capabilities.APIVersions.Has "x"`} {
		ch := charttest.Chart{Name: "app", Version: "1.0.0", Files: map[string]string{
			"Chart.yaml":                    "apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- name: sub1\n  version: 1.0.0\n  import-values: [data]\n- name: sub2\n  version: 1.0.0\n  condition: sub2On\n",
			"templates/cm.yaml":             "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  seen: {{ " + expr + " | toString | quote }}\n",
			"charts/sub1/Chart.yaml":        "apiVersion: v2\nname: sub1\nversion: 1.0.0\n",
			"charts/sub1/values.yaml":       "exports:\n  data:\n    sub2On: false\n",
			"charts/sub2/Chart.yaml":        "apiVersion: v2\nname: sub2\nversion: 1.0.0\n",
			"charts/sub2/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sub2\n",
		}}
		p := mkPlan(t, plan.Batch{Name: "apps", Priority: 600, Bundles: []plan.Bundle{chartBundle("app", "apps", "app")}})
		cache := &Cache{Dir: t.TempDir()}
		for _, run := range []string{"cold", "warm"} {
			r, err := Render(context.Background(), p, Options{Charts: charts(t, ch), Cache: cache, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range bundleIn(&r.Clusters[0], "app").Objects {
				names = append(names, o.GetName())
			}
			if !slices.Equal(names, []string{"app", "sub2"}) {
				t.Errorf("%s, %s: objects %v, want [app sub2] as helm template renders them", expr, run, names)
			}
		}
	}
}
