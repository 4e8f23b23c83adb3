package render

import (
	"context"
	"strings"
	"sync/atomic"
	"text/template"

	"helm.sh/helm/v4/pkg/chart/common"
	"sigs.k8s.io/yaml"
)

// templateFuncs are the functions wookie gives Helm's engine over its own:
// lookup (lookupFuncs), and fromYaml and toYaml, which return what Helm's
// do, the same values and bytes, without their round trip through JSON
// text. Charts call them a lot: Istio's base chart reads each of its CRDs
// with fromYaml twice and writes it with toYaml.
//
// toYaml notes, for each Kubernetes object it writes (a map with
// apiVersion and kind), the YAML of each of its fields (a yamlMemo) in
// written, by the text: a document of the render that is that text, as
// Istio's base chart writes its CRDs, then gets the memo and is not
// encoded again when it is written (parseTemplateDoc).
func templateFuncs(ctx context.Context, lk Lookup, called *atomic.Bool, written map[string]*yamlMemo) template.FuncMap {
	f := lookupFuncs(ctx, lk, called)
	f["fromYaml"] = memoFromYAML()
	f["toYaml"] = toYAML
	if written != nil {
		f["toYaml"] = func(v any) string {
			if text, memo, ok := objectYAML(v); ok {
				written[text] = memo
				return text
			}
			return toYAML(v)
		}
	}
	return f
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
			return copyJSONValue(last).(map[string]any)
		}
		v, ok := decodeYAMLValue([]byte(str), numbersFloat64)
		m, isMap := v.(map[string]any)
		if !ok || !isMap {
			lastDoc, last = "", nil
			return fromYAML(str)
		}
		lastDoc, last = str, copyJSONValue(m).(map[string]any)
		return m
	}
}

// copyJSONValue returns a deep copy of a decoded JSON value.
func copyJSONValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = copyJSONValue(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = copyJSONValue(e)
		}
		return l
	}
	return v
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
