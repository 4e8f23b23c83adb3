package plan

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// linkedPlan returns a valid Plan of clusters hub and spoke: spoke reads
// input hub-address from a Service of hub and uses it in a ConfigMap.
func linkedPlan() *Plan {
	cluster := func(name string, bundles ...Bundle) Cluster {
		return Cluster{Name: name, Target: "kubeconfig", Context: name, KubeVersion: "1.31.4",
			Batches: []Batch{{Name: "services", Bundles: bundles}}}
	}
	spoke := cluster("spoke", Bundle{Name: "app", Namespace: "app", Manifests: []Object{{
		"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "app"},
		"data": map[string]any{"url": "https://" + InputRef("hub-address") + ":6443"},
	}}})
	spoke.Inputs = []Input{{Name: "hub-address", From: InputSource{
		Cluster: "hub", APIVersion: "v1", Kind: "Service", Namespace: "gw", Name: "gw",
		Expression: "status.loadBalancer.ingress[0].ip",
	}}}
	return &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{
		cluster("hub", manifestBundle("gw", "gw")), spoke,
	}}
}

func TestInputValidation(t *testing.T) {
	// In mutate, p.Clusters[0] is hub and p.Clusters[1] spoke; in is
	// spoke's input hub-address and app its bundle.
	tests := []struct {
		name   string
		mutate func(p *Plan, in *Input, app *Bundle)
		want   Errors
	}{
		{
			name:   "valid",
			mutate: func(*Plan, *Input, *Bundle) {},
		},
		{
			name: "every field, several references, dependsOn as well",
			mutate: func(p *Plan, in *Input, app *Bundle) {
				in.From.Timeout = "90s"
				p.Clusters[1].DependsOn = []string{"hub"}
				p.Clusters[1].Inputs = append(p.Clusters[1].Inputs, Input{Name: "token", From: InputSource{
					Cluster: "hub", APIVersion: "v1", Kind: "Secret", Namespace: "gw", Name: "token",
					Expression: "string(base64.decode(data.token))"}})
				app.Manifests[0]["data"] = map[string]any{"both": "((input hub-address))/((input token))", "list": []any{"((input token))"}}
			},
		},
		{
			name: "chart values",
			mutate: func(p *Plan, in *Input, app *Bundle) {
				*app = chartBundle("app", "app")
				app.Chart.Values = Object{"gateway": map[string]any{"address": "((input hub-address))", "other": "((input nope))"}}
			},
			want: Errors{{Cluster: "spoke", Batch: "services", Bundle: "app", Field: "chart.values.gateway.other", Msg: `input "nope" is not declared in the cluster's inputs`}},
		},
		{
			name: "reference to an undeclared input",
			mutate: func(p *Plan, in *Input, app *Bundle) {
				app.Manifests[0]["data"] = map[string]any{"url": "((input hub-addr))", "list": []any{"a", "x((input other))y"}}
			},
			want: Errors{
				{Cluster: "spoke", Batch: "services", Bundle: "app", Field: "manifests[0].data.list[1]", Msg: `input "other" is not declared in the cluster's inputs`},
				{Cluster: "spoke", Batch: "services", Bundle: "app", Field: "manifests[0].data.url", Msg: `input "hub-addr" is not declared in the cluster's inputs`},
			},
		},
		{
			name: "reference in a cluster without inputs",
			mutate: func(p *Plan, in *Input, app *Bundle) {
				p.Clusters[0].Batches[0].Bundles[0].Manifests[0]["data"] = map[string]any{"a": "((input hub-address))"}
			},
			want: Errors{{Cluster: "hub", Batch: "services", Bundle: "gw", Field: "manifests[0].data.a", Msg: `input "hub-address" is not declared in the cluster's inputs`}},
		},
		{
			name: "malformed references and one in a key",
			mutate: func(p *Plan, in *Input, app *Bundle) {
				app.Manifests[0]["data"] = map[string]any{
					"a": "(( input hub-address))", "b": "((input Hub))", "c": "((input hub-address)", "d": "((input))",
					"((input hub-address))": "x", "e": "((inputs are fine)) and (( so is this",
				}
			},
			want: Errors{
				{Cluster: "spoke", Batch: "services", Bundle: "app", Field: "manifests[0].data.a", Msg: malformedRef("(( input hub-address))")},
				{Cluster: "spoke", Batch: "services", Bundle: "app", Field: "manifests[0].data.b", Msg: malformedRef("((input Hub))")},
				{Cluster: "spoke", Batch: "services", Bundle: "app", Field: "manifests[0].data.c", Msg: malformedRef("((input hub-address)")},
				{Cluster: "spoke", Batch: "services", Bundle: "app", Field: "manifests[0].data.d", Msg: malformedRef("((input))")},
				{Cluster: "spoke", Batch: "services", Bundle: "app", Field: `manifests[0].data["((input hub-address))"]`, Msg: `key "((input hub-address))": input references are replaced in values only, not in keys`},
			},
		},
		{
			name:   "input name not a label",
			mutate: func(p *Plan, in *Input, app *Bundle) { in.Name = "Hub_Address" },
			want: Errors{
				{Cluster: "spoke", Field: "inputs[0].name", Msg: notLabel("Hub_Address")},
				{Cluster: "spoke", Batch: "services", Bundle: "app", Field: "manifests[0].data.url", Msg: `input "hub-address" is not declared in the cluster's inputs`},
			},
		},
		{
			name: "input name twice",
			mutate: func(p *Plan, in *Input, app *Bundle) {
				p.Clusters[1].Inputs = append(p.Clusters[1].Inputs, *in, *in)
			},
			want: Errors{{Cluster: "spoke", Field: "inputs", Msg: `name "hub-address" used by 3 inputs`}},
		},
		{
			name:   "from nothing",
			mutate: func(p *Plan, in *Input, app *Bundle) { in.From = InputSource{} },
			want: Errors{
				{Cluster: "spoke", Field: "inputs[0].from.apiVersion", Msg: "required"},
				{Cluster: "spoke", Field: "inputs[0].from.cluster", Msg: "required"},
				{Cluster: "spoke", Field: "inputs[0].from.expression", Msg: "required: a CEL expression over the object that yields the value as a string"},
				{Cluster: "spoke", Field: "inputs[0].from.kind", Msg: "required"},
				{Cluster: "spoke", Field: "inputs[0].from.name", Msg: "required"},
			},
		},
		{
			name:   "from its own cluster",
			mutate: func(p *Plan, in *Input, app *Bundle) { in.From.Cluster = "spoke" },
			want:   Errors{{Cluster: "spoke", Field: "inputs[0].from.cluster", Msg: `"spoke" is the input's own cluster: an input is read from another cluster of the Plan`}},
		},
		{
			name:   "from a cluster not in the Plan",
			mutate: func(p *Plan, in *Input, app *Bundle) { in.From.Cluster = "nope" },
			want:   Errors{{Cluster: "spoke", Field: "inputs[0].from.cluster", Msg: `no cluster "nope" in the Plan`}},
		},
		{
			name:   "namespace not a label, timeout not a duration",
			mutate: func(p *Plan, in *Input, app *Bundle) { in.From.Namespace, in.From.Timeout = "GW", "5 minutes" },
			want: Errors{
				{Cluster: "spoke", Field: "inputs[0].from.namespace", Msg: notLabel("GW")},
				{Cluster: "spoke", Field: "inputs[0].from.timeout", Msg: `"5 minutes" is not a positive duration such as 5m or 90s`},
			},
		},
		{
			name:   "timeout not positive",
			mutate: func(p *Plan, in *Input, app *Bundle) { in.From.Timeout = "0s" },
			want:   Errors{{Cluster: "spoke", Field: "inputs[0].from.timeout", Msg: `"0s" is not a positive duration such as 5m or 90s`}},
		},
		{
			name:   "expression syntax error",
			mutate: func(p *Plan, in *Input, app *Bundle) { in.From.Expression = "status.loadBalancer.ingress[0" },
			want: Errors{{Cluster: "spoke", Field: "inputs[0].from.expression",
				Msg: `"status.loadBalancer.ingress[0": 1:30: Syntax error: missing ']' at '<EOF>'`}},
		},
		{
			name:   "expression with an unknown function",
			mutate: func(p *Plan, in *Input, app *Bundle) { in.From.Expression = "decode(data.token)" },
			want: Errors{{Cluster: "spoke", Field: "inputs[0].from.expression",
				Msg: `"decode(data.token)": 1:7: undeclared reference to 'decode'`}},
		},
		{
			name:   "expression that is no string",
			mutate: func(p *Plan, in *Input, app *Bundle) { in.From.Expression = "size(status.loadBalancer.ingress)" },
			want: Errors{{Cluster: "spoke", Field: "inputs[0].from.expression",
				Msg: `"size(status.loadBalancer.ingress)": yields int, not a string: convert it with string(...)`}},
		},
		{
			name:   "expression yielding bytes",
			mutate: func(p *Plan, in *Input, app *Bundle) { in.From.Expression = "base64.decode(data.token)" },
			want: Errors{{Cluster: "spoke", Field: "inputs[0].from.expression",
				Msg: `"base64.decode(data.token)": yields bytes, not a string: convert it with string(...)`}},
		},
		{
			name: "dependsOn entries",
			mutate: func(p *Plan, in *Input, app *Bundle) {
				p.Clusters[1].DependsOn = []string{"hub", "", "nope", "hub", "hub"}
			},
			want: Errors{
				{Cluster: "spoke", Field: "dependsOn", Msg: `duplicate entry "hub"`},
				{Cluster: "spoke", Field: "dependsOn", Msg: `empty entry`},
				{Cluster: "spoke", Field: "dependsOn", Msg: `no cluster "nope" in the Plan`},
			},
		},
		{
			name:   "dependsOn itself",
			mutate: func(p *Plan, in *Input, app *Bundle) { p.Clusters[0].DependsOn = []string{"hub"} },
			want:   Errors{{Cluster: "hub", Msg: "dependsOn cycle: hub -> hub"}},
		},
		{
			// Deploy orders inputs batch by batch, and finds there whether
			// the batches wait for each other.
			name:   "a cycle through an input is no Plan error",
			mutate: func(p *Plan, in *Input, app *Bundle) { p.Clusters[0].DependsOn = []string{"spoke"} },
		},
		{
			// A multi-primary mesh: each cluster's remote-secrets bundle,
			// in its services batch, reads the token Secret the other
			// cluster makes in its namespaces batch.
			name: "clusters reading each other's inputs",
			mutate: func(p *Plan, in *Input, app *Bundle) {
				for i, other := range []string{"spoke", "hub"} {
					c := &p.Clusters[i]
					c.Inputs = []Input{{Name: other + "-token", From: InputSource{
						Cluster: other, APIVersion: "v1", Kind: "Secret", Namespace: "istio-system", Name: "reader-token",
						Expression: "string(base64.decode(data.token))"}}}
					token := manifestBundle("reader-token", "istio-system")
					secrets := manifestBundle("istio-remote-secrets", "istio-system")
					secrets.Manifests[0]["data"] = map[string]any{"token": InputRef(other + "-token")}
					c.Batches = []Batch{
						{Name: "namespaces", Priority: 200, Bundles: []Bundle{token}},
						{Name: "services", Priority: 500, Bundles: []Bundle{secrets}},
					}
				}
			},
		},
		{
			name: "cycle of three, reported once from the smallest name",
			mutate: func(p *Plan, in *Input, app *Bundle) {
				p.Clusters = append(p.Clusters, Cluster{Name: "edge", Target: "kubeconfig", Context: "edge", KubeVersion: "1.31.4", DependsOn: []string{"spoke"}})
				p.Clusters[0].DependsOn = []string{"edge"}
				p.Clusters[1].DependsOn = []string{"hub"}
			},
			want: Errors{{Cluster: "edge", Msg: "dependsOn cycle: edge -> spoke -> hub -> edge"}},
		},
		{
			name: "a dependency on a cluster without a name is not followed",
			mutate: func(p *Plan, in *Input, app *Bundle) {
				p.Clusters[0].Name = ""
				p.Clusters[0].DependsOn = []string{"spoke"}
			},
			want: Errors{
				{Cluster: "#0", Field: "name", Msg: "required"},
				{Cluster: "spoke", Field: "inputs[0].from.cluster", Msg: `no cluster "hub" in the Plan`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := linkedPlan()
			tt.mutate(p, &p.Clusters[1].Inputs[0], &p.Clusters[1].Batches[0].Bundles[0])
			err := Normalize(p)
			var got Errors
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("Normalize returned %T, want Errors: %v", err, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Normalize errors (-want +got):\n%s", diff)
			}
		})
	}
}

// Normalize sorts a cluster's dependsOn and inputs, drops empty lists, and
// the canonical JSON survives Decode unchanged.
func TestInputsCanonical(t *testing.T) {
	p := linkedPlan()
	spoke := &p.Clusters[1]
	spoke.DependsOn = []string{"hub", "edge"}
	spoke.Inputs = append([]Input{{Name: "token", From: InputSource{Cluster: "hub", APIVersion: "v1", Kind: "Secret", Name: "t", Expression: "data.t"}}}, spoke.Inputs...)
	p.Clusters = append(p.Clusters, Cluster{Name: "edge", Target: "kubeconfig", Context: "edge", KubeVersion: "1.31.4", DependsOn: []string{}, Inputs: []Input{}})
	if err := Normalize(p); err != nil {
		t.Fatal(err)
	}
	type links struct {
		DependsOn []string
		Inputs    []string
	}
	var got []links
	for _, c := range p.Clusters {
		got = append(got, links{c.DependsOn, InputNames(&c)})
	}
	want := []links{{Inputs: []string{}}, {Inputs: []string{}}, {DependsOn: []string{"edge", "hub"}, Inputs: []string{"hub-address", "token"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("dependsOn and inputs of edge, hub, spoke (-want +got):\n%s", diff)
	}
	if p.Clusters[0].DependsOn != nil || p.Clusters[0].Inputs != nil {
		t.Errorf("empty lists are not nil: %#v %#v", p.Clusters[0].DependsOn, p.Clusters[0].Inputs)
	}
	js, err := EncodeJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(js, "plan.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := Normalize(back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, back); diff != "" {
		t.Errorf("EncodeJSON, Decode, Normalize (-want +got):\n%s", diff)
	}
}
