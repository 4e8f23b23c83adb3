package render

import (
	"context"
	"strings"
	"sync/atomic"
	"text/template"
	"unicode/utf8"

	"helm.sh/helm/v4/pkg/chart/common"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// templateFuncs are the functions wookie gives Helm's engine over its own:
// lookup (lookupFuncs), and fromYaml and toYaml, which return what Helm's
// do, the same values and bytes, without their round trip through JSON
// text. Charts call them a lot: Istio's base chart reads each of its CRDs
// with fromYaml twice and writes it with toYaml.
//
// toYaml notes, for each Kubernetes object it writes (a map with
// apiVersion and kind), the YAML of each of its fields (a yamlMemo) and
// the object as its YAML decodes in written, by the text: a document of
// the render that is that text, as Istio's base chart writes its CRDs, is
// then neither parsed nor encoded again (sortTemplates).
func templateFuncs(ctx context.Context, lk Lookup, called *atomic.Bool, written map[string]*writtenObject) template.FuncMap {
	f := lookupFuncs(ctx, lk, called)
	f["fromYaml"] = memoFromYAML()
	f["toYaml"] = toYAML
	if written != nil {
		f["toYaml"] = func(v any) string {
			text, memo, ok := objectYAML(v)
			if !ok {
				return toYAML(v)
			}
			w := &writtenObject{memo: memo}
			// The object as its text decodes, taken now: the template
			// may change v after.
			if obj, ok := yamlRoundTrip(v, 0); ok {
				w.obj = obj.(map[string]any)
			}
			written[text] = w
			return text
		}
	}
	return f
}

// writtenObject is what toYaml noted of an object it wrote.
type writtenObject struct {
	// memo is the YAML of the object's fields.
	memo *yamlMemo
	// obj is the object as decoding its text gives it (yamlRoundTrip);
	// nil when that is not certain. One document may take it.
	obj   map[string]any
	taken atomic.Bool
}

// take returns the decoded object for one document, once; nil after.
func (w *writtenObject) take() map[string]any {
	if w.obj == nil || !w.taken.CompareAndSwap(false, true) {
		return nil
	}
	return w.obj
}

// yamlRoundTrip returns what decoding the YAML encodeYAML writes of v
// gives (parseDoc: numbers as Kubernetes' decoders keep them), without
// the YAML: a copy of v with every number as JSON's text of it decodes.
// ok is false for a value it is not certain of: a type other than
// JSON's, a string or key encodeYAML would not write as is (jsonYAMLString),
// a merge key ("<<"), NaN or an infinity, deep nesting.
// FuzzObjectYAML checks it against encoding and decoding.
func yamlRoundTrip(v any, depth int) (any, bool) {
	switch x := v.(type) {
	case nil, bool:
		return x, true
	case string:
		s, ok := jsonYAMLString(x)
		return x, ok && s == x && utf8.ValidString(x)
	case int:
		return int64(x), true
	case int64:
		return x, true
	case float64:
		return jsonFloatValue(x, numbersInt64)
	case map[string]any:
		if x == nil || depth >= jsonYAMLMaxDepth {
			return nil, false
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			if ks, ok := jsonYAMLString(k); !ok || ks != k || k == "<<" || len(k) > jsonYAMLMaxKey {
				return nil, false
			}
			ev, ok := yamlRoundTrip(e, depth+1)
			if !ok {
				return nil, false
			}
			m[k] = ev
		}
		return m, true
	case []any:
		if x == nil || depth >= jsonYAMLMaxDepth {
			return nil, false
		}
		l := make([]any, len(x))
		for i, e := range x {
			ev, ok := yamlRoundTrip(e, depth+1)
			if !ok {
				return nil, false
			}
			l[i] = ev
		}
		return l, true
	}
	return nil, false
}

// objectYAML is toYAML of v when v is a Kubernetes object, with its
// yamlMemo: the text is the memo's fields' YAML one after another, which
// is the YAML of the whole object (yamlMemo). ok is false for another
// value, or an object newYAMLMemo cannot encode field by field.
func objectYAML(v any) (text string, memo *yamlMemo, ok bool) {
	obj, isMap := v.(map[string]any)
	if !isMap {
		return "", nil, false
	}
	if _, ok := obj["apiVersion"]; !ok {
		return "", nil, false
	}
	if _, ok := obj["kind"]; !ok {
		return "", nil, false
	}
	memo, ok = newYAMLMemo(obj)
	if !ok {
		return "", nil, false
	}
	var b strings.Builder
	for _, f := range memo.Fields {
		b.Write(f.YAML)
	}
	return strings.TrimSuffix(b.String(), "\n"), memo, true
}

// fromYAMLMemoMin is the size from which memoFromYAML keeps a document.
const fromYAMLMemoMin = 4 << 10

// memoFromYAML returns fromYAML remembering the last large document it
// read: a template that reads a document twice in a row (Istio's base
// chart reads each CRD once for its name, then again to change it) parses
// it once. Every call returns a value of its own, as fromYAML does, which
// the template may change: a copy of the one kept.
func memoFromYAML() func(string) map[string]any {
	var lastDoc string
	var last map[string]any
	return func(str string) map[string]any {
		if len(str) < fromYAMLMemoMin {
			return fromYAML(str)
		}
		if last != nil && str == lastDoc {
			return runtime.DeepCopyJSONValue(last).(map[string]any)
		}
		v, ok := decodeYAMLValue([]byte(str), numbersFloat64)
		m, isMap := v.(map[string]any)
		if !ok || !isMap {
			lastDoc, last = "", nil
			return fromYAML(str)
		}
		lastDoc, last = str, runtime.DeepCopyJSONValue(m).(map[string]any)
		return m
	}
}

// fromYAML is Helm's fromYaml: the YAML document str as a map, numbers as
// float64, or a map holding only "Error" when str is no YAML map.
// decodeYAMLValue reads it; what it cannot read with certainty goes
// through sigs.k8s.io/yaml.Unmarshal, as Helm's does.
func fromYAML(str string) map[string]any {
	if v, ok := decodeYAMLValue([]byte(str), numbersFloat64); ok {
		if m, ok := v.(map[string]any); ok {
			return m
		}
	}
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(str), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

// toYAML is Helm's toYaml: v as YAML without the final line break, "" when
// it cannot be encoded.
func toYAML(v any) string {
	if vals, ok := v.(common.Values); ok {
		// encoding/json encodes Helm's Values as the map it is.
		v = map[string]any(vals)
	}
	data, err := encodeYAML(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}
