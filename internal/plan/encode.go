package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	yamlv2 "go.yaml.in/yaml/v2"
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

// EncodeYAML returns the YAML form of p, made from its JSON form, so it has
// the same keys; they are sorted at every level. The same Plan always gives
// the same bytes.
//
// The result is what sigs.k8s.io/yaml's JSONToYAML makes of the JSON form,
// but without parsing that JSON as YAML, which fails on keys longer than
// YAML's limit of 1024 characters for simple keys.
//
// Decode of the result gives p back when p is normalized, except that YAML
// spells numbers its own way: a free-form number such as 1.0 or 1e3 comes
// back as 1 or 1000, an integer beyond 64 bits as a float, and a number
// beyond the float range as a string.
func EncodeYAML(p *Plan) ([]byte, error) {
	js, err := EncodeJSON(p)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("encode plan as YAML: %w", err)
	}
	y, err := yamlv2.Marshal(yamlValue(v))
	if err != nil {
		return nil, fmt.Errorf("encode plan as YAML: %w", err)
	}
	return y, nil
}

// yamlValue replaces, in place, the numbers of the decoded JSON value v by
// the Go values YAML reads them as (int, int64, uint64 or float64; a string
// if none fits), as JSONToYAML does, so that they are written as YAML
// numbers.
func yamlValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = yamlValue(e)
		}
	case []any:
		for i, e := range v {
			v[i] = yamlValue(e)
		}
	case json.Number:
		s := v.String()
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			if int64(int(i)) == i {
				return int(i)
			}
			return i
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return u
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return f
		}
		return s
	}
	return v
}
