package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// header is the start of every test document.
const header = `{"apiVersion": "wookie.dev/v1alpha1", "kind": "Plan"`

// jsonPlan is a JSON plan of one cluster whose first batch holds bundle;
// bundle is the JSON of one bundle object.
func jsonPlan(bundle string) string {
	return `{
  "apiVersion": "wookie.dev/v1alpha1",
  "kind": "Plan",
  "clusters": [
    {
      "name": "wookie-local",
      "target": "k3d",
      "context": "k3d-wookie-local",
      "kubeVersion": "1.31.4",
      "batches": [
        {
          "name": "apps",
          "priority": 100,
          "bundles": [
` + bundle + `
          ]
        }
      ]
    }
  ]
}
`
}

// yamlPlan is the YAML form of jsonPlan; bundle is one YAML sequence entry
// indented by 6 spaces.
func yamlPlan(bundle string) string {
	return `apiVersion: wookie.dev/v1alpha1
kind: Plan
clusters:
  - name: wookie-local
    target: k3d
    context: k3d-wookie-local
    kubeVersion: 1.31.4
    batches:
      - name: apps
        priority: 100
        bundles:
` + bundle
}

func TestDecode(t *testing.T) {
	oneBundle := func(b Bundle) *Plan {
		return &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{{
			Name: "wookie-local", Target: "k3d", Context: "k3d-wookie-local", KubeVersion: "1.31.4",
			Batches: []Batch{{Name: "apps", Priority: 100, Bundles: []Bundle{b}}},
		}}}
	}
	podinfo := Bundle{Name: "podinfo", Namespace: "apps", DependsOn: []string{"db"},
		Labels: map[string]string{"wookie.dev/project": "demo"},
		Chart: &Chart{Repo: "oci://ghcr.io/stefanprodan/charts", Name: "podinfo", Version: "6.9.0",
			Values: Object{"replicaCount": json.Number("2"), "ratio": json.Number("1.50"), "big": json.Number("12345678901234567890"),
				"ui": map[string]any{"message": "<hi & bye>", "list": []any{json.Number("1"), "two", true, nil}}}}}
	tests := []struct {
		name string
		in   string
		want *Plan
	}{
		{
			name: "JSON",
			in: jsonPlan(`            {"name": "podinfo", "namespace": "apps", "dependsOn": ["db"],
             "labels": {"wookie.dev/project": "demo"},
             "chart": {"repo": "oci://ghcr.io/stefanprodan/charts", "name": "podinfo", "version": "6.9.0",
               "values": {"replicaCount": 2, "ratio": 1.50, "big": 12345678901234567890,
                          "ui": {"message": "<hi & bye>", "list": [1, "two", true, null]}}}}`),
			want: oneBundle(podinfo),
		},
		{
			name: "YAML",
			in: yamlPlan(`          - name: podinfo
            namespace: apps
            dependsOn: [db]
            labels: {wookie.dev/project: demo}
            chart:
              repo: oci://ghcr.io/stefanprodan/charts
              name: podinfo
              version: 6.9.0
              values:
                replicaCount: 2
                ratio: 1.50
                big: 12345678901234567890
                ui:
                  message: <hi & bye>
                  list: [1, two, true, null]
`),
			// YAML spells numbers its own way: 1.50 is the float 1.5.
			// Integers that fit 64 bits keep every digit.
			want: oneBundle(func() Bundle {
				b := podinfo
				c := *b.Chart
				c.Values = Object{"replicaCount": json.Number("2"), "ratio": json.Number("1.5"), "big": json.Number("12345678901234567890"),
					"ui": map[string]any{"message": "<hi & bye>", "list": []any{json.Number("1"), "two", true, nil}}}
				b.Chart = &c
				return b
			}()),
		},
		{
			name: "manifests accept any object",
			in:   jsonPlan(`{"name": "ns", "namespace": "apps", "manifests": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}, "x-anything": {"Name": 1}}]}`),
			want: oneBundle(Bundle{Name: "ns", Namespace: "apps", Manifests: []Object{{"apiVersion": "v1", "kind": "Namespace",
				"metadata": map[string]any{"name": "apps"}, "x-anything": map[string]any{"Name": json.Number("1")}}}}),
		},
		{
			name: "generated bundle, JSON",
			in:   jsonPlan(`{"name": "istio-cacerts", "namespace": "istio-system", "generate": {"istioCACerts": {"cluster": "east"}}}`),
			want: oneBundle(Bundle{Name: "istio-cacerts", Namespace: "istio-system",
				Generate: &Generate{IstioCACerts: &IstioCACerts{Cluster: "east"}}}),
		},
		{
			name: "generated and sensitive bundles, YAML",
			in: yamlPlan(`          - name: istio-cacerts
            namespace: istio-system
            generate:
              istioCACerts:
                cluster: east
          - name: remote-secrets
            namespace: istio-system
            sensitive: true
            manifests:
              - {apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {token: t}}
`),
			want: &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{{
				Name: "wookie-local", Target: "k3d", Context: "k3d-wookie-local", KubeVersion: "1.31.4",
				Batches: []Batch{{Name: "apps", Priority: 100, Bundles: []Bundle{
					{Name: "istio-cacerts", Namespace: "istio-system", Generate: &Generate{IstioCACerts: &IstioCACerts{Cluster: "east"}}},
					{Name: "remote-secrets", Namespace: "istio-system", Sensitive: true, Manifests: []Object{{"apiVersion": "v1", "kind": "Secret",
						"metadata": map[string]any{"name": "s"}, "stringData": map[string]any{"token": "t"}}}},
				}}},
			}}},
		},
		{
			name: "null for optional fields",
			in:   jsonPlan(`{"name": "x", "namespace": "apps", "chart": null, "manifests": null, "dependsOn": null, "labels": null}`),
			want: oneBundle(Bundle{Name: "x", Namespace: "apps"}),
		},
		{
			name: "YAML with leading document marker and trailing empty document",
			in:   "---\napiVersion: wookie.dev/v1alpha1\nkind: Plan\n---\n",
			want: &Plan{APIVersion: APIVersion, Kind: Kind},
		},
		{
			name: "JSON after white space",
			in:   "\n\t " + header + `, "clusters": []}` + "\n\n",
			want: &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.in), "plan")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		source string
		in     string
		want   string
	}{
		{
			name:   "unknown field, JSON",
			source: "plan.json",
			in:     jsonPlan(`            {"name": "istiod", "namespace": "istio-system",` + "\n" + `             "dependson": ["istio-base"]}`),
			want:   `plan.json:16:14: unknown field "dependson" in clusters[0].batches[0].bundles[0]`,
		},
		{
			name:   "unknown field, YAML",
			source: "plan.yaml",
			in:     yamlPlan("          - name: istiod\n            namespace: istio-system\n            dependson: [istio-base]\n"),
			want:   `plan.yaml: unknown field "dependson" in clusters[0].batches[0].bundles[0]`,
		},
		{
			name:   "field names are case-sensitive",
			source: "plan.json",
			in:     jsonPlan(`{"Name": "istiod"}`),
			want:   `plan.json:15:2: unknown field "Name" in clusters[0].batches[0].bundles[0]`,
		},
		{
			name:   "unknown field at top level",
			source: "plan.json",
			in:     header + `, "metadata": {}}`,
			want:   `plan.json:1:55: unknown field "metadata" at top level`,
		},
		{
			name:   "unknown field in chart",
			source: "plan.json",
			in:     jsonPlan(`{"name": "x", "chart": {"repo": "./c", "name": "c", "valuesFiles": []}}`),
			want:   `plan.json:15:53: unknown field "valuesFiles" in clusters[0].batches[0].bundles[0].chart`,
		},
		{
			name:   "unknown field in generate",
			source: "plan.json",
			in:     jsonPlan(`{"name": "x", "generate": {"istioCaCerts": {"cluster": "east"}}}`),
			want:   `plan.json:15:28: unknown field "istioCaCerts" in clusters[0].batches[0].bundles[0].generate`,
		},
		{
			name:   "sensitive not a boolean",
			source: "plan.json",
			in:     jsonPlan(`{"name": "x", "sensitive": "yes"}`),
			want:   `plan.json:15:28: clusters[0].batches[0].bundles[0].sensitive: expected boolean, found string`,
		},
		{
			name:   "duplicate field, JSON",
			source: "plan.json",
			in:     header + `, "kind": "Plan"}`,
			want:   `plan.json:1:55: duplicate field "kind" at top level`,
		},
		{
			name:   "duplicate field, YAML",
			source: "plan.yaml",
			in:     "apiVersion: wookie.dev/v1alpha1\nkind: Plan\nkind: Plan\n",
			want:   `plan.yaml:3: key "kind" already set in map`,
		},
		{
			name:   "wrong apiVersion, JSON",
			source: "plan.json",
			in:     "{\n  \"apiVersion\": \"wookie.dev/v1\",\n  \"kind\": \"Plan\"\n}\n",
			want:   `plan.json:2:17: apiVersion: found "wookie.dev/v1", expected "wookie.dev/v1alpha1"`,
		},
		{
			name:   "wrong apiVersion, YAML",
			source: "plan.yaml",
			in:     "apiVersion: v1\nkind: Plan\n",
			want:   `plan.yaml: apiVersion: found "v1", expected "wookie.dev/v1alpha1"`,
		},
		{
			name:   "missing apiVersion",
			source: "plan.json",
			in:     `{"kind": "Plan"}`,
			want:   `plan.json: apiVersion: missing, expected "wookie.dev/v1alpha1"`,
		},
		{
			name:   "wrong kind",
			source: "plan.json",
			in:     `{"apiVersion": "wookie.dev/v1alpha1", "kind": "Deployment"}`,
			want:   `plan.json:1:47: kind: found "Deployment", expected "Plan"`,
		},
		{
			name:   "wrong kind explains unknown fields",
			source: "deploy.yaml",
			in:     "apiVersion: wookie.dev/v1alpha1\nkind: Deployment\nspec:\n  replicas: 1\n",
			want:   `deploy.yaml: kind: found "Deployment", expected "Plan"`,
		},
		{
			name:   "apiVersion not a string",
			source: "plan.json",
			in:     `{"apiVersion": 1, "kind": "Plan"}`,
			want:   `plan.json:1:16: apiVersion: found number, expected "wookie.dev/v1alpha1"`,
		},
		{
			name:   "trailing data, JSON",
			source: "plan.json",
			in:     header + "}\n{}\n",
			want:   `plan.json:2:1: trailing data after the document`,
		},
		{
			name:   "trailing garbage, JSON",
			source: "plan.json",
			in:     header + "} x",
			want:   `plan.json:1:55: trailing data after the document`,
		},
		{
			name:   "second document, YAML",
			source: "plan.yaml",
			in:     "apiVersion: wookie.dev/v1alpha1\nkind: Plan\n---\napiVersion: wookie.dev/v1alpha1\nkind: Plan\n",
			want:   `plan.yaml: trailing data after the document: a second YAML document`,
		},
		{
			name:   "empty input",
			source: "plan.json",
			in:     "",
			want:   `plan.json: empty document`,
		},
		{
			name:   "white space only",
			source: "plan.yaml",
			in:     " \n\t\n",
			want:   `plan.yaml: empty document`,
		},
		{
			name:   "comment only",
			source: "plan.yaml",
			in:     "# nothing here\n",
			want:   `plan.yaml: empty document`,
		},
		{
			name:   "list where a manifest object belongs",
			source: "plan.json",
			in:     jsonPlan(`{"name": "ns", "namespace": "apps", "manifests": [[{"apiVersion": "v1"}]]}`),
			want:   `plan.json:15:51: clusters[0].batches[0].bundles[0].manifests[0]: expected object, found array`,
		},
		{
			name:   "list where a manifest object belongs, YAML",
			source: "plan.yaml",
			in:     yamlPlan("          - name: ns\n            namespace: apps\n            manifests:\n              - - apiVersion: v1\n"),
			want:   `plan.yaml: clusters[0].batches[0].bundles[0].manifests[0]: expected object, found array`,
		},
		{
			name:   "null manifest",
			source: "plan.json",
			in:     jsonPlan(`{"name": "ns", "manifests": [{"kind": "A"}, null]}`),
			want:   `plan.json:15:45: clusters[0].batches[0].bundles[0].manifests[1]: expected object, found null`,
		},
		{
			name:   "object where the manifests list belongs",
			source: "plan.json",
			in:     jsonPlan(`{"name": "ns", "manifests": {"apiVersion": "v1"}}`),
			want:   `plan.json:15:29: clusters[0].batches[0].bundles[0].manifests: expected array, found object`,
		},
		{
			name:   "priority not an integer",
			source: "plan.yaml",
			in:     "apiVersion: wookie.dev/v1alpha1\nkind: Plan\nclusters:\n  - name: a\n    batches:\n      - name: b\n        priority: 1.5\n",
			want:   `plan.yaml: clusters[0].batches[0].priority: expected integer, found number 1.5`,
		},
		{
			name:   "name not a string",
			source: "plan.json",
			in:     header + `, "clusters": [{"name": 7}]}`,
			want:   `plan.json:1:77: clusters[0].name: expected string, found number`,
		},
		{
			name:   "name null",
			source: "plan.json",
			in:     header + `, "clusters": [{"name": null}]}`,
			want:   `plan.json:1:77: clusters[0].name: expected string, found null`,
		},
		{
			name:   "label value not a string",
			source: "plan.json",
			in:     jsonPlan(`{"name": "x", "labels": {"wookie.dev/tier": 1}}`),
			want:   `plan.json:15:45: clusters[0].batches[0].bundles[0].labels["wookie.dev/tier"]: expected string, found number`,
		},
		{
			name:   "document is a list",
			source: "plan.yaml",
			in:     "- apiVersion: wookie.dev/v1alpha1\n",
			want:   `plan.yaml: document must be an object, found array`,
		},
		{
			name:   "document is a string",
			source: "plan.yaml",
			in:     "hello\n",
			want:   `plan.yaml: document must be an object, found string`,
		},
		{
			name:   "JSON syntax error",
			source: "plan.json",
			in:     "{\n  \"apiVersion\": \"wookie.dev/v1alpha1\",\n  \"kind\" \"Plan\"\n}\n",
			want:   `plan.json:3:10: invalid character '"' after object key`,
		},
		{
			name:   "JSON cut short",
			source: "plan.json",
			in:     header + `, "clusters": [`,
			want:   `plan.json:1:68: unexpected end of input`,
		},
		{
			name:   "YAML syntax error",
			source: "plan.yaml",
			in:     "apiVersion: wookie.dev/v1alpha1\nkind: Plan\nclusters:\n  - name: a\n   target: [\n",
			want:   `plan.yaml:4: did not find expected '-' indicator`,
		},
		{
			name:   "YAML value JSON cannot hold",
			source: "plan.yaml",
			in:     yamlPlan("          - name: x\n            chart: {values: {ratio: .nan}}\n"),
			want:   `plan.yaml: convert YAML to JSON: json: unsupported value: NaN`,
		},
		{
			name:   "garbage bytes",
			source: "plan.bin",
			in:     "\x00\x01\xfe\xff garbage",
			want:   `plan.bin: control characters are not allowed`,
		},
		{
			name:   "nesting too deep, JSON",
			source: "plan.json",
			in:     jsonPlan(`{"name": "x", "chart": {"values": {"a": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}}}`),
			want:   `plan.json:15:10033: document nested deeper than 10000 levels`,
		},
		{
			name:   "nesting too deep, YAML",
			source: "plan.yaml",
			in:     "a: " + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + "\n",
			want:   `plan.yaml: exceeded max depth of 10000`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode([]byte(tt.in), tt.source)
			if err == nil {
				t.Fatalf("Decode succeeded, want error %q; got %+v", tt.want, p)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("Decode error (-want +got):\n%s", diff)
			}
			if p != nil {
				t.Errorf("Decode returned a plan with the error")
			}
		})
	}
}
