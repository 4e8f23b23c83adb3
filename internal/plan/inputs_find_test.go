package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestValueInputs finds the inputs referred to in any string of a value,
// sorted and once each; malformed references and keys do not count.
func TestValueInputs(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  []string
	}{
		{name: "none", value: map[string]any{"a": "((not input)) (input x)", "n": int64(3)}},
		{name: "whole string", value: "((input addr))", want: []string{"addr"}},
		{name: "nested, repeated, sorted", value: map[string]any{
			"spec": map[string]any{"externalName": "((input istiod-address))"},
			"data": []any{"https://((input addr)):6443/((input addr))", map[string]string{"k": "((input ca))"}},
			"list": []string{"((input token))"},
		}, want: []string{"addr", "ca", "istiod-address", "token"}},
		{name: "malformed", value: []any{"((input Bad))", "((input  x))", "((input x"}},
		{name: "in a key", value: map[string]any{"((input k))": "v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, ValueInputs(tt.value)); diff != "" {
				t.Errorf("ValueInputs (-want +got):\n%s", diff)
			}
		})
	}
}
