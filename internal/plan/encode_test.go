package plan

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden decodes and normalizes a realistic plan given in shuffled
// order and compares its encodings with the golden files.
func TestGolden(t *testing.T) {
	const input = "testdata/realistic.input.yaml"
	data, err := os.ReadFile(input)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Decode(data, input)
	if err != nil {
		t.Fatal(err)
	}
	if err := Normalize(p); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		golden string
		encode func(*Plan) ([]byte, error)
	}{
		{"testdata/realistic.golden.json", EncodeJSON},
		{"testdata/realistic.golden.yaml", EncodeYAML},
	} {
		t.Run(filepath.Base(tt.golden), func(t *testing.T) {
			got, err := tt.encode(p)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(tt.golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(tt.golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.golden, diff)
			}
			// The golden file decodes to the same plan, which is normalized
			// already.
			back, err := Decode(want, tt.golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, back); diff != "" {
				t.Errorf("Decode(%s) (-want +got):\n%s", tt.golden, diff)
			}
			if err := Normalize(back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, back); diff != "" {
				t.Errorf("Normalize changed the decoded golden plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeJSON(t *testing.T) {
	tests := []struct {
		name string
		in   *Plan
		want string
	}{
		{
			name: "empty plan",
			in:   &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{}},
			want: `{
  "apiVersion": "wookie.dev/v1alpha1",
  "kind": "Plan",
  "clusters": []
}
`,
		},
		{
			name: "empty lists, map keys sorted, no HTML escaping, numbers as given",
			in: &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{{
				Name: "c", Target: "t", Context: "x", KubeVersion: "1.31.4", Batches: []Batch{{Name: "b", Bundles: []Bundle{}}, {Name: "d", Bundles: []Bundle{{
					Name: "u", Namespace: "n", Labels: map[string]string{"z": "1", "a": "2"},
					Chart: &Chart{Repo: "./c", Name: "c", Values: Object{"html": "<a href='x'>&</a>", "b": json.Number("1.0"), "a": json.Number("1e3")}},
				}}}},
			}}},
			want: `{
  "apiVersion": "wookie.dev/v1alpha1",
  "kind": "Plan",
  "clusters": [
    {
      "name": "c",
      "target": "t",
      "context": "x",
      "kubeVersion": "1.31.4",
      "batches": [
        {
          "name": "b",
          "priority": 0,
          "bundles": []
        },
        {
          "name": "d",
          "priority": 0,
          "bundles": [
            {
              "name": "u",
              "namespace": "n",
              "chart": {
                "repo": "./c",
                "name": "c",
                "values": {
                  "a": 1e3,
                  "b": 1.0,
                  "html": "<a href='x'>&</a>"
                }
              },
              "labels": {
                "a": "2",
                "z": "1"
              }
            }
          ]
        }
      ]
    }
  ]
}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeJSON(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("EncodeJSON (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEncodeYAML(t *testing.T) {
	p := &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{{
		Name: "c", Target: "t", Context: "x", KubeVersion: "1.31.4", Batches: []Batch{{Name: "b", Priority: -5, Bundles: []Bundle{{
			Name: "u", Namespace: "n",
			Chart: &Chart{Repo: "./c", Name: "c", Version: "1.0", Values: Object{"on": "yes", "n": json.Number("10"), "list": []any{}}},
		}}}},
	}}}
	want := `apiVersion: wookie.dev/v1alpha1
clusters:
- batches:
  - bundles:
    - chart:
        name: c
        repo: ./c
        values:
          list: []
          "n": 10
          "on": "yes"
        version: "1.0"
      name: u
      namespace: "n"
    name: b
    priority: -5
  context: x
  kubeVersion: 1.31.4
  name: c
  target: t
kind: Plan
`
	got, err := EncodeYAML(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("EncodeYAML (-want +got):\n%s", diff)
	}
	back, err := Decode(got, "plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, back); diff != "" {
		t.Errorf("Decode(EncodeYAML(p)) (-want +got):\n%s", diff)
	}
}

// TestEncodeYAMLAwkwardStrings checks strings that YAML writes in special
// ways: they read back unchanged.
func TestEncodeYAMLAwkwardStrings(t *testing.T) {
	values := Object{
		strings.Repeat("k", 2000): "a key longer than YAML's 1024-character limit for simple keys",
		"control":                 "a\nb\n  c\t\x01\x7f",
		"separators":              "\u2028\u2029\ufeff",
		"long":                    strings.Repeat("word ", 100),
		"look-alikes":             []any{"yes", "No", "on", "~", "null", "1.0", "012", "0x1F", "1e3", ".inf", "2001-12-14", "- a", "a: b", "#c", "'q'", `"d"`, "", " ", "*x", "&y", "!t", "%p", "@r", "`b"},
	}
	p := &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{{
		Name: "c", Target: "t", Context: "x", KubeVersion: "1.31.4", Batches: []Batch{{Name: "b", Bundles: []Bundle{{
			Name: "u", Namespace: "n", Chart: &Chart{Repo: "./c", Name: "c", Values: values},
		}}}},
	}}}
	y, err := EncodeYAML(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(y, "plan.yaml")
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if diff := cmp.Diff(p, back); diff != "" {
		t.Errorf("Decode(EncodeYAML(p)) (-want +got):\n%s", diff)
	}
}

// TestRoundTripNumbers checks that the JSON form keeps the spelling of every
// number, and that YAML keeps integers.
func TestRoundTripNumbers(t *testing.T) {
	values := Object{"int": json.Number("42"), "neg": json.Number("-7"), "big": json.Number("123456789012345678901234567890"),
		"float": json.Number("1.50"), "exp": json.Number("1e-3"), "zero": json.Number("-0")}
	p := &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{{
		Name: "c", Target: "t", Context: "x", KubeVersion: "1.31.4", Batches: []Batch{{Name: "b", Bundles: []Bundle{{
			Name: "u", Namespace: "n", Chart: &Chart{Repo: "./c", Name: "c", Values: values},
		}}}},
	}}}
	js, err := EncodeJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(js, "plan.json")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, back); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}

	y, err := EncodeYAML(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err = Decode(y, "plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := Object{"int": json.Number("42"), "neg": json.Number("-7"), "big": json.Number("1.2345678901234568e+29"),
		"float": json.Number("1.5"), "exp": json.Number("0.001"), "zero": json.Number("0")}
	if diff := cmp.Diff(want, back.Clusters[0].Batches[0].Bundles[0].Chart.Values); diff != "" {
		t.Errorf("YAML round trip of numbers (-want +got):\n%s", diff)
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		encode func(*Plan) ([]byte, error)
		in     *Plan
		want   string
	}{
		{"nil plan, JSON", EncodeJSON, nil, "encode plan: no plan (nil)"},
		{"nil plan, YAML", EncodeYAML, nil, "encode plan: no plan (nil)"},
		{
			name:   "value JSON cannot hold",
			encode: EncodeJSON,
			in: &Plan{Clusters: []Cluster{{Batches: []Batch{{Bundles: []Bundle{{
				Chart: &Chart{Values: Object{"x": math.Inf(1)}},
			}}}}}}},
			want: "encode plan: json: unsupported value: +Inf",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.encode(tt.in)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}
