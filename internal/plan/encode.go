package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"sigs.k8s.io/yaml"
)

// EncodeJSON returns the JSON form of p: indented by two spaces, with a
// trailing newline, map keys sorted and no HTML escaping. The same Plan
// always gives the same bytes, and Decode of the result gives p back when p
// is normalized and its free-form numbers are json.Number (as Decode makes
// them).
func EncodeJSON(p *Plan) ([]byte, error) {
	if p == nil {
		return nil, errors.New("encode plan: no plan (nil)")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}
	return buf.Bytes(), nil
}

// EncodeYAML returns the YAML form of p, converted from its JSON form by
// sigs.k8s.io/yaml, so it has the same keys; they are sorted at every level.
// The same Plan always gives the same bytes.
//
// Decode of the result gives p back when p is normalized, except that YAML
// spells numbers its own way: a free-form number such as 1.0 or 1e3 comes
// back as 1 or 1000, and integers beyond 64 bits lose precision.
func EncodeYAML(p *Plan) ([]byte, error) {
	js, err := EncodeJSON(p)
	if err != nil {
		return nil, err
	}
	y, err := yaml.JSONToYAML(js)
	if err != nil {
		return nil, fmt.Errorf("encode plan as YAML: %w", err)
	}
	return y, nil
}
