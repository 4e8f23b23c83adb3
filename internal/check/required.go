package check

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// A built-in type's required fields are those its OpenAPI schema
// requires. requiredFields (required_fields.go) lists them by OpenAPI
// definition name; it is written by required_test.go from the OpenAPI
// document of the test environment's kube-apiserver, and that test fails
// when the two differ.

// structField is one JSON field of a struct type, inline fields flattened.
type structField struct {
	name     string
	typ      reflect.Type
	required bool
}

var (
	fieldsMu    sync.Mutex
	fieldsCache = map[reflect.Type][]structField{}
)

// fieldsOf returns the JSON fields of struct type t.
func fieldsOf(t reflect.Type) []structField {
	fieldsMu.Lock()
	defer fieldsMu.Unlock()
	return fieldsOfLocked(t)
}

func fieldsOfLocked(t reflect.Type) []structField {
	if fs, ok := fieldsCache[t]; ok {
		return fs
	}
	out := jsonFields(t)
	required := requiredFields[definitionName(t)]
	for i := range out {
		out[i].required = slices.Contains(required, out[i].name)
	}
	fieldsCache[t] = out
	return out
}

// jsonFields returns the JSON fields of struct type t, those of inline
// structs included, without their required flags.
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

// isLeaf tells whether values of t are decoded by their own UnmarshalJSON
// (a Quantity, a Time, an IntOrString) or are not structured at all.
func isLeaf(t reflect.Type) bool {
	return t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType)
}

// typeProblems appends to out the problems of v, a JSON value decoded into
// any, read as type t, that the server-side apply schema does not see:
// required fields that are missing and fractions for integers. Values of
// the wrong shape are skipped: that schema reports them.
func typeProblems(v any, t reflect.Type, path string, out *[]problem) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if isLeaf(t) {
		return
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if f, ok := v.(float64); ok && f != math.Trunc(f) {
			*out = append(*out, problem{rule: RuleSchema, path: path, message: fmt.Sprintf("%v is not an integer", f)})
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for _, f := range fieldsOf(t) {
			fv, present := m[f.name]
			if !present || fv == nil {
				if f.required {
					*out = append(*out, problem{rule: RuleSchema, path: joinPath(path, f.name), message: "required field is missing"})
				}
				continue
			}
			typeProblems(fv, f.typ, joinPath(path, f.name), out)
		}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return // []byte is a base64 string
		}
		l, ok := v.([]any)
		if !ok {
			return
		}
		for i, e := range l {
			typeProblems(e, t.Elem(), path+"["+strconv.Itoa(i)+"]", out)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for _, k := range slices.Sorted(func(yield func(string) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		}) {
			typeProblems(m[k], t.Elem(), path+"["+strconv.Quote(k)+"]", out)
		}
	}
}

// joinPath appends a field name to a field path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
