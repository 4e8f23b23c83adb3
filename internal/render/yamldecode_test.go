package render

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// viaJSON is what decodeYAMLValue stands in for: sigs.k8s.io/yaml's
// YAML-to-JSON conversion, then the JSON decoded with nums. ok is false
// where that path fails.
func viaJSON(data []byte, nums jsonNumbers) (any, bool) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, false
	}
	var v any
	if nums == numbersInt64 {
		err = utiljson.Unmarshal(js, &v)
	} else {
		err = json.Unmarshal(js, &v)
	}
	return v, err == nil
}

// equalValues compares decoded values exactly: types, and numbers to
// the bit, the sign of zero included.
func equalValues(a, b any) bool {
	return cmp.Equal(a, b, cmp.Comparer(func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }))
}

func TestDecodeYAMLValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		// fallback: decodeYAMLValue leaves the document to the JSON path.
		fallback bool
	}{
		{name: "object", yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n"},
		{name: "numbers", yaml: "a: 1\nb: -2\nc: 1.5\nd: 1.0\ne: 1e3\nf: 9223372036854775807\ng: 9223372036854775808\nh: 18446744073709551615\ni: 1e20\nj: 1e21\nk: 0.0000001\nl: -0.0\nm: 0x1F\nn: 017\no: 1152921504606846976.0\n"},
		{name: "booleans and nulls", yaml: "a: yes\nb: off\nc: ~\nd: null\ne: true\nf: \"true\"\n"},
		{name: "non-string keys", yaml: "1: a\n2.5: b\ntrue: c\n0x10: d\n"},
		{name: "list", yaml: "- a\n- 1\n- {b: [c, 2.0]}\n"},
		{name: "scalar", yaml: "just text"},
		{name: "empty", yaml: ""},
		{name: "anchors and merge", yaml: "base: &b {x: 1, y: 2}\nderived:\n  <<: *b\n  y: 3\n"},
		{name: "timestamp stays a string", yaml: "t: 2001-12-14t21:59:43.10-05:00\nd: 2002-12-14\n"},
		{name: "binary", yaml: "b: !!binary aGVsbG8=\n"},
		{name: "multi-line strings", yaml: "a: |\n  line one\n  line two\nb: >\n  folded\n  text\n"},
		{name: "keys alike as strings", yaml: "1: a\n\"1\": b\n", fallback: true},
		{name: "null key", yaml: "~: a\n", fallback: true},
		{name: "invalid UTF-8", yaml: "a: !!binary /w==\n", fallback: true},
		{name: "infinity", yaml: "a: .inf\n", fallback: true},
		{name: "NaN", yaml: "a: .nan\n", fallback: true},
		{name: "not YAML", yaml: "a: [b\n", fallback: true},
		{name: "deep", yaml: strings.Repeat("[", 1200) + strings.Repeat("]", 1200), fallback: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, nums := range []jsonNumbers{numbersFloat64, numbersInt64} {
				got, ok := decodeYAMLValue([]byte(tc.yaml), nums)
				if ok == tc.fallback {
					t.Fatalf("nums %d: ok %v, want %v", nums, ok, !tc.fallback)
				}
				if !ok {
					continue
				}
				want, wantOK := viaJSON([]byte(tc.yaml), nums)
				if !wantOK {
					t.Fatalf("nums %d: decodeYAMLValue decoded what the JSON path refuses", nums)
				}
				if !equalValues(got, want) {
					t.Errorf("nums %d: (-via JSON +decodeYAMLValue):\n%s", nums, cmp.Diff(want, got))
				}
			}
		})
	}
}

// FuzzDecodeYAMLValue checks decodeYAMLValue against the JSON path it
// stands in for, in both number modes: wherever it decodes, the values
// are the same, types and bits of numbers included.
func FuzzDecodeYAMLValue(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {x: \"1\"}}\ndata: {k: v}\n",
		"a: 1\nb: 1.5\nc: 1e21\nd: 0x1F\ne: 017\nf: 1.\ng: -0.0\nh: 18446744073709551615\n",
		"- 1\n- [2, {3: 4}]\n- yes\n- ~\n",
		"k: &a [1, 2]\nl: *a\nm: {<<: {x: 1}, y: 2}\n",
		"2.5: a\ntrue: b\n1e3: c\n",
		"t: 2001-12-14t21:59:43.10-05:00\nb: !!binary aGVsbG8=\n",
		"s: \"\\u00e9\\t\\u2028\"\nq: 'it''s'\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<14 {
			return
		}
		for _, nums := range []jsonNumbers{numbersFloat64, numbersInt64} {
			got, ok := decodeYAMLValue(data, nums)
			if !ok {
				continue
			}
			want, wantOK := viaJSON(data, nums)
			if !wantOK {
				t.Fatalf("nums %d: decoded %q, which the JSON path refuses", nums, data)
			}
			if !equalValues(got, want) {
				t.Fatalf("nums %d: %q (-via JSON +decodeYAMLValue):\n%s", nums, data, cmp.Diff(want, got))
			}
		}
	})
}

// BenchmarkDecodeYAML decodes the CRDs of rendertest's largest chart
// output both ways.
func BenchmarkDecodeYAML(b *testing.B) {
	var doc bytes.Buffer
	doc.WriteString("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: things.example.com\nspec:\n  versions:\n")
	for i := range 200 {
		doc.WriteString("  - name: v")
		doc.WriteString(strings.Repeat("x", i%7))
		doc.WriteString("\n    served: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec: {type: object, description: \"a long description of the field that goes on\", maxLength: 253}\n")
	}
	data := doc.Bytes()
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if _, ok := viaJSON(data, numbersInt64); !ok {
				b.Fatal("not decoded")
			}
		}
	})
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			if _, ok := decodeYAMLValue(data, numbersInt64); !ok {
				b.Fatal("not decoded")
			}
		}
	})
}
