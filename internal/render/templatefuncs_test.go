package render

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/engine"
)

// TestTemplateFuncsMatchHelm renders templates that call fromYaml and
// toYaml with Helm's own functions and with wookie's: the output must be
// the same, byte for byte, for documents and values of every kind.
func TestTemplateFuncsMatchHelm(t *testing.T) {
	docs := map[string]any{
		"object":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {x: \"1\", y: yes}\ndata:\n  k: |\n    line\n",
		"numbers":  "a: 1\nb: 1.5\nc: 1e21\nd: 0x1F\ne: 9223372036854775808\nf: -0.0\ng: 1.0\n",
		"keys":     "1: a\n2.5: b\ntrue: c\n",
		"list":     "- a\n- b\n",
		"scalar":   "text",
		"empty":    "",
		"broken":   "a: [b\n",
		"infinity": "a: .inf\n",
		"merge":    "base: &b {x: 1}\nd: {<<: *b, y: 2}\n",
	}
	// An object as toYaml writes it field by field (objectYAML): keys
	// go-yaml sorts by the numbers in them, keys it quotes, long strings
	// it folds, literal blocks, empty maps and lists.
	docs["crd-like"] = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: a.b}\nspec:\n  a10: 1\n  a9: 2\n  '$ref': x\n  'y': yes\n  x-kubernetes-preserve-unknown-fields: true\n  description: \"" + strings.Repeat("a long description that goes on ", 12) + "\"\n  multi: |\n    one\n    two\n  empty: {}\n  none: []\n  nothing: null\n  f: 1.5\n  big: 1e21\n"
	// Large enough for fromYaml to keep it (memoFromYAML): each read gets
	// its own copy, which set changes without changing the next.
	docs["large"] = "metadata:\n  name: big\n  labels: {a: b}\nspec:\n" + strings.Repeat("  - {x: 1, y: [a, 2.5, true]}\n", 200)
	values := map[string]any{
		"docs":   docs,
		"ints":   map[string]any{"a": int64(1), "b": 3, "c": uint64(1 << 63), "d": float64(1 << 60)},
		"floats": []any{0.1, 1e-7, 2.0, -0.0, 1e300},
		"odd":    map[string]any{"on": "yes", "null": nil, "empty": map[string]any{}, "list": []any{}, "s": "a: b", "t": "\u2028"},
	}
	ch := &chartv2.Chart{
		Metadata: &chartv2.Metadata{APIVersion: chartv2.APIVersionV2, Name: "funcs", Version: "0.1.0"},
		Templates: []*common.File{{Name: "templates/funcs.yaml", Data: []byte(`
{{- range $name, $doc := .Values.docs }}
# {{ $name }}
{{ fromYaml $doc | toYaml }}
{{ fromYaml $doc | toJson }}
{{- $m := fromYaml $doc }}{{ $_ := set $m "added" 1 }}
{{ toYaml $m }}
{{ fromYaml $doc | toYaml }}
{{- end }}
{{ toYaml .Values }}
{{ toYaml .Values.ints }}
{{ toYaml .Values.floats }}
{{ toYaml .Values.odd }}
{{ toYaml .Chart }}
{{ toYaml .Release.Name }}
{{ toYaml nil }}
{{ toYaml 3 }}
`)}},
	}
	vals := common.Values{"Values": values, "Chart": ch.Metadata, "Release": map[string]any{"Name": "r"}}
	render := func(e engine.Engine) string {
		t.Helper()
		out, err := e.Render(ch, vals)
		if err != nil {
			t.Fatal(err)
		}
		return out["funcs/templates/funcs.yaml"]
	}
	var called atomic.Bool
	want := render(engine.Engine{})
	got := render(engine.Engine{CustomTemplateFuncs: templateFuncs(context.Background(), nil, &called, map[string]*writtenObject{})})
	if n := strings.Count(want, "name: big"); n != 4 {
		t.Fatalf("Helm's output names the large document %d times, want 4", n)
	}
	for _, s := range []string{"kind: ConfigMap", "Error: ", "added: 1", "\"d\":31", "- 1e-07", "Version: 0.1.0"} {
		if !strings.Contains(want, s) {
			t.Fatalf("Helm's output lacks %q; the template does not test what it should:\n%s", s, want)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-Helm's functions +wookie's):\n%s", diff)
	}
}

// TestToYAMLObjectMemo renders a chart whose template writes an object
// with toYaml after comment lines: the object comes with the YAML memo
// toYaml made of it, and is written as MarshalYAML writes it without.
func TestToYAMLObjectMemo(t *testing.T) {
	doc := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: \"" + strings.Repeat("v ", 100) + "\"}\n"
	ch := &chartv2.Chart{
		Metadata:  &chartv2.Metadata{APIVersion: chartv2.APIVersionV2, Name: "memo", Version: "0.1.0"},
		Templates: []*common.File{{Name: "templates/cm.yaml", Data: []byte("{{- $o := fromYaml .Values.doc }}\n# a comment\n# another\n{{ toYaml $o }}\n---\n{{ toJson $o }}\n")}},
		Values:    map[string]any{"doc": doc},
	}
	caps := common.DefaultCapabilities.Copy()
	out, err := renderChart(context.Background(), ch, releaseSpec{name: "memo", namespace: "ns", values: map[string]any{}, caps: caps}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Objects) != 2 {
		t.Fatalf("%d objects, want 2", len(out.Objects))
	}
	if out.Objects[0].memo == nil {
		t.Error("the object toYaml wrote has no memo")
	}
	if out.Objects[1].memo != nil {
		t.Error("the object toJson wrote has a memo")
	}
	text, _, ok := objectYAML(fromYAML(doc))
	if !ok {
		t.Fatal("objectYAML refuses the ConfigMap")
	}
	parsed, err := parseDoc(text)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(parsed.Object, out.Objects[0].Object); diff != "" {
		t.Errorf("the object taken from toYaml differs from its text parsed (-parsed +taken):\n%s", diff)
	}
	out.Objects[0].SetLabels(map[string]string{"changed": "after the render"})
	got, err := MarshalYAML(out.Objects[:1])
	if err != nil {
		t.Fatal(err)
	}
	plain := &Object{Unstructured: out.Objects[0].Unstructured, Source: out.Objects[0].Source}
	want, err := MarshalYAML([]*Object{plain})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("(-without memo +with):\n%s", diff)
	}
}

// FuzzObjectYAML builds objects from the fuzzer's bytes and checks what
// toYaml relies on for an object: its text written field by field
// (objectYAML) is encodeYAML's of the whole, and where yamlRoundTrip
// gives a value, parsing that text gives the same value.
func FuzzObjectYAML(f *testing.F) {
	f.Add([]byte("\x05\x03ab\x00\x04\x02"))
	f.Add([]byte("\x05\x05\x07abc\x04\x01\x10\x00\x00\x00\x00\x00\x00\x00\x06\x02\x00\x03"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &valueGen{data: data}
		obj := map[string]any{"apiVersion": "v1", "kind": "Thing"}
		n := int(g.byte() % 5)
		for range n {
			obj[g.string()] = g.value(1)
		}
		text, _, ok := objectYAML(obj)
		if !ok {
			return
		}
		whole, err := encodeYAML(obj)
		if err != nil {
			t.Fatalf("objectYAML wrote what encodeYAML refuses: %v", err)
		}
		if text != strings.TrimSuffix(string(whole), "\n") && !encodesTo(obj, text) {
			t.Fatalf("objectYAML (-whole +field by field):\n%s", cmp.Diff(string(whole), text))
		}
		want, ok := yamlRoundTrip(obj, 0)
		if !ok {
			return
		}
		got, ok := decodeYAMLValue([]byte(text), numbersInt64)
		if !ok {
			got, ok = viaJSON([]byte(text), numbersInt64)
		}
		if !ok {
			t.Fatalf("the text of an object yamlRoundTrip takes does not parse:\n%s", text)
		}
		if !equalValues(got, want) {
			t.Fatalf("%q: (-yamlRoundTrip +parsed):\n%s", text, cmp.Diff(want, got))
		}
	})
}

// encodesTo says whether encodeYAML writes v as text in one of a few
// tries: go-yaml orders some odd keys differently from call to call.
func encodesTo(v any, text string) bool {
	for range 200 {
		if got, err := encodeYAML(v); err == nil && strings.TrimSuffix(string(got), "\n") == text {
			return true
		}
	}
	return false
}

// TestToYAMLAfterIndentedComment: a document that is toYaml's text of an
// object, indented under a comment line, is what its text parses to (an
// error), not the object toYaml noted.
func TestToYAMLAfterIndentedComment(t *testing.T) {
	obj := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "x"}}
	for _, indent := range []string{"  ", "\t"} {
		run := func(template string) error {
			ch := &chartv2.Chart{
				Metadata:  &chartv2.Metadata{APIVersion: chartv2.APIVersionV2, Name: "app", Version: "1.0.0"},
				Templates: []*common.File{{Name: "templates/cm.yaml", Data: []byte(template)}},
				Values:    map[string]any{"obj": obj},
			}
			_, err := renderChart(context.Background(), ch, releaseSpec{name: "app", namespace: "ns", values: map[string]any{}, caps: common.DefaultCapabilities.Copy()}, nil)
			return err
		}
		viaToYAML := run("# note\n" + indent + "{{ toYaml .Values.obj }}\n")
		viaText := run("# note\n" + indent + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
		if viaText == nil || viaToYAML == nil {
			t.Errorf("indent %q: toYaml's document: error %v; the same text: error %v; want both to fail", indent, viaToYAML, viaText)
		}
	}
}
