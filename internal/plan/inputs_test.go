package plan

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestInputRef(t *testing.T) {
	if got, want := InputRef("api-host"), "((input api-host))"; got != want {
		t.Errorf("InputRef = %q, want %q", got, want)
	}
}

func TestSubstituteInputs(t *testing.T) {
	values := map[string]string{"host": "10.0.0.1", "port": "6443", "tricky": "((input host))"}
	tests := []struct {
		name    string
		in      any // a manifest's data
		want    any
		wantErr string
	}{
		{name: "no reference", in: map[string]any{"a": "plain ((text)) (input x)", "n": json.Number("1.50"), "b": true, "z": nil},
			want: map[string]any{"a": "plain ((text)) (input x)", "n": json.Number("1.50"), "b": true, "z": nil}},
		{name: "the whole string", in: map[string]any{"a": "((input host))"}, want: map[string]any{"a": "10.0.0.1"}},
		{name: "part of a string", in: map[string]any{"a": "https://((input host)):8443/x"}, want: map[string]any{"a": "https://10.0.0.1:8443/x"}},
		{name: "several in one string", in: map[string]any{"a": "((input host)):((input port)) ((input host))"}, want: map[string]any{"a": "10.0.0.1:6443 10.0.0.1"}},
		{name: "in lists and nested objects", in: map[string]any{"l": []any{"((input port))", map[string]any{"h": "((input host))"}, 3}},
			want: map[string]any{"l": []any{"6443", map[string]any{"h": "10.0.0.1"}, 3}}},
		{name: "Go string slices and maps", in: map[string]any{"l": []string{"((input port))"}, "m": map[string]string{"k": "((input host))"}},
			want: map[string]any{"l": []string{"6443"}, "m": map[string]string{"k": "10.0.0.1"}}},
		{name: "keys stay", in: map[string]any{"((input host))": "x"}, want: map[string]any{"((input host))": "x"}},
		{name: "a value is not searched again", in: map[string]any{"a": "((input tricky))"}, want: map[string]any{"a": "((input host))"}},
		{name: "unknown names", in: map[string]any{"a": "((input nope)) ((input host)) ((input also-nope))", "b": "((input nope))"},
			wantErr: `no value for input "also-nope", "nope"`},
		{name: "malformed", in: map[string]any{"a": "((input Host))"},
			wantErr: malformedRef("((input Host))")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			manifest := func(data any) Object {
				return Object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "c"}, "data": data}
			}
			c := &Cluster{Name: "spoke", Batches: []Batch{{Name: "b", Bundles: []Bundle{
				{Name: "m", Namespace: "ns", Manifests: []Object{manifest(tt.in)}},
				{Name: "c", Namespace: "ns", Chart: &Chart{Repo: "./charts", Name: "c", Values: Object{"data": tt.in}}},
				{Name: "empty", Namespace: "ns", Chart: &Chart{Repo: "./charts", Name: "c"}},
			}}}}
			before, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := SubstituteInputs(c, values)
			if after, _ := json.Marshal(c); string(after) != string(before) {
				t.Errorf("SubstituteInputs changed its input:\n%s\n%s", before, after)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			bundles := got.Batches[0].Bundles
			if diff := cmp.Diff(manifest(tt.want), bundles[0].Manifests[0]); diff != "" {
				t.Errorf("manifest (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(Object{"data": tt.want}, bundles[1].Chart.Values); diff != "" {
				t.Errorf("chart values (-want +got):\n%s", diff)
			}
			if bundles[2].Chart.Values != nil {
				t.Errorf("empty values became %v", bundles[2].Chart.Values)
			}
		})
	}
}

func TestClusterDependencies(t *testing.T) {
	c := &Cluster{DependsOn: []string{"b", "a"}, Inputs: []Input{
		{Name: "x", From: InputSource{Cluster: "c"}}, {Name: "y", From: InputSource{Cluster: "a"}}, {Name: "z"},
	}}
	if diff := cmp.Diff([]string{"a", "b", "c"}, ClusterDependencies(c)); diff != "" {
		t.Errorf("ClusterDependencies (-want +got):\n%s", diff)
	}
}

// The functions the README and CompileInputExpression name work on an
// object as deploy reads it.
func TestInputExpressionEval(t *testing.T) {
	obj := map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "gw", "labels": map[string]any{"app": "gw"}},
		"spec":     map[string]any{"ports": []any{map[string]any{"name": "https", "port": int64(443)}}},
		"status":   map[string]any{"loadBalancer": map[string]any{"ingress": []any{map[string]any{"ip": "172.18.0.4"}}}},
		"data":     map[string]any{"token": "c2VjcmV0", "empty": "", "none": nil},
	}
	tests := []struct {
		expr    string
		want    string
		wantErr string
	}{
		{expr: "status.loadBalancer.ingress[0].ip", want: "172.18.0.4"},
		{expr: "string(base64.decode(data.token))", want: "secret"},
		{expr: "string(spec.ports[0].port)", want: "443"},
		{expr: "spec.ports.filter(p, p.name == 'https').map(p, string(p.port))[0]", want: "443"},
		{expr: "'https://%s:%d'.format([status.loadBalancer.ingress[0].ip, spec.ports[0].port])", want: "https://172.18.0.4:443"},
		{expr: "metadata.name.upperAscii() + '-' + metadata.labels['app']", want: "GW-gw"},
		{expr: "has(status.loadBalancer.ingress) ? status.loadBalancer.ingress[0].ip : ''", want: "172.18.0.4"},
		{expr: "status.?loadBalancer.?ingress[1].?ip.orValue('')", want: ""},
		{expr: "sets.contains(['a', 'b'], ['a']) ? 'yes' : 'no'", want: "yes"},
		{expr: "data.empty", want: ""},
		{expr: "data.none", want: ""},
		{expr: "status.loadBalancer.ingress[1].ip", wantErr: "index out of bounds: 1"},
		{expr: "status.conditions[0].type", wantErr: "no such key: conditions"},
		{expr: "spec.ports[0].port", wantErr: "yields int, not a string: convert it with string(...)"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			e, err := CompileInputExpression(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Eval(context.Background(), obj)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Eval = %q, %v; want error %s", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Eval = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// SubstituteKnownInputs replaces the references it has values for and
// leaves the others; a malformed reference is still an error.
func TestSubstituteKnownInputs(t *testing.T) {
	tests := []struct {
		name    string
		data    map[string]any
		want    map[string]any
		wantErr string
	}{
		{name: "known and unknown", data: map[string]any{"a": "((input host)):((input port))", "b": []any{"((input token))"}},
			want: map[string]any{"a": "10.0.0.1:((input port))", "b": []any{"((input token))"}}},
		{name: "malformed", data: map[string]any{"a": "((input Host))"}, wantErr: malformedRef("((input Host))")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Cluster{Name: "spoke", Batches: []Batch{{Name: "b", Bundles: []Bundle{{Name: "m", Namespace: "ns",
				Manifests: []Object{{"apiVersion": "v1", "kind": "ConfigMap", "data": tt.data}}}}}}}
			got, err := SubstituteKnownInputs(c, map[string]string{"host": "10.0.0.1"})
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Batches[0].Bundles[0].Manifests[0]["data"]); diff != "" {
				t.Errorf("data (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBundleInputs(t *testing.T) {
	tests := []struct {
		name   string
		bundle Bundle
		want   []string
	}{
		{name: "none", bundle: Bundle{Name: "a", Manifests: []Object{{"data": map[string]any{"a": "plain"}}}}, want: nil},
		{name: "manifests and chart values, sorted, once each", bundle: Bundle{Name: "a",
			Manifests: []Object{{"data": map[string]any{"a": "((input b)) ((input a))", "l": []any{"((input b))"}}}, nil},
			Chart:     &Chart{Name: "c", Values: Object{"x": map[string]any{"y": "https://((input c)):6443"}}}},
			want: []string{"a", "b", "c"}},
		{name: "malformed and keys left out", bundle: Bundle{Name: "a",
			Manifests: []Object{{"data": map[string]any{"a": "((input B))", "((input k))": "v"}}}}, want: nil},
		{name: "a chart without values", bundle: Bundle{Name: "a", Chart: &Chart{Name: "c"}}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, BundleInputs(&tt.bundle)); diff != "" {
				t.Errorf("BundleInputs (-want +got):\n%s", diff)
			}
		})
	}
}
