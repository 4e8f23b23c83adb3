package render

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestEncodeYAML checks encodeYAML against sigs.k8s.io/yaml.Marshal on the
// values whose JSON go-yaml reads in its less common ways.
func TestEncodeYAML(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"nil", nil},
		{"nil map", map[string]any(nil)},
		{"nil list", map[string]any{"l": []any(nil), "m": map[string]any(nil)}},
		{"empty", map[string]any{"m": map[string]any{}, "l": []any{}, "s": ""}},
		{"special words", map[string]any{"s": []any{"yes", "no", "on", "off", "y", "n", "true", "null", "~", "0x1F", "0o17", "0b101", "1e3", ".inf", "-.inf", ".nan", "1_000", "2024-01-02", "12:30", "<<", "=", "-", "? x", "- x", "#", "!tag", "&a", "*a", "|", ">", "%", "@", "`"}}},
		{"merge key", map[string]any{"<<": map[string]any{"a": int64(1)}, "b": "c"}},
		{"spaces and breaks", map[string]any{"s": []any{" lead", "trail ", "a\nb", "a\n", "\n", "a\r\nb", "a\tb", "\t", "a  \n  b", "x\n\n\ny"}}},
		{"quotes and escapes", map[string]any{"s": []any{`"`, `'`, `\`, `a"b'c`, "<>&", "\x00\x01\x1f", "\u2028\u2029"}}},
		{"unicode", map[string]any{"s": []any{"grüße ✓", "日本語", "😀", "\ufffd", "\u00a0", "\ufeff", "a\ufeffb", "\u0085", "a \u0085 b", "\ufffe", "\uffff", "\x7f", "\u0080", "\u009f"}}},
		{"unicode keys", map[string]any{"\ufeff": "a", "ü": "b", "\x7f": "c"}},
		{"invalid utf-8", map[string]any{"s": []any{"\xff", "a\xfe\xfdb", "\xed\xa0\x80", "\xc3", "ok\xc3(", "\xe2\x82"}}},
		{"invalid utf-8 keys", map[string]any{"\xff": "a", "\xfe": "b"}},
		{"long keys", map[string]any{strings.Repeat("k", 160): "a", strings.Repeat("<", 170): "b"}},
		{"very long key", map[string]any{strings.Repeat("k", 1100): "a"}},
		{"long string", map[string]any{"s": strings.Repeat("word ", 3000)}},
		{"ints", map[string]any{"n": []any{int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64), 0, math.MaxInt, math.MinInt}}},
		{"whole floats", map[string]any{"f": []any{0.0, math.Copysign(0, -1), 1.0, -3.0, 1e15, 1e20, -1e20, 123456789012345678901.0, 9.223372036854776e18, -9.223372036854776e18, 1.8446744073709552e19, 1.7e19, 4611686018427387904.0 + 2048, 1e21, -1e21, 1e22, math.MaxFloat64}}},
		{"fractional floats", map[string]any{"f": []any{0.5, -0.25, 1e-6, 1e-7, -1e-7, 5e-324, math.SmallestNonzeroFloat64, 0.1, 1.5e300, 123.456, 1e-6 * 0.999}}},
		{"nan", map[string]any{"f": math.NaN()}},
		{"inf", map[string]any{"f": math.Inf(1)}},
		{"-inf", []any{math.Inf(-1)}},
		{"other types", map[string]any{"a": int32(5), "b": float32(1.5), "c": map[string]string{"x": "y"}, "d": uint64(1 << 63)}},
		{"deep", deepValue(1500)},
		{"too deep for go-yaml", deepValue(10001)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, wantErr := yaml.Marshal(tt.v)
			got, gotErr := encodeYAML(tt.v)
			if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
				t.Fatalf("error %v, want %v", gotErr, wantErr)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("encodeYAML (-want +got):\n%s", diff)
			}
		})
	}
}

// deepValue returns lists and maps nested n deep.
func deepValue(n int) any {
	var v any = "x"
	for i := range n {
		if i%2 == 0 {
			v = []any{v}
		} else {
			v = map[string]any{"k": v}
		}
	}
	return v
}

// FuzzEncodeYAML builds JSON-like values from the fuzzer's bytes and checks
// that encodeYAML gives exactly what sigs.k8s.io/yaml.Marshal gives, the
// same error included.
func FuzzEncodeYAML(f *testing.F) {
	f.Add([]byte("\x05\x03kind\x00\x06ConfigMap"))
	f.Add([]byte("\x05\x02\x01a\x03yes\x01b\x02\x01\x00\x07"))
	f.Add([]byte("\x06\x03\x02\x00\x00\x00\x00\x00\x00\xe0\x43\x02\x00\x00\x00\x00\x00\x00\x00\x80\x02\x00\x00\x00\x00\x00\x00\xf8\x7f"))
	f.Add([]byte("\x06\x02\x01\x00\x00\x00\x00\x00\x00\x00\x80\x01\xff\xff\xff\xff\xff\xff\xff\x7f"))
	f.Add([]byte("\x06\x04\x00\x04a\xffb\x00\x02\"\n\x00\x03 on\x00\x02\xc2\x85"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g := valueGen{data: data}
		v := g.value(0)
		want, wantErr := yaml.Marshal(v)
		got, gotErr := encodeYAML(v)
		if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Fatalf("value %#v: error %v, want %v", v, gotErr, wantErr)
		}
		if !bytes.Equal(want, got) && !marshalsTo(v, got) {
			t.Fatalf("value %#v:\n got %q\nwant %q", v, got, want)
		}
	})
}

// marshalsTo reports whether sigs.k8s.io/yaml.Marshal gives want for v in
// one of 200 tries. go-yaml's order of map keys is not a total order for
// some keys ("017", "0x1F" and "1." each sort before another), and then its
// output, sigs.k8s.io/yaml's too, depends on Go's random map order
// (testdata/fuzz/FuzzEncodeYAML/7a986269857dd2b1): encodeYAML must give one
// of the outputs sigs.k8s.io/yaml gives.
func marshalsTo(v any, want []byte) bool {
	for range 200 {
		if got, err := yaml.Marshal(v); err == nil && bytes.Equal(got, want) {
			return true
		}
	}
	return false
}

// valueGen reads a JSON-like value from bytes, as unstructured holds it.
type valueGen struct{ data []byte }

func (g *valueGen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *valueGen) uint64() uint64 {
	var b [8]byte
	n := copy(b[:], g.data)
	g.data = g.data[n:]
	return binary.LittleEndian.Uint64(b[:])
}

// yamlWords are strings go-yaml reads as something else unquoted.
var yamlWords = []string{"yes", "no", "on", "off", "Y", "n", "true", "False", "null", "~", "", "0x1F", "0o17", "017", "0b11", "1e3", "1_0", ".inf", "-.Inf", ".NaN", "<<", "2024-01-02", "1:20", "- a", "a: b", "#c", " x", "x ", "\n", "é", "\u2028", "=", "+1", "-0", ".5", "1.", "\ufeff"}

func (g *valueGen) string() string {
	switch c := g.byte(); {
	case c < 0x40:
		return yamlWords[int(c)%len(yamlWords)]
	default:
		n := int(g.byte()) % 24
		if n > len(g.data) {
			n = len(g.data)
		}
		s := string(g.data[:n])
		g.data = g.data[n:]
		return s
	}
}

func (g *valueGen) value(depth int) any {
	kind := g.byte()
	if depth > 6 && kind%9 >= 5 {
		kind = 0
	}
	switch kind % 9 {
	case 0:
		return g.string()
	case 1:
		return nil
	case 2:
		return g.byte()%2 == 0
	case 3:
		return int64(g.uint64())
	case 4:
		switch g.byte() % 5 {
		case 0:
			return math.Float64frombits(g.uint64())
		case 1:
			return float64(int64(g.uint64()) >> (g.byte() % 64))
		case 2:
			return float64(int64(g.uint64())) * math.Pow(10, float64(int(g.byte()%64)-20))
		case 3:
			return int(int64(g.uint64()) >> (g.byte() % 64))
		default:
			return float64(int8(g.byte())) / 8
		}
	case 5:
		n := int(g.byte() % 6)
		m := make(map[string]any, n)
		for range n {
			m[g.string()] = g.value(depth + 1)
		}
		if n == 0 && g.byte()%4 == 0 {
			return map[string]any(nil)
		}
		return m
	case 6:
		n := int(g.byte() % 6)
		if n == 0 && g.byte()%4 == 0 {
			return []any(nil)
		}
		l := make([]any, n)
		for i := range l {
			l[i] = g.value(depth + 1)
		}
		return l
	case 7:
		// Strings from a small alphabet of the awkward characters.
		const parts = "a \n\t\"'\\:#-{}[],&*!|>%@`\x00\x7f\xc2\x85\xff\xef\xbb\xbf\xe2\x80\xa8\xef\xbf\xbe"
		n := int(g.byte() % 16)
		var b strings.Builder
		for range n {
			b.WriteByte(parts[int(g.byte())%len(parts)])
		}
		return b.String()
	default:
		return map[string]any{"apiVersion": "v1", "kind": g.string(), "metadata": map[string]any{"name": g.string(), "labels": g.value(depth + 1)}}
	}
}
