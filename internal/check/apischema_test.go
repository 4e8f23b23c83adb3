package check

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"maps"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite apischema_gen.go from the test kube-apiserver")

// TestAPISchemaMatchesServer compares the required fields and the keys of
// map-type lists wookie knows for the Go API types (apischema_gen.go) with
// the OpenAPI v3 document of a real kube-apiserver (the test environment's,
// the newest minor wookie knows), for every struct type reachable from a
// kind that minor serves. -update rewrites apischema_gen.go from it.
func TestAPISchemaMatchesServer(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Name: "openapi"})
	cfg := env.RESTConfig()
	cfg.GroupVersion = &schema.GroupVersion{}
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	client, err := rest.UnversionedRESTClientFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, into any) {
		t.Helper()
		raw, err := client.Get().AbsPath(path).DoRaw(t.Context())
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		if err := json.Unmarshal(raw, into); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var index struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	get("/openapi/v3", &index)
	type property struct {
		Default  json.RawMessage `json:"default"`
		ListType string          `json:"x-kubernetes-list-type"`
		MapKeys  []string        `json:"x-kubernetes-list-map-keys"`
		Items    *struct {
			Ref   string `json:"$ref"`
			AllOf []struct {
				Ref string `json:"$ref"`
			} `json:"allOf"`
		} `json:"items"`
	}
	type schemaDoc struct {
		Required   []string            `json:"required"`
		Properties map[string]property `json:"properties"`
	}
	schemas := map[string]schemaDoc{}
	for _, p := range slices.Sorted(maps.Keys(index.Paths)) {
		if p != "api/v1" && !strings.HasPrefix(p, "apis/") {
			continue
		}
		var doc struct {
			Components struct {
				Schemas map[string]schemaDoc `json:"schemas"`
			} `json:"components"`
		}
		get("/openapi/v3/"+p, &doc)
		maps.Copy(schemas, doc.Components.Schemas)
	}
	serverRequired := map[string][]string{}
	serverKeys := map[string][]listKey{}
	for name, s := range schemas {
		r := slices.Clone(s.Required)
		slices.Sort(r)
		serverRequired[name] = r
		for pname, prop := range s.Properties {
			if prop.ListType != "map" || prop.Items == nil {
				continue
			}
			ref := prop.Items.Ref
			if len(prop.Items.AllOf) > 0 {
				ref = prop.Items.AllOf[0].Ref
			}
			item := schemas[strings.TrimPrefix(ref, "#/components/schemas/")]
			var keys []listKey
			for _, k := range prop.MapKeys {
				keys = append(keys, listKey{name: k, def: string(item.Properties[k].Default)})
			}
			serverKeys[name+"."+pname] = keys
		}
	}

	api, err := render.BuiltinAPI(testenv.KubernetesVersion)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var visit func(reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] || isLeaf(t) {
			return
		}
		seen[t] = true
		for _, f := range fieldsOf(t) {
			visit(f.typ)
		}
	}
	for _, gvk := range api.GroupVersionKinds() {
		i := strings.LastIndex(gvk, "/")
		obj, err := scheme.Scheme.New(schema.FromAPIVersionAndKind(strings.TrimPrefix(gvk[:i], "/"), gvk[i+1:]))
		if err != nil {
			continue // served by kube-apiserver but not in client-go's scheme
		}
		visit(reflect.TypeOf(obj).Elem())
	}
	table := map[string][]string{}
	keyTable := map[string][]listKey{}
	var diffs []string
	types := make([]reflect.Type, 0, len(seen))
	for t := range seen {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool { return definitionName(types[i]) < definitionName(types[j]) })
	compared := 0
	for _, typ := range types {
		name := definitionName(typ)
		want, ok := serverRequired[name]
		if !ok {
			continue
		}
		compared++
		if len(want) > 0 {
			table[name] = want
		}
		var got []string
		for _, f := range fieldsOf(typ) {
			if f.required {
				got = append(got, f.name)
			}
			field := name + "." + f.name
			if keys := serverKeys[field]; len(keys) > 0 {
				keyTable[field] = keys
			}
			if d := cmp.Diff(serverKeys[field], f.keys, cmp.AllowUnexported(listKey{})); d != "" {
				diffs = append(diffs, fmt.Sprintf("%s: list map keys differ (-server +wookie):\n%s", field, d))
			}
		}
		slices.Sort(got)
		if d := cmp.Diff(want, got); d != "" {
			diffs = append(diffs, fmt.Sprintf("%s: server requires %v, wookie %v", name, want, got))
		}
	}
	if *update {
		writeAPISchema(t, table, keyTable)
		return
	}
	if compared < 300 {
		t.Errorf("compared only %d types with the server's OpenAPI", compared)
	}
	for _, d := range diffs {
		t.Error(d)
	}
	t.Logf("%d types compared", compared)
}

// writeAPISchema writes apischema_gen.go.
func writeAPISchema(t *testing.T, required map[string][]string, keys map[string][]listKey) {
	var b strings.Builder
	b.WriteString(`// Code generated by go test ./internal/check -run TestAPISchemaMatchesServer -update; DO NOT EDIT.

package check

// requiredFields are the required fields of the built-in API types, by
// OpenAPI definition name, as the OpenAPI document of kube-apiserver ` + testenv.KubernetesVersion + ` says.
var requiredFields = map[string][]string{
`)
	for _, name := range slices.Sorted(maps.Keys(required)) {
		fmt.Fprintf(&b, "\t%q: {", name)
		for i, f := range required[name] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%q", f)
		}
		b.WriteString("},\n")
	}
	b.WriteString(`}

// listMapKeys are the keys of the map-type lists of the built-in API
// types, by definition name and field, with the defaults of key fields, as
// the same document says.
var listMapKeys = map[string][]listKey{
`)
	for _, name := range slices.Sorted(maps.Keys(keys)) {
		fmt.Fprintf(&b, "\t%q: {", name)
		for i, k := range keys[name] {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "{%q, %q}", k.name, k.def)
		}
		b.WriteString("},\n")
	}
	b.WriteString("}\n")
	src, err := format.Source([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("apischema_gen.go", src, 0o644); err != nil {
		t.Fatal(err)
	}
}
