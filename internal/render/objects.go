package render

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// Labels wookie puts on every object it renders.
const (
	LabelCluster = "wookie.dev/cluster"
	LabelBundle  = "wookie.dev/bundle"
)

// Object is one rendered Kubernetes object and where it came from.
type Object struct {
	// Object is the object itself.
	*unstructured.Unstructured
	// Source is the chart template (chart/templates/x.yaml) or
	// "manifests[i]" the object came from.
	Source string `json:"source"`
	// Hook is "pre" or "post" for a Helm hook applied before or after the
	// bundle's other objects, "" otherwise.
	Hook string `json:"hook,omitempty"`
	// HookWeight orders hooks of the same phase.
	HookWeight int `json:"hookWeight,omitempty"`
	// memo is the YAML of the object as the render cache holds it; nil
	// when it came from no cache entry.
	memo *yamlMemo
}

// ID identifies an object in a cluster: group, kind, namespace and name.
func (o *Object) ID() string {
	gvk := o.GroupVersionKind()
	id := gvk.Kind
	if gvk.Group != "" {
		id += "." + gvk.Group
	}
	if ns := o.GetNamespace(); ns != "" {
		return id + " " + ns + "/" + o.GetName()
	}
	return id + " " + o.GetName()
}

// decodeDocs parses a YAML stream (one template's output, a crds/ file)
// into objects. Empty documents are skipped; a document that is not an
// object with apiVersion, kind and metadata.name is an error naming source.
func decodeDocs(source, stream string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for i, doc := range splitYAML(stream) {
		u, err := parseDoc(doc)
		if err == nil && u != nil {
			err = checkObject(u)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, i+1, err)
		}
		if u != nil {
			out = append(out, u)
		}
	}
	return out, nil
}

// parseDoc parses one YAML document into an object, unchecked; nil for
// an empty document (blank, comments only, null).
func parseDoc(doc string) (*unstructured.Unstructured, error) {
	if strings.TrimSpace(stripComments(doc)) == "" {
		return nil, nil
	}
	// The value YAML-to-JSON and Kubernetes' JSON decoder would give,
	// without the JSON; where that is not certain, the JSON path.
	if v, ok := decodeYAMLValue([]byte(doc), numbersInt64); ok {
		return objectFromValue(v)
	}
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return nil, fmt.Errorf("not valid YAML: %s", oneLine(err.Error()))
	}
	return objectFromJSON(js)
}

// objectFromJSON decodes one JSON value into an object, with integers as
// int64 the way Kubernetes' own decoders keep them. null gives nil.
func objectFromJSON(js []byte) (*unstructured.Unstructured, error) {
	var v any
	if err := utiljson.Unmarshal(js, &v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %s", oneLine(err.Error()))
	}
	return objectFromValue(v)
}

// objectFromValue returns a decoded JSON value as an object; null gives
// nil.
func objectFromValue(v any) (*unstructured.Unstructured, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return &unstructured.Unstructured{Object: x}, nil
	case []any:
		return nil, errors.New("a list where a Kubernetes object belongs")
	default:
		return nil, fmt.Errorf("a %T where a Kubernetes object belongs", x)
	}
}

// checkObject requires apiVersion, kind and metadata.name.
func checkObject(u *unstructured.Unstructured) error {
	var missing []string
	if s, ok := u.Object["apiVersion"].(string); !ok || s == "" {
		missing = append(missing, "apiVersion")
	}
	if s, ok := u.Object["kind"].(string); !ok || s == "" {
		missing = append(missing, "kind")
	}
	meta, ok := u.Object["metadata"].(map[string]any)
	if !ok {
		missing = append(missing, "metadata.name")
	} else if s, ok := meta["name"].(string); !ok || s == "" {
		missing = append(missing, "metadata.name")
	}
	if len(missing) > 0 {
		return fmt.Errorf("not a Kubernetes object: no %s", strings.Join(missing, ", "))
	}
	return nil
}

// splitYAML splits a YAML stream at document separators.
func splitYAML(stream string) []string {
	var docs []string
	var cur strings.Builder
	for _, line := range strings.SplitAfter(stream, "\n") {
		if t := strings.TrimRight(line, " \t\r\n"); t == "---" || strings.HasPrefix(t, "--- ") {
			docs = append(docs, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	return append(docs, cur.String())
}

// stripComments drops comment lines, to tell empty documents apart.
func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// kindRank is a kind's place in Helm's install order; unknown kinds (custom
// resources) come after every known one.
func kindRank(kind string) int {
	if i := slices.Index(releaseutil.InstallOrder, kind); i >= 0 {
		return i
	}
	return len(releaseutil.InstallOrder)
}

// sortObjects puts a bundle's objects in apply order: pre hooks by weight,
// then the objects by Helm's install order of kinds, then post hooks by
// weight; ties by kind, namespace and name, so the order never depends on
// template file names or map iteration.
func sortObjects(objs []*Object) {
	phase := func(o *Object) int {
		switch o.Hook {
		case hookPre:
			return 0
		case hookPost:
			return 2
		}
		return 1
	}
	slices.SortStableFunc(objs, func(a, b *Object) int {
		if c := phase(a) - phase(b); c != 0 {
			return c
		}
		if a.Hook != "" && a.HookWeight != b.HookWeight {
			return a.HookWeight - b.HookWeight
		}
		ka, kb := a.GetKind(), b.GetKind()
		if c := kindRank(ka) - kindRank(kb); c != 0 {
			return c
		}
		if c := strings.Compare(ka, kb); c != 0 {
			return c
		}
		if c := strings.Compare(a.GetNamespace(), b.GetNamespace()); c != 0 {
			return c
		}
		if c := strings.Compare(a.GetName(), b.GetName()); c != 0 {
			return c
		}
		return strings.Compare(a.GetAPIVersion(), b.GetAPIVersion())
	})
}

// MarshalYAML writes objects as one YAML stream with sorted keys, each
// document preceded by a comment naming its source. Each object's YAML is
// taken from its yamlMemo (the render cache's entry, or made while
// rendering, or here, for objects on every core) for the fields that have
// not changed since.
func MarshalYAML(objs []*Object) ([]byte, error) {
	// Objects without a memo are encoded first, on every core: a chart's
	// CRDs are large.
	memoize(objs)
	var b bytes.Buffer
	size := 0
	for _, o := range objs {
		if o.memo != nil {
			for _, f := range o.memo.Fields {
				size += len(f.YAML)
			}
		}
	}
	b.Grow(size + 128*len(objs))
	for _, o := range objs {
		b.WriteString("---\n")
		if o.Source != "" {
			b.WriteString("# Source: " + o.Source + "\n")
		}
		if o.memo != nil && o.memo.appendTo(&b, o.Object) {
			continue
		}
		data, err := encodeYAML(o.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", o.ID(), err)
		}
		b.Write(data)
	}
	return b.Bytes(), nil
}

// memoize encodes the objects that have no YAML memo yet (newYAMLMemo),
// on every core: MarshalYAML then copies their YAML. An object newYAMLMemo
// cannot encode field by field keeps none and is encoded whole.
func memoize(objs []*Object) {
	var todo []*Object
	for _, o := range objs {
		if o.memo == nil {
			todo = append(todo, o)
		}
	}
	parallelFor(len(todo), func(i int) {
		todo[i].memo, _ = newYAMLMemo(todo[i].Object)
	})
}
