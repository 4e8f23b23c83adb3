package render

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/chart"
	"wookie.dev/wookie/internal/render/rendertest"
)

// memoCases are objects whose YAML go-yaml writes in its less common ways:
// keys it sorts by the numbers in them, strings it quotes, folds or writes
// as blocks, numbers of both kinds, empty and nested collections.
func memoCases() map[string]map[string]any {
	long := strings.Repeat("a long line of words ", 10)
	return map[string]map[string]any{
		"plain":                 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "a", "labels": map[string]any{"x": "y"}}, "data": map[string]any{"k": "v"}},
		"keys sorted by number": {"a10": int64(1), "a9": int64(2), "a010": int64(3), "b": nil, "A": true, "_": false, "1": "one", "10": "ten", "9": "nine"},
		"strings": {"s": map[string]any{
			"true": "true", "null": "null", "num": "1.5", "oct": "0o17", "hex": "0x1F", "empty": "", "space": " lead", "colon": "a: b",
			"multi": "line one\nline two\n", "trailing": "x\n\n", "long": long, "quote": `say "hi"`, "unicode": "grüße ✓", "tab": "a\tb",
			"html": "<a href='x'>&</a>", "dash": "- item", "hash": "# not a comment", "star": "*ref", "date": "2024-01-02",
		}},
		"numbers":     {"n": []any{int64(0), int64(-1), int64(1 << 40), 1.5, -0.25, 1e21, 1e-7, float64(3), 0.0}},
		"collections": {"empty map": map[string]any{}, "empty list": []any{}, "nested": []any{[]any{"a", []any{}}, map[string]any{"k": []any{map[string]any{"x": int64(1)}}}}},
		"one field":   {"spec": map[string]any{"replicas": int64(3)}},
		"empty":       {},
	}
}

// TestYAMLMemoSplit checks what yamlMemo rests on: an object's YAML is the
// YAML of its top-level fields, each encoded alone, in go-yaml's order;
// for the objects of memoCases and of the default stack of look-alike
// charts.
func TestYAMLMemoSplit(t *testing.T) {
	objs := memoCases()
	r := renderDefaultStack(t, nil, false)
	for _, c := range r.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				for _, o := range u.Objects {
					objs[o.ID()] = o.Object
				}
			}
		}
	}
	for name, obj := range objs {
		want, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		m, ok := newYAMLMemo(obj)
		if len(obj) == 0 {
			if ok {
				t.Errorf("%s: a memo of no fields, for %q", name, want)
			}
			continue
		}
		if !ok {
			t.Errorf("%s: no memo", name)
			continue
		}
		var got strings.Builder
		for _, f := range m.Fields {
			got.Write(f.YAML)
		}
		if diff := cmp.Diff(string(want), got.String()); diff != "" {
			t.Errorf("%s: fields one after another (-whole +fields):\n%s", name, diff)
		}
	}
}

// TestYAMLMemoReuse changes objects after their memo was made, as finish
// and callers may: the YAML MarshalYAML writes is always that of the
// object as it is.
func TestYAMLMemoReuse(t *testing.T) {
	tests := []struct {
		name   string
		change func(o map[string]any)
	}{
		{"unchanged", func(map[string]any) {}},
		{"label added", func(o map[string]any) {
			u := unstructured.Unstructured{Object: o}
			u.SetLabels(map[string]string{LabelCluster: "c", LabelBundle: "b"})
		}},
		{"namespace set", func(o map[string]any) { (&unstructured.Unstructured{Object: o}).SetNamespace("ns") }},
		{"deep value changed", func(o map[string]any) { o["data"].(map[string]any)["k"] = "w" }},
		{"int for string", func(o map[string]any) { o["data"].(map[string]any)["k"] = int64(1) }},
		{"float for int", func(o map[string]any) { o["data"].(map[string]any)["n"] = 2.5 }},
		{"whole float for int", func(o map[string]any) { o["data"].(map[string]any)["n"] = float64(7) }},
		{"list element appended", func(o map[string]any) {
			o["data"].(map[string]any)["l"] = append(o["data"].(map[string]any)["l"].([]any), "c")
		}},
		{"key moved between maps", func(o map[string]any) {
			d := o["data"].(map[string]any)
			d["m"].(map[string]any)["x"] = d["k"]
			delete(d, "k")
		}},
		{"field added", func(o map[string]any) { o["status"] = map[string]any{} }},
		{"field removed", func(o map[string]any) { delete(o, "data") }},
		{"field replaced by one of another name", func(o map[string]any) { o["stringData"] = o["data"]; delete(o, "data") }},
		{"value of a type unstructured does not hold", func(o map[string]any) { o["data"].(map[string]any)["k"] = []string{"x"} }},
		{"all fields removed", func(o map[string]any) { clear(o) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "a"},
				"data":     map[string]any{"k": "v", "n": int64(7), "l": []any{"a", "b"}, "m": map[string]any{}},
			}
			m, ok := newYAMLMemo(obj)
			if !ok {
				t.Fatal("no memo")
			}
			tt.change(obj)
			o := &Object{Unstructured: &unstructured.Unstructured{Object: obj}, memo: m}
			want, err := yaml.Marshal(obj)
			if err != nil {
				t.Fatal(err)
			}
			o.Source = "x.yaml"
			got, err := MarshalYAML([]*Object{o})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff("---\n# Source: x.yaml\n"+string(want), string(got)); diff != "" {
				t.Errorf("YAML (-yaml.Marshal +MarshalYAML):\n%s", diff)
			}
		})
	}
}

// TestCachedYAML renders the default stack without the cache, through an
// empty one and through the filled one, and without the cache but with
// each chart's objects encoded as it renders (EncodeYAML): the output is
// the same, and the objects come with their memo.
func TestCachedYAML(t *testing.T) {
	want := yamlOf(t, renderDefaultStack(t, nil, false))
	cache := &Cache{Dir: t.TempDir()}
	for _, pass := range []struct {
		name   string
		cache  *Cache
		encode bool
	}{{"cache empty", cache, false}, {"cache filled", cache, false}, {"no cache, EncodeYAML", nil, true}} {
		r := renderDefaultStack(t, pass.cache, pass.encode)
		if diff := cmp.Diff(want, yamlOf(t, r)); diff != "" {
			t.Errorf("%s: output differs from a render without cache (-want +got):\n%s", pass.name, diff)
		}
		memos := 0
		for _, c := range r.Clusters {
			for _, b := range c.Batches {
				for _, u := range b.Bundles {
					for _, o := range u.Objects {
						if o.memo != nil {
							memos++
						}
					}
				}
			}
		}
		if memos == 0 {
			t.Errorf("%s: no object has its YAML", pass.name)
		}
	}
}

func renderDefaultStack(t *testing.T, cache *Cache, encode bool) *Result {
	t.Helper()
	p, dir := rendertest.DefaultStack(t)
	src := &chart.PlanSource{Client: &chart.Client{BaseDir: dir}}
	r, err := Render(context.Background(), p, Options{Charts: src, Cache: cache, Version: "test", EncodeYAML: encode})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
