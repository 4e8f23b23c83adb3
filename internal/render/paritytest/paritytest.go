// Package paritytest compares, object by object, what wookie renders for
// chart bundles with what Helm's own template action (helm template
// --include-crds) makes of the same chart archive, values, release name,
// namespace, Kubernetes version and API versions. Only wookie's documented
// changes are taken away before the comparison: the bundle's namespace on
// namespaced objects without one, the labels wookie.dev/cluster and
// wookie.dev/bundle, crds/ CRDs moved to a bundle <bundle>-crds (or
// dropped with crds: skip), hooks applied as objects with test, delete and
// rollback hooks dropped, and the order of the objects.
//
// The render package's parity tests use it on look-alike charts, the
// conformance suite on the real upstream charts.
package paritytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// Objects is a multiset of objects by ID ("Kind.group namespace/name"):
// each object as sorted YAML after a "# Source:" line, sorted. Two
// renderings agree when their Objects are equal.
type Objects map[string][]string

// Add adds obj, which came from the template source.
func (s Objects) Add(source string, obj map[string]any) error {
	data, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	id := ObjectID(obj)
	s[id] = append(s[id], "# Source: "+source+"\n"+string(data))
	slices.Sort(s[id])
	return nil
}

// ObjectID identifies an object: "Kind.group namespace/name", or
// "Kind.group name" without a namespace (no group for the core API).
func ObjectID(obj map[string]any) string {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	ns, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	id := kind
	if g := groupOf(apiVersion); g != "" {
		id += "." + g
	}
	if ns != "" {
		return id + " " + ns + "/" + name
	}
	return id + " " + name
}

func groupOf(apiVersion string) string {
	gv, _ := schema.ParseGroupVersion(apiVersion)
	return gv.Group
}

// Sourced is one object of a YAML stream and the template it came from.
type Sourced struct {
	Source string
	Object map[string]any
}

// Decode splits a YAML stream the way kubectl does and decodes each
// document, with integers as int64. A document's source is the "# Source:"
// comment it starts with, else the document's before it (Helm writes one
// comment for a whole crds/ file), else source.
func Decode(t testing.TB, source string, stream []byte) []Sourced {
	t.Helper()
	var out []Sourced
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	src := source
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		for line := range strings.Lines(string(doc)) {
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
				src = s
				break
			}
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(js, &obj); err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if obj != nil {
			out = append(out, Sourced{src, obj})
		}
	}
}

// Bundle is one bundle of a cluster as Helm sees it.
type Bundle struct {
	Name, Namespace string
	// Archive is the chart archive (.tgz) of a chart bundle; nil for a
	// bundle of manifests, whose CRDs only count for the API versions of
	// the bundles after it.
	Archive []byte
	// Values are the chart's values, as the Plan gives them.
	Values map[string]any
	// CRDs is the bundle's crds mode (plan.CRDsSeparate when "").
	CRDs string
	// SkipSchemaValidation renders without the chart's values.schema.json,
	// as helm --skip-schema-validation.
	SkipSchemaValidation bool
	// Manifests are a manifests bundle's objects.
	Manifests []map[string]any
	// DependsOn names the bundles this one waits for.
	DependsOn []string
}

// Helm renders every chart bundle of a cluster with Helm's template
// action, batch by batch, each bundle seeing the API versions wookie gives
// it: the built-in API of kubeVersion, the CRDs of the batches before, of
// the bundles of its own batch it depends on, and of its own crds/.
// Namespaced objects without a namespace get the bundle's, by the scopes
// of the built-in API and of every CRD rendered. It returns the objects of
// each chart bundle, by bundle name.
func Helm(t testing.TB, kubeVersion string, batches [][]Bundle) map[string]Objects {
	t.Helper()
	kube, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	api, err := render.BuiltinAPI(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	known := append(api.GroupVersions(), api.GroupVersionKinds()...)
	rendered := map[string][]Sourced{}
	var charts []Bundle
	for _, batch := range batches {
		index := map[string]Bundle{}
		for _, b := range batch {
			index[b.Name] = b
		}
		var next []string
		for _, b := range batch {
			apis := slices.Clone(known)
			for _, d := range transitiveDeps(b.Name, index) {
				for _, o := range rendered[d] {
					apis = append(apis, CRDAPIVersions(o.Object)...)
				}
			}
			objs := helmBundle(t, b, kube, apis)
			rendered[b.Name] = objs
			for _, o := range objs {
				next = append(next, CRDAPIVersions(o.Object)...)
			}
			if b.Archive != nil {
				charts = append(charts, b)
			}
		}
		known = append(known, next...)
	}

	scopes := map[string]bool{}
	for _, objs := range rendered {
		for _, o := range objs {
			if gk, namespaced, ok := CRDScope(o.Object); ok {
				scopes[gk] = namespaced
			}
		}
	}
	out := map[string]Objects{}
	for _, b := range charts {
		set := Objects{}
		for _, o := range rendered[b.Name] {
			apiVersion, _ := o.Object["apiVersion"].(string)
			kind, _ := o.Object["kind"].(string)
			namespaced, known := api.Namespaced(apiVersion, kind)
			for _, gv := range api.GroupVersions() {
				// A version the cluster does not serve: the kind's scope
				// in a version it does.
				if !known && groupOf(gv) == groupOf(apiVersion) {
					namespaced, known = api.Namespaced(gv, kind)
				}
			}
			if !known {
				namespaced, known = scopes[kind+"."+groupOf(apiVersion)]
			}
			if !known {
				t.Fatalf("bundle %s: %s: scope unknown", b.Name, ObjectID(o.Object))
			}
			meta, _ := o.Object["metadata"].(map[string]any)
			if ns, _ := meta["namespace"].(string); namespaced && ns == "" {
				meta["namespace"] = b.Namespace
			}
			dropEmptyLabels(o.Object)
			if err := set.Add(o.Source, o.Object); err != nil {
				t.Fatal(err)
			}
		}
		out[b.Name] = set
	}
	return out
}

// helmBundle renders one bundle with Helm's install action in client-side
// dry-run mode (what helm template runs), hooks wookie applies included;
// a manifests bundle is its manifests.
func helmBundle(t testing.TB, b Bundle, kube *common.KubeVersion, apis []string) []Sourced {
	t.Helper()
	if b.Archive == nil {
		var out []Sourced
		for i, m := range b.Manifests {
			out = append(out, Sourced{fmt.Sprintf("manifests[%d]", i), m})
		}
		return out
	}
	ch, err := loader.LoadArchive(bytes.NewReader(b.Archive))
	if err != nil {
		t.Fatalf("bundle %s: %v", b.Name, err)
	}
	own := slices.Clone(apis)
	if b.CRDs != plan.CRDsSkip {
		for _, crd := range ch.CRDObjects() {
			for _, o := range Decode(t, crd.Filename, crd.File.Data) {
				own = append(own, CRDAPIVersions(o.Object)...)
			}
		}
	}
	values := b.Values
	if values == nil {
		values = map[string]any{}
	}
	install := action.NewInstall(action.NewConfiguration())
	install.DryRunStrategy = action.DryRunClient
	install.Replace = true
	install.ReleaseName = b.Name
	install.Namespace = b.Namespace
	install.IncludeCRDs = b.CRDs != plan.CRDsSkip
	install.KubeVersion = kube
	install.APIVersions = own
	install.SkipSchemaValidation = b.SkipSchemaValidation
	r, err := install.Run(ch, values)
	if err != nil {
		t.Fatalf("bundle %s: helm template: %v", b.Name, err)
	}
	rel, ok := r.(*release.Release)
	if !ok {
		t.Fatalf("bundle %s: helm template gave a %T", b.Name, r)
	}
	objs := Decode(t, b.Name, []byte(rel.Manifest))
	for _, h := range rel.Hooks {
		if !AppliedHook(h.Events) {
			continue
		}
		objs = append(objs, Decode(t, h.Path, []byte(h.Manifest))...)
	}
	return objs
}

// transitiveDeps lists the bundles of index that name reaches through
// dependsOn.
func transitiveDeps(name string, index map[string]Bundle) []string {
	var out []string
	seen := map[string]bool{name: true}
	queue := []string{name}
	for len(queue) > 0 {
		b, ok := index[queue[0]]
		queue = queue[1:]
		if !ok {
			continue
		}
		for _, d := range b.DependsOn {
			if _, in := index[d]; in && !seen[d] {
				seen[d] = true
				out = append(out, d)
				queue = append(queue, d)
			}
		}
	}
	slices.Sort(out)
	return out
}

// AppliedHook reports whether wookie keeps a hook with these events: it
// applies pre-/post-install and -upgrade hooks and drops test, delete and
// rollback hooks (`wookie render --help`).
func AppliedHook(events []release.HookEvent) bool {
	return slices.ContainsFunc(events, func(e release.HookEvent) bool {
		return e == release.HookPreInstall || e == release.HookPreUpgrade || e == release.HookPostInstall || e == release.HookPostUpgrade
	})
}

// CRDAPIVersions returns what a CRD adds to Capabilities.APIVersions:
// "group/version" and "group/version/Kind" for each served version.
func CRDAPIVersions(obj map[string]any) []string {
	if obj["kind"] != "CustomResourceDefinition" || groupOf(fmt.Sprint(obj["apiVersion"])) != "apiextensions.k8s.io" {
		return nil
	}
	spec, _ := obj["spec"].(map[string]any)
	group, _ := spec["group"].(string)
	names, _ := spec["names"].(map[string]any)
	kind, _ := names["kind"].(string)
	versions, _ := spec["versions"].([]any)
	var out []string
	for _, v := range versions {
		v, _ := v.(map[string]any)
		name, _ := v["name"].(string)
		if served, _ := v["served"].(bool); served && name != "" {
			out = append(out, group+"/"+name, group+"/"+name+"/"+kind)
		}
	}
	return out
}

// CRDScope returns the group kind a CRD defines and whether it is
// namespaced; ok is false for other objects.
func CRDScope(obj map[string]any) (groupKind string, namespaced, ok bool) {
	if obj["kind"] != "CustomResourceDefinition" {
		return "", false, false
	}
	spec, _ := obj["spec"].(map[string]any)
	group, _ := spec["group"].(string)
	names, _ := spec["names"].(map[string]any)
	kind, _ := names["kind"].(string)
	return kind + "." + group, spec["scope"] != "Cluster", true
}

// dropEmptyLabels removes metadata.labels when it is empty, on both sides:
// wookie's labels taken away leave an empty map.
func dropEmptyLabels(obj map[string]any) {
	meta, _ := obj["metadata"].(map[string]any)
	if labels, ok := meta["labels"].(map[string]any); ok && len(labels) == 0 {
		delete(meta, "labels")
	}
}

// Rendered is one bundle as wookie rendered it: its objects as the YAML
// stream wookie render writes (render.MarshalYAML), with "# Source:"
// comments.
type Rendered struct {
	Name string
	// Generated is set for a bundle wookie made, such as <bundle>-crds.
	Generated bool
	YAML      []byte
}

// Wookie collects, for every chart bundle named in chartBundles (by name,
// with its crds mode), the objects of the bundle and of its generated
// <bundle>-crds bundle, with wookie's labels for cluster checked and taken
// away. It reports a crds/ CRD outside <bundle>-crds (unless crds:
// inline) and an object of <bundle>-crds from elsewhere.
func Wookie(t testing.TB, cluster string, rendered []Rendered, chartBundles map[string]string) map[string]Objects {
	t.Helper()
	byName := map[string]Rendered{}
	for _, r := range rendered {
		byName[r.Name] = r
	}
	out := map[string]Objects{}
	for b, crds := range chartBundles {
		set := Objects{}
		for _, name := range []string{b, b + "-crds"} {
			u, ok := byName[name]
			if !ok || name != b && !u.Generated {
				continue
			}
			for _, o := range Decode(t, name, u.YAML) {
				meta, _ := o.Object["metadata"].(map[string]any)
				labels, _ := meta["labels"].(map[string]any)
				for k, want := range map[string]string{render.LabelCluster: cluster, render.LabelBundle: name} {
					if labels[k] == want {
						delete(labels, k)
					} else {
						t.Errorf("bundle %s: %s: label %s is %q, want %q", name, ObjectID(o.Object), k, labels[k], want)
					}
				}
				dropEmptyLabels(o.Object)
				switch fromCRDs := strings.Contains(o.Source, "/crds/"); {
				case name != b && !fromCRDs:
					t.Errorf("bundle %s: %s does not come from a crds/ directory (%s)", name, ObjectID(o.Object), o.Source)
				case name == b && fromCRDs && crds != plan.CRDsInline:
					t.Errorf("bundle %s: %s from %s belongs in %s-crds", name, ObjectID(o.Object), o.Source, b)
				}
				if err := set.Add(o.Source, o.Object); err != nil {
					t.Fatal(err)
				}
			}
		}
		out[b] = set
	}
	return out
}
