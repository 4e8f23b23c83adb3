package render

import (
	"math"
	"strconv"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// encodeYAML returns what sigs.k8s.io/yaml.Marshal returns for v, the
// same bytes, without its round trip through JSON. That Marshal encodes v
// as JSON, has go-yaml v2 decode the JSON into interface{} and encodes the
// result with go-yaml v2; encodeYAML builds the decoded value from v
// directly (jsonYAMLValue) and encodes it with the same go-yaml v2. A
// value it cannot build with certainty (a type other than JSON's, a
// string go-yaml would read differently from its JSON, or refuse) is left
// to sigs.k8s.io/yaml.Marshal, errors included. FuzzEncodeYAML compares
// the two.
func encodeYAML(v any) ([]byte, error) {
	y, ok := jsonYAMLValue(v, 0)
	if !ok {
		return yaml.Marshal(v)
	}
	data, err := yamlv2.Marshal(y)
	if err != nil {
		return yaml.Marshal(v)
	}
	return data, nil
}

const (
	// jsonYAMLMaxDepth bounds the nesting jsonYAMLValue converts; go-yaml
	// refuses JSON nested deeper than 10000.
	jsonYAMLMaxDepth = 1000
	// jsonYAMLMaxKey bounds the bytes of a map key jsonYAMLValue converts:
	// go-yaml refuses a key whose JSON is longer than 1024 characters, and
	// JSON writes a byte in at most 6.
	jsonYAMLMaxKey = 160
)

// jsonYAMLValue returns what go-yaml v2's Unmarshal into interface{} makes
// of encoding/json's encoding of v: maps become map[interface{}]interface{},
// numbers what go-yaml reads JSON's text of them as, strings what JSON
// carries of them. ok is false where that is not certain.
func jsonYAMLValue(v any, depth int) (y any, ok bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case string:
		return jsonYAMLString(x)
	case bool:
		return x, true
	case int64:
		if int64(int(x)) == x {
			return int(x), true
		}
		return x, true
	case int:
		return x, true
	case float64:
		return jsonYAMLFloat(x)
	case map[string]any:
		if x == nil {
			return nil, true
		}
		if depth >= jsonYAMLMaxDepth {
			return nil, false
		}
		m := make(map[any]any, len(x))
		for k, e := range x {
			// A key must come through unchanged: two keys whose invalid
			// UTF-8 JSON replaces alike would become one.
			if len(k) > jsonYAMLMaxKey {
				return nil, false
			}
			if ks, ok := jsonYAMLString(k); !ok || ks != k {
				return nil, false
			}
			ey, ok := jsonYAMLValue(e, depth+1)
			if !ok {
				return nil, false
			}
			m[k] = ey
		}
		return m, true
	case []any:
		if x == nil {
			return nil, true
		}
		if depth >= jsonYAMLMaxDepth {
			return nil, false
		}
		l := make([]any, len(x))
		for i, e := range x {
			ey, ok := jsonYAMLValue(e, depth+1)
			if !ok {
				return nil, false
			}
			l[i] = ey
		}
		return l, true
	}
	return nil, false
}

// jsonYAMLString returns s as go-yaml reads it from JSON's double-quoted
// string: each byte of invalid UTF-8 replaced by U+FFFD, as encoding/json
// does. ok is false for a string with a character JSON writes as is and
// go-yaml refuses (DEL, C1 controls, U+FFFE, U+FFFF) or reads as a line
// break (NEL), or a byte order mark.
func jsonYAMLString(s string) (string, bool) {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf && s[i] != 0x7f {
		i++
	}
	if i == len(s) {
		return s, true
	}
	var out []byte
	start := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == 0x7f {
				return "", false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, s[start:i]...)
			out = append(out, "\uFFFD"...)
			i++
			start = i
			continue
		case r >= 0x80 && r <= 0x9f, r == 0xfeff, r == 0xfffe, r == 0xffff:
			return "", false
		}
		i += size
	}
	if out == nil {
		return s, true
	}
	return string(append(out, s[start:]...)), true
}

// jsonYAMLFloat returns what go-yaml reads encoding/json's text of f as:
// an int, uint64 or float64. ok is false for NaN and the infinities, which
// encoding/json refuses.
func jsonYAMLFloat(f float64) (any, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, false
	}
	// encoding/json's floatEncoder: exponent form below 1e-6 and from
	// 1e21, where the text always has an "e" and go-yaml reads a float.
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return f, true
	}
	var buf [32]byte
	text := strconv.AppendFloat(buf[:0], f, 'f', -1, 64)
	for _, c := range text {
		if c == '.' {
			return f, true
		}
	}
	// A whole number, written without a dot: go-yaml's resolver tries an
	// int, then a uint64, then a float. The text is the shortest that
	// reads back as f, not always f's exact value.
	if n, err := strconv.ParseInt(string(text), 0, 64); err == nil {
		if int64(int(n)) == n {
			return int(n), true
		}
		return n, true
	}
	if n, err := strconv.ParseUint(string(text), 0, 64); err == nil {
		return n, true
	}
	return f, true
}
