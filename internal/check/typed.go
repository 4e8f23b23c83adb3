package check

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Built-in objects are checked by walking them alongside the Go structs
// of client-go's API types, as a strict decoder would read them: every
// key must be a field of the struct (unknown fields), every value must have
// the field's JSON type (wrong types; fractions for integers), and values
// of types that decode themselves (Quantity, Time, IntOrString) must
// decode. On top of decoding, the walk checks what the API server's
// OpenAPI schema says and the structs do not: required fields, and the
// keys of map-type lists, whose duplicates server-side apply rejects.
// Both come from apischema_gen.go, which apischema_test.go writes from the
// OpenAPI document of the test environment's kube-apiserver and checks
// against it.

// structField is one JSON field of a struct type, inline fields flattened.
type structField struct {
	name     string
	typ      reflect.Type
	required bool
	// keys are the map keys of a list field, when it is a map-type list.
	keys []listKey
}

// listKey is one key field of a map-type list, with the default the API
// server assumes when an item leaves it out, as JSON ("" for none).
type listKey struct {
	name string
	def  string
}

// structInfo is what the walk needs of a struct type.
type structInfo struct {
	fields []structField
	byName map[string]int
}

var (
	structsMu sync.Mutex
	structs   = map[reflect.Type]*structInfo{}
)

// infoOf returns the fields of struct type t.
func infoOf(t reflect.Type) *structInfo {
	structsMu.Lock()
	defer structsMu.Unlock()
	if si, ok := structs[t]; ok {
		return si
	}
	name := definitionName(t)
	required := requiredFields[name]
	si := &structInfo{fields: jsonFields(t), byName: map[string]int{}}
	for i := range si.fields {
		f := &si.fields[i]
		f.required = slices.Contains(required, f.name)
		f.keys = listMapKeys[name+"."+f.name]
		si.byName[f.name] = i
	}
	structs[t] = si
	return si
}

// fieldsOf returns the JSON fields of struct type t.
func fieldsOf(t reflect.Type) []structField { return infoOf(t).fields }

// jsonFields returns the JSON fields of struct type t, those of inline
// structs included.
func jsonFields(t reflect.Type) []structField {
	var out []structField
	for i := range t.NumField() {
		f := t.Field(i)
		tag, hasTag := f.Tag.Lookup("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		if strings.Contains(","+opts+",", ",inline,") || (f.Anonymous && (!hasTag || name == "")) {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonFields(ft)...)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, structField{name: name, typ: f.Type})
	}
	return out
}

// definitionName is the OpenAPI definition name of a named Go type:
// k8s.io/api/apps/v1.Deployment is io.k8s.api.apps.v1.Deployment.
func definitionName(t reflect.Type) string {
	path := t.PkgPath()
	host, rest, _ := strings.Cut(path, "/")
	parts := strings.Split(host, ".")
	slices.Reverse(parts)
	name := strings.Join(parts, ".")
	if rest != "" {
		name += "." + strings.ReplaceAll(rest, "/", ".")
	}
	return name + "." + t.Name()
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// leaves caches isLeaf.
var leaves sync.Map // reflect.Type -> bool

// isLeaf tells whether values of t decode themselves (a Quantity, a Time,
// an IntOrString).
func isLeaf(t reflect.Type) bool {
	if v, ok := leaves.Load(t); ok {
		return v.(bool)
	}
	leaf := t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)
	leaves.Store(t, leaf)
	return leaf
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, float64, json.Number, int:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// typeProblems appends to out the problems of v, a JSON value decoded into
// any (integers as int64), read as Go type t at path.
func typeProblems(v any, t reflect.Type, path string, out *[]problem) {
	if v == nil {
		return // null: the field is unset
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	bad := func(format string, args ...any) {
		*out = append(*out, problem{rule: RuleSchema, path: path, message: fmt.Sprintf(format, args...)})
	}
	if isLeaf(t) {
		js, err := json.Marshal(v)
		if err != nil {
			bad("%s", oneLine(err.Error()))
			return
		}
		if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(js); err != nil {
			bad("invalid value %s: %s", js, oneLine(err.Error()))
		}
		return
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			bad("expected string, got %s", jsonType(v))
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			bad("expected boolean, got %s", jsonType(v))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		switch n := v.(type) {
		case int64:
			if reflect.Zero(t).OverflowInt(n) && t.Kind() < reflect.Uint || t.Kind() >= reflect.Uint && (n < 0 || reflect.Zero(t).OverflowUint(uint64(n))) {
				bad("%d does not fit in %s", n, t.Kind())
			}
		case float64:
			if n != math.Trunc(n) || math.IsInf(n, 0) {
				bad("%v is not an integer", n)
			} else {
				bad("%v does not fit in %s", n, t.Kind())
			}
		default:
			bad("expected integer, got %s", jsonType(v))
		}
	case reflect.Float32, reflect.Float64:
		switch v.(type) {
		case int64, float64:
		default:
			bad("expected number, got %s", jsonType(v))
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			bad("expected object, got %s", jsonType(v))
			return
		}
		si := infoOf(t)
		for _, k := range sortedKeys(m) {
			if _, ok := si.byName[k]; !ok {
				*out = append(*out, problem{rule: RuleSchema, path: joinPath(path, k), message: "field not declared in schema"})
			}
		}
		for _, f := range si.fields {
			fv, present := m[f.name]
			if !present || fv == nil {
				if f.required && !(path == "" && f.name == "status") {
					*out = append(*out, problem{rule: RuleSchema, path: joinPath(path, f.name), message: "required field is missing"})
				}
				continue
			}
			typeProblems(fv, f.typ, joinPath(path, f.name), out)
			if len(f.keys) > 0 {
				duplicateKeys(fv, f.keys, joinPath(path, f.name), out)
			}
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			s, ok := v.(string)
			if !ok {
				bad("expected base64 string, got %s", jsonType(v))
			} else if _, err := base64.StdEncoding.DecodeString(s); err != nil {
				bad("not valid base64: %s", oneLine(err.Error()))
			}
			return
		}
		l, ok := v.([]any)
		if !ok {
			bad("expected array, got %s", jsonType(v))
			return
		}
		for i, e := range l {
			typeProblems(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", out)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			bad("expected object, got %s", jsonType(v))
			return
		}
		for _, k := range sortedKeys(m) {
			typeProblems(m[k], t.Elem(), path+"["+strconv.Quote(k)+"]", out)
		}
	}
}

// duplicateKeys reports items of a map-type list that share their keys.
func duplicateKeys(v any, keys []listKey, path string, out *[]problem) {
	l, ok := v.([]any)
	if !ok {
		return
	}
	seen := map[string]int{}
	for i, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			return
		}
		var parts []string
		for _, k := range keys {
			val := k.def
			if kv, ok := m[k.name]; ok && kv != nil {
				js, err := json.Marshal(kv)
				if err != nil {
					return
				}
				val = string(js)
			}
			parts = append(parts, k.name+"="+val)
		}
		id := "[" + strings.Join(parts, ",") + "]"
		if first, dup := seen[id]; dup {
			*out = append(*out, problem{rule: RuleSchema, path: path + "[" + strconv.Itoa(i) + "]",
				message: fmt.Sprintf("duplicate entries for key %s (also item %d): server-side apply rejects the object", id, first)})
			continue
		}
		seen[id] = i
	}
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// joinPath appends a field name to a field path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
