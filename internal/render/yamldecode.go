package render

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	yamlv2 "go.yaml.in/yaml/v2"
)

// jsonNumbers says how a JSON decode after sigs.k8s.io/yaml's YAML-to-JSON
// conversion reads numbers.
type jsonNumbers int

const (
	// numbersFloat64: encoding/json into interface{}: every number a
	// float64 (sigs.k8s.io/yaml.Unmarshal, Helm's fromYaml).
	numbersFloat64 jsonNumbers = iota
	// numbersInt64: Kubernetes' decoders (k8s.io/apimachinery's
	// util/json): a number whose JSON text has no "." and fits is an
	// int64, any other a float64.
	numbersInt64
)

// decodeYAMLValue returns what sigs.k8s.io/yaml makes of data when it
// converts it to JSON and the JSON is decoded into interface{} with
// numbers read as nums: the same value, without the JSON text in between.
// data is read by the same go-yaml v2 Unmarshal sigs.k8s.io/yaml uses, and
// its value converted as sigs.k8s.io/yaml's convertToJSONableObject and the
// JSON round trip would. ok is false where the result is not certain to be
// the same (a YAML error, a key the conversion refuses or two keys that
// become one, invalid UTF-8 that JSON replaces, NaN or an infinity that
// JSON refuses, very deep nesting): the caller then takes the JSON path,
// errors included. FuzzDecodeYAMLValue compares the two.
func decodeYAMLValue(data []byte, nums jsonNumbers) (v any, ok bool) {
	var y any
	if err := yamlv2.Unmarshal(data, &y); err != nil {
		return nil, false
	}
	return yamlJSONValue(y, nums, 0)
}

// yamlJSONValue converts a value go-yaml v2 decoded into interface{} as
// decodeYAMLValue describes.
func yamlJSONValue(y any, nums jsonNumbers, depth int) (any, bool) {
	switch x := y.(type) {
	case nil, bool:
		return x, true
	case string:
		return x, utf8.ValidString(x)
	case int:
		if nums == numbersFloat64 {
			return float64(x), true
		}
		return int64(x), true
	case int64:
		if nums == numbersFloat64 {
			return float64(x), true
		}
		return x, true
	case uint64:
		// JSON's text is the decimal number; an int64 where it fits.
		if nums == numbersInt64 && x <= math.MaxInt64 {
			return int64(x), true
		}
		return float64(x), true
	case float64:
		return jsonFloatValue(x, nums)
	case map[any]any:
		if depth >= jsonYAMLMaxDepth {
			return nil, false
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := yamlJSONKey(k)
			if !ok {
				return nil, false
			}
			if _, dup := m[ks]; dup {
				// Two keys that read alike as strings: which one wins
				// depends on go-yaml's map order.
				return nil, false
			}
			ev, ok := yamlJSONValue(e, nums, depth+1)
			if !ok {
				return nil, false
			}
			m[ks] = ev
		}
		return m, true
	case []any:
		if depth >= jsonYAMLMaxDepth {
			return nil, false
		}
		l := make([]any, len(x))
		for i, e := range x {
			ev, ok := yamlJSONValue(e, nums, depth+1)
			if !ok {
				return nil, false
			}
			l[i] = ev
		}
		return l, true
	}
	return nil, false
}

// yamlJSONKey returns the JSON key sigs.k8s.io/yaml makes of a map key
// go-yaml v2 decoded; ok is false for a key it refuses or whose JSON text
// would replace invalid UTF-8.
func yamlJSONKey(k any) (string, bool) {
	switch x := k.(type) {
	case string:
		return x, utf8.ValidString(x)
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		// sigs.k8s.io/yaml formats float keys so, with 32 bits.
		switch s := strconv.FormatFloat(x, 'g', -1, 32); s {
		case "+Inf":
			return ".inf", true
		case "-Inf":
			return "-.inf", true
		case "NaN":
			return ".nan", true
		default:
			return s, true
		}
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// jsonFloatValue returns what decoding encoding/json's text of f gives
// with nums; ok is false for NaN and the infinities, which encoding/json
// refuses.
func jsonFloatValue(f float64, nums jsonNumbers) (any, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, false
	}
	if nums == numbersFloat64 {
		// The text is the shortest that reads back as f.
		return f, true
	}
	// encoding/json's floatEncoder: exponent form below 1e-6 and from
	// 1e21; Kubernetes' decoder reads an int64 only from text without a
	// "." that parses as one.
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return f, true
	}
	var buf [32]byte
	text := strconv.AppendFloat(buf[:0], f, 'f', -1, 64)
	if strings.IndexByte(string(text), '.') >= 0 {
		return f, true
	}
	if n, err := strconv.ParseInt(string(text), 10, 64); err == nil {
		return n, true
	}
	return f, true
}
