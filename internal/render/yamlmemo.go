package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"strings"
)

// yamlMemo is the YAML of an object's top-level fields, each with a
// checksum of the value it encodes, so that writing the object again costs
// a walk over it instead of an encoding. The YAML of an object is the YAML
// of its top-level fields, each encoded alone, one after another in
// go-yaml's key order (TestYAMLMemoSplit checks this on every object of
// the test charts); a field whose value no longer matches its checksum
// (finish adds labels to metadata, say) is encoded again, alone. The memo
// is made when a chart's render is put in the render cache, stored with
// it, and never changed afterwards.
type yamlMemo struct {
	Fields []yamlField
}

// yamlField is the YAML of one top-level field.
type yamlField struct {
	Name string
	// Sum is summer.sum of the field's value.
	Sum  string
	YAML []byte
}

// newYAMLMemo encodes obj field by field; ok is false when a value is of a
// type valueSum does not know or does not encode.
func newYAMLMemo(obj map[string]any) (m *yamlMemo, ok bool) {
	order, ok := yamlKeyOrder(obj)
	if !ok {
		return nil, false
	}
	var s summer
	m = &yamlMemo{Fields: make([]yamlField, 0, len(order))}
	for _, k := range order {
		sum, ok := s.sum(obj[k])
		if !ok {
			return nil, false
		}
		data, err := encodeYAML(map[string]any{k: obj[k]})
		if err != nil {
			return nil, false
		}
		m.Fields = append(m.Fields, yamlField{Name: k, Sum: sum, YAML: data})
	}
	return m, true
}

// yamlKeyOrder returns the keys of obj in the order go-yaml writes them
// (it sorts numbers inside keys by value), read from go-yaml's own
// encoding of the keys; ok is false when that encoding is not one line
// "key: index" per key, or obj is empty (its YAML is "{}").
func yamlKeyOrder(obj map[string]any) ([]string, bool) {
	if len(obj) == 0 {
		return nil, false
	}
	keys := make([]string, 0, len(obj))
	probe := make(map[string]any, len(obj))
	for k := range obj {
		probe[k] = len(keys)
		keys = append(keys, k)
	}
	data, err := encodeYAML(probe)
	if err != nil {
		return nil, false
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(keys) {
		return nil, false
	}
	order := make([]string, 0, len(keys))
	for _, l := range lines {
		at := strings.LastIndex(l, ": ")
		if at < 0 {
			return nil, false
		}
		i, err := strconv.Atoi(l[at+2:])
		if err != nil || i < 0 || i >= len(keys) {
			return nil, false
		}
		order = append(order, keys[i])
	}
	return order, true
}

// appendTo appends the YAML of obj to out, from the memo where a field's
// value still matches its checksum and encoded anew where it does not; ok
// is false, and out unchanged, when obj has other fields than the memo,
// and its YAML must be encoded whole.
func (m *yamlMemo) appendTo(out *bytes.Buffer, obj map[string]any) (ok bool) {
	if len(obj) != len(m.Fields) {
		return false
	}
	for _, f := range m.Fields {
		if _, found := obj[f.Name]; !found {
			return false
		}
	}
	start := out.Len()
	var s summer
	for _, f := range m.Fields {
		v := obj[f.Name]
		if sum, ok := s.sum(v); ok && sum == f.Sum {
			out.Write(f.YAML)
			continue
		}
		data, err := encodeYAML(map[string]any{f.Name: v})
		if err != nil {
			out.Truncate(start)
			return false
		}
		out.Write(data)
	}
	return true
}

// ContentSum returns a SHA-256, in hex, of v's content as the render
// cache's YAML memo sums a field: two values with the same sum have the
// same YAML. ok is false for a value that is not JSON's (maps, lists,
// strings, numbers, booleans, nil). It costs a fraction of encoding v.
func ContentSum(v any) (sum string, ok bool) {
	var s summer
	return s.sum(v)
}

// summer computes sums, reusing its buffers.
type summer struct {
	buf  []byte
	keys [][]string // by depth
}

// sum returns the SHA-256, in hex, of an encoding of v that tells apart
// every two values whose YAML differs: its types, lengths, map keys in
// sorted order, strings and numbers. ok is false for a type it does not
// know (unstructured objects hold only JSON's).
func (s *summer) sum(v any) (string, bool) {
	s.buf = s.buf[:0]
	if !s.value(v, 0) {
		return "", false
	}
	sum := sha256.Sum256(s.buf)
	return hex.EncodeToString(sum[:]), true
}

func (s *summer) value(v any, depth int) bool {
	switch x := v.(type) {
	case nil:
		s.buf = append(s.buf, 'n')
	case bool:
		if x {
			s.buf = append(s.buf, 't')
		} else {
			s.buf = append(s.buf, 'f')
		}
	case string:
		s.str('s', x)
	case int64:
		s.int(x)
	case int:
		s.int(int64(x))
	case int32:
		s.int(int64(x))
	case float64:
		// Whole numbers JSON writes as integers (the render cache gives
		// them back as int64) sum as integers: their YAML is the same.
		// (-0 is not one of them).
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 && !(x == 0 && math.Signbit(x)) {
			s.int(int64(x))
			return true
		}
		s.buf = append(s.buf, 'd')
		s.buf = binary.LittleEndian.AppendUint64(s.buf, math.Float64bits(x))
	case map[string]any:
		s.buf = append(s.buf, 'm')
		s.buf = binary.AppendUvarint(s.buf, uint64(len(x)))
		for len(s.keys) <= depth {
			s.keys = append(s.keys, nil)
		}
		keys := s.keys[depth][:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		s.keys[depth] = keys
		for _, k := range keys {
			s.str('k', k)
			if !s.value(x[k], depth+1) {
				return false
			}
		}
	case []any:
		s.buf = append(s.buf, 'a')
		s.buf = binary.AppendUvarint(s.buf, uint64(len(x)))
		for _, e := range x {
			if !s.value(e, depth+1) {
				return false
			}
		}
	default:
		return false
	}
	return true
}

func (s *summer) int(i int64) {
	s.buf = append(s.buf, 'i')
	s.buf = binary.LittleEndian.AppendUint64(s.buf, uint64(i))
}

func (s *summer) str(tag byte, x string) {
	s.buf = append(s.buf, tag)
	s.buf = binary.AppendUvarint(s.buf, uint64(len(x)))
	s.buf = append(s.buf, x...)
}
