package render_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/internal/render/rendertest"
)

// The cluster every parity case renders for: the local-k3d target's.
const (
	parityCluster = "parity"
	parityKube    = "1.31.4"
)

// parityBundle is one chart bundle of a parity case.
type parityBundle struct {
	name, namespace string
	chart           charttest.Chart
	// values is the bundle's values as YAML: what `helm template -f` reads.
	values string
	// crds is the bundle's crds mode; "" is separate.
	crds string
}

// parityCase is a small Plan: one cluster whose bundles sit in batches of
// their own, in order, each depending on the one before.
type parityCase struct {
	name    string
	bundles []parityBundle
	// differs, when set, names a known difference between wookie and
	// `helm template`: the case must differ, and the diff is logged.
	differs string
	// wookieErr, when set, is part of the error wookie's render must fail
	// with where Helm renders the chart: a known difference too.
	wookieErr string
}

// The values the wookie project gives the Istio charts by default
// (modules/projects/wookie).
const (
	wookieBase    = "defaultRevision: default\n"
	wookieIstiod  = "autoscaleEnabled: false\nresources:\n  requests:\n    cpu: 100m\n    memory: 256Mi\n"
	wookieGateway = "autoscaling:\n  enabled: false\n"
)

func parityCases() []parityCase {
	base := func(values string) parityBundle {
		return parityBundle{name: "istio-base", namespace: "istio-system", chart: rendertest.Base(), values: values}
	}
	istiod := func(values string) parityBundle {
		return parityBundle{name: "istiod", namespace: "istio-system", chart: rendertest.Istiod(), values: values}
	}
	gateway := func(values string) parityBundle {
		return parityBundle{name: "istio-ingressgateway", namespace: "istio-ingress", chart: rendertest.Gateway(), values: values}
	}
	operator := func(values, crds string) parityBundle {
		return parityBundle{name: "pxc-operator", namespace: "pxc", chart: rendertest.Operator(), values: values, crds: crds}
	}
	return []parityCase{
		{name: "base/chart defaults", bundles: []parityBundle{base("")}},
		{name: "base/wookie values", bundles: []parityBundle{base(wookieBase)}},
		{name: "base/no CRD templates", bundles: []parityBundle{base("enableCRDTemplates: false\ndefaultRevision: canary\n")}},
		// Without istio-base no CRD serves networking.istio.io/v1alpha3,
		// so the EnvoyFilter is left out on both sides.
		{name: "istiod/alone, chart defaults", bundles: []parityBundle{istiod("")}},
		{name: "istiod/after base, wookie values", bundles: []parityBundle{base(wookieBase), istiod(wookieIstiod)}},
		{name: "istiod/after base, scaled", bundles: []parityBundle{base(""), istiod("replicaCount: 3\nimage: mirror.example/pilot\nresources:\n  limits:\n    memory: 1Gi\n")}},
		{name: "gateway/chart defaults", bundles: []parityBundle{gateway("")}},
		{name: "gateway/wookie values, ClusterIP", bundles: []parityBundle{gateway(wookieGateway + "service:\n  type: ClusterIP\n")}},
		{name: "operator/crds separate", bundles: []parityBundle{operator("", "")}},
		{name: "operator/crds inline, watch a namespace", bundles: []parityBundle{operator("watchNamespace: db\n", plan.CRDsInline)}},
		{name: "operator/crds skip", bundles: []parityBundle{operator("", plan.CRDsSkip)}},
		{name: "stack/the wookie default", bundles: []parityBundle{base(wookieBase), istiod(wookieIstiod), gateway(wookieGateway)}},

		// Known differences, each a probe chart of its own. (Subchart
		// conditions, tags and aliases, and a hook repeating an object,
		// were differences too until render did as helm install does.)
		{name: "subchart/disabled by condition and tag", bundles: []parityBundle{{name: "umbrella", namespace: "apps", chart: umbrellaChart()}}},
		{name: "subchart/aliased", bundles: []parityBundle{{name: "alias", namespace: "apps", chart: aliasChart()}}},
		{name: "hook/repeats an ordinary object", bundles: []parityBundle{{name: "dup", namespace: "apps", chart: dupChart()}}},
		{
			name:    "known/integer values",
			differs: "helm template -f reads integers as float64 (1e+06 when printed), wookie's values from the Plan are int64",
			bundles: []parityBundle{{name: "numbers", namespace: "apps", chart: numbersChart(), values: "connections: 1000000\n"}},
		},
		{
			name:    "known/beta APIs",
			differs: "helm template's Capabilities.APIVersions hold every version client-go knows (policy/v1beta1 too), wookie's only those Kubernetes 1.31 serves",
			bundles: []parityBundle{{name: "pdb", namespace: "apps", chart: pdbChart()}},
		},
	}
}

// umbrellaChart has a subchart that its values disable.
func umbrellaChart() charttest.Chart {
	return charttest.Chart{Name: "umbrella", Version: "0.1.0", Files: map[string]string{
		"Chart.yaml":                          "apiVersion: v2\nname: umbrella\nversion: 0.1.0\ndependencies:\n- name: extra\n  version: 0.1.0\n  condition: extra.enabled\n",
		"values.yaml":                         "extra:\n  enabled: false\n",
		"templates/cm.yaml":                   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: umbrella\n",
		"charts/extra/Chart.yaml":             "apiVersion: v2\nname: extra\nversion: 0.1.0\n",
		"charts/extra/templates/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: extra\nspec:\n  ports: [{port: 80}]\n",
	}}
}

// aliasChart uses its subchart under another name, with values for it.
func aliasChart() charttest.Chart {
	return charttest.Chart{Name: "alias", Version: "0.1.0", Files: map[string]string{
		"Chart.yaml":                      "apiVersion: v2\nname: alias\nversion: 0.1.0\ndependencies:\n- name: extra\n  version: 0.1.0\n  alias: second\n",
		"values.yaml":                     "second:\n  port: 81\n",
		"charts/extra/Chart.yaml":         "apiVersion: v2\nname: extra\nversion: 0.1.0\n",
		"charts/extra/values.yaml":        "port: 80\n",
		"charts/extra/templates/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Chart.Name }}\nspec:\n  ports: [{port: {{ .Values.port }}}]\n",
	}}
}

// dupChart has a pre-install hook that is also an ordinary object, as
// charts do for a ServiceAccount their hook Job needs.
func dupChart() charttest.Chart {
	return charttest.Chart{Name: "dup", Version: "0.1.0", Files: map[string]string{
		"templates/sa.yaml":   "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: job\n",
		"templates/hook.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: job\n  annotations: {\"helm.sh/hook\": pre-install}\n",
	}}
}

// numbersChart quotes an integer value, as charts do for env values and
// annotations.
func numbersChart() charttest.Chart {
	return charttest.Chart{Name: "numbers", Version: "0.1.0", Files: map[string]string{
		"values.yaml":       "connections: 100\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: numbers\ndata:\n  connections: {{ .Values.connections | quote }}\n",
	}}
}

// pdbChart picks an old API version when the cluster is said to serve it.
func pdbChart() charttest.Chart {
	return charttest.Chart{Name: "pdb", Version: "0.1.0", Files: map[string]string{
		"templates/pdb.yaml": `apiVersion: {{ if .Capabilities.APIVersions.Has "policy/v1beta1" }}policy/v1beta1{{ else }}policy/v1{{ end }}
kind: PodDisruptionBudget
metadata:
  name: pdb
spec:
  minAvailable: 1
  selector: {matchLabels: {app: pdb}}
`,
	}}
}

// archives is a render.ChartSource of in-memory chart archives, by name.
type archives map[string][]byte

func (a archives) Archive(_ context.Context, c *plan.Chart) ([]byte, error) {
	data, ok := a[c.Name]
	if !ok {
		return nil, fmt.Errorf("no chart %s", c.Name)
	}
	return data, nil
}

// TestHelmParity renders small Plans with wookie and every bundle's chart
// with Helm's own template action (what `helm template --include-crds`
// runs), and compares the objects apart from wookie's documented changes:
// the bundle's namespace on namespaced objects without one, the labels
// wookie.dev/cluster and wookie.dev/bundle, crds/ CRDs in a bundle
// <bundle>-crds (or dropped with crds: skip), hooks as objects with test,
// delete and rollback hooks dropped, and the order of the objects. Helm is
// given the Kubernetes version and API versions wookie renders with. Each
// Plan is rendered without a cache, into a cache, and from it.
func TestHelmParity(t *testing.T) {
	for _, c := range parityCases() {
		t.Run(c.name, func(t *testing.T) {
			src := archives{}
			for _, b := range c.bundles {
				src[b.chart.Name] = charttest.Package(t, b.chart)
			}
			want := helmObjects(t, c.bundles, src)
			p := parityPlan(t, c.bundles)
			cache := &render.Cache{Dir: t.TempDir()}
			for _, run := range []struct {
				name  string
				cache *render.Cache
			}{{"no cache", nil}, {"cache miss", cache}, {"cache hit", cache}} {
				res, err := render.Render(context.Background(), p, render.Options{Charts: src, Cache: run.cache, Version: "parity"})
				if c.wookieErr != "" {
					if err == nil || !strings.Contains(err.Error(), c.wookieErr) {
						t.Errorf("%s: render: got error %v, want one with %q (%s)", run.name, err, c.wookieErr, c.differs)
					} else if run.cache == nil {
						t.Logf("known difference: %s: %v", c.differs, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: render: %v", run.name, err)
				}
				got := wookieObjects(t, res, c.bundles)
				diff := cmp.Diff(want, got)
				switch {
				case c.differs == "" && diff != "":
					t.Errorf("%s: wookie's objects differ from helm template's (-helm +wookie):\n%s", run.name, diff)
				case c.differs != "" && diff == "":
					t.Errorf("%s: the known difference is gone (%s): make the case an ordinary one", run.name, c.differs)
				case c.differs != "" && run.cache == nil:
					t.Logf("known difference: %s (-helm +wookie):\n%s", c.differs, diff)
				}
			}
		})
	}
}

// parityPlan builds the case's Plan the way a front end hands it over: as
// JSON, decoded and normalized.
func parityPlan(t *testing.T, bundles []parityBundle) *plan.Plan {
	t.Helper()
	var batches []any
	for i, b := range bundles {
		values := json.RawMessage("{}")
		if strings.TrimSpace(b.values) != "" {
			js, err := yaml.YAMLToJSON([]byte(b.values))
			if err != nil {
				t.Fatalf("bundle %s: values: %v", b.name, err)
			}
			values = js
		}
		bundle := map[string]any{
			"name":      b.name,
			"namespace": b.namespace,
			"chart":     map[string]any{"repo": "charts", "name": b.chart.Name, "version": b.chart.Version, "values": values},
		}
		if b.crds != "" {
			bundle["crds"] = b.crds
		}
		if i > 0 {
			bundle["dependsOn"] = []string{bundles[i-1].name}
		}
		batches = append(batches, map[string]any{"name": fmt.Sprintf("b%d", i), "priority": 100 * (i + 1), "bundles": []any{bundle}})
	}
	data, err := json.Marshal(map[string]any{
		"apiVersion": plan.APIVersion,
		"kind":       plan.Kind,
		"clusters": []any{map[string]any{
			"name": parityCluster, "target": "test", "context": "test", "kubeVersion": parityKube, "batches": batches,
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Decode(data, "parity.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Normalize(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// objectSet is a multiset of objects by ID ("Kind.group namespace/name"):
// each object as sorted YAML after a "# Source:" line, sorted.
type objectSet map[string][]string

func (s objectSet) add(source string, obj map[string]any) error {
	data, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	id := objectID(obj)
	s[id] = append(s[id], "# Source: "+source+"\n"+string(data))
	slices.Sort(s[id])
	return nil
}

func objectID(obj map[string]any) string {
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

// sourced is one object of a YAML stream and the template it came from.
type sourced struct {
	source string
	obj    map[string]any
}

// decodeStream splits a YAML stream the way kubectl does and decodes each
// document, with integers as int64. A document's source is the "# Source:"
// comment it starts with, else source.
func decodeStream(t *testing.T, source, stream string) []sourced {
	t.Helper()
	var out []sourced
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(stream)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", source, err)
		}
		src := source
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
			out = append(out, sourced{src, obj})
		}
	}
}

// helmObjects renders every bundle with Helm's template action, in order,
// each seeing the API versions wookie gives it: the cluster's built-in API,
// the CRDs of the bundles before it and its own crds/. Namespaced objects
// without a namespace get the bundle's, by the scopes of the built-in API
// and of every CRD rendered.
func helmObjects(t *testing.T, bundles []parityBundle, src archives) map[string]objectSet {
	t.Helper()
	kube, err := common.ParseKubeVersion(parityKube)
	if err != nil {
		t.Fatal(err)
	}
	api, err := render.BuiltinAPI(parityKube)
	if err != nil {
		t.Fatal(err)
	}
	apis := append(api.GroupVersions(), api.GroupVersionKinds()...)
	rendered := map[string][]sourced{}
	for _, b := range bundles {
		ch, err := loader.LoadArchive(bytes.NewReader(src[b.chart.Name]))
		if err != nil {
			t.Fatalf("bundle %s: %v", b.name, err)
		}
		values, err := loader.LoadValues(strings.NewReader(b.values))
		if err != nil {
			t.Fatalf("bundle %s: values: %v", b.name, err)
		}
		own := slices.Clone(apis)
		for _, crd := range ch.CRDObjects() {
			for _, o := range decodeStream(t, crd.Filename, string(crd.File.Data)) {
				own = append(own, crdAPIVersions(o.obj)...)
			}
		}
		install := action.NewInstall(action.NewConfiguration())
		install.DryRunStrategy = action.DryRunClient
		install.Replace = true
		install.ReleaseName = b.name
		install.Namespace = b.namespace
		install.IncludeCRDs = b.crds != plan.CRDsSkip
		install.KubeVersion = kube
		install.APIVersions = own
		r, err := install.Run(ch, values)
		if err != nil {
			t.Fatalf("bundle %s: helm template: %v", b.name, err)
		}
		rel, ok := r.(*release.Release)
		if !ok {
			t.Fatalf("bundle %s: helm template gave a %T", b.name, r)
		}
		objs := decodeStream(t, b.name, rel.Manifest)
		for _, h := range rel.Hooks {
			if !appliedHook(h.Events) {
				continue
			}
			objs = append(objs, decodeStream(t, h.Path, h.Manifest)...)
		}
		rendered[b.name] = objs
		for _, o := range objs {
			apis = append(apis, crdAPIVersions(o.obj)...)
		}
	}

	scopes := map[string]bool{}
	for _, objs := range rendered {
		for _, o := range objs {
			if gk, namespaced, ok := crdScope(o.obj); ok {
				scopes[gk] = namespaced
			}
		}
	}
	out := map[string]objectSet{}
	for _, b := range bundles {
		set := objectSet{}
		for _, o := range rendered[b.name] {
			apiVersion, _ := o.obj["apiVersion"].(string)
			kind, _ := o.obj["kind"].(string)
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
				t.Fatalf("bundle %s: %s: scope unknown", b.name, objectID(o.obj))
			}
			meta, _ := o.obj["metadata"].(map[string]any)
			if ns, _ := meta["namespace"].(string); namespaced && ns == "" {
				meta["namespace"] = b.namespace
			}
			dropEmptyLabels(o.obj)
			if err := set.add(o.source, o.obj); err != nil {
				t.Fatal(err)
			}
		}
		if len(set) == 0 {
			t.Fatalf("bundle %s: helm template gave no objects", b.name)
		}
		out[b.name] = set
	}
	return out
}

// appliedHook reports whether wookie keeps a hook with these events: it
// applies pre-/post-install and -upgrade hooks and drops test, delete and
// rollback hooks (`wookie render --help`).
func appliedHook(events []release.HookEvent) bool {
	return slices.ContainsFunc(events, func(e release.HookEvent) bool {
		return e == release.HookPreInstall || e == release.HookPreUpgrade || e == release.HookPostInstall || e == release.HookPostUpgrade
	})
}

// crdAPIVersions returns what a CRD adds to Capabilities.APIVersions:
// "group/version" and "group/version/Kind" for each served version.
func crdAPIVersions(obj map[string]any) []string {
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

// crdScope returns the group kind a CRD defines and whether it is
// namespaced.
func crdScope(obj map[string]any) (string, bool, bool) {
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

// wookieObjects collects, for every bundle of the case, the objects of the
// bundle and of its generated <bundle>-crds bundle, as `wookie render`
// writes them, with wookie's labels checked and taken away.
func wookieObjects(t *testing.T, res *render.Result, bundles []parityBundle) map[string]objectSet {
	t.Helper()
	if len(res.Clusters) != 1 {
		t.Fatalf("%d clusters rendered", len(res.Clusters))
	}
	byName := map[string]render.Bundle{}
	for _, batch := range res.Clusters[0].Batches {
		for _, u := range batch.Bundles {
			byName[u.Name] = u
		}
	}
	out := map[string]objectSet{}
	for _, b := range bundles {
		set := objectSet{}
		for _, name := range []string{b.name, b.name + "-crds"} {
			u, ok := byName[name]
			if !ok || name != b.name && !u.Generated {
				continue
			}
			data, err := render.MarshalYAML(u.Objects)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range decodeStream(t, name, string(data)) {
				meta, _ := o.obj["metadata"].(map[string]any)
				labels, _ := meta["labels"].(map[string]any)
				for k, want := range map[string]string{render.LabelCluster: parityCluster, render.LabelBundle: name} {
					if labels[k] == want {
						delete(labels, k)
					}
				}
				dropEmptyLabels(o.obj)
				switch fromCRDs := strings.Contains(o.source, "/crds/"); {
				case name != b.name && !fromCRDs:
					t.Errorf("bundle %s: %s does not come from a crds/ directory (%s)", name, objectID(o.obj), o.source)
				case name == b.name && fromCRDs && b.crds != plan.CRDsInline:
					t.Errorf("bundle %s: %s from %s belongs in %s-crds", name, objectID(o.obj), o.source, b.name)
				}
				if err := set.add(o.source, o.obj); err != nil {
					t.Fatal(err)
				}
			}
		}
		out[b.name] = set
	}
	// No bundles but the case's and their CRD bundles.
	for name, u := range byName {
		owner := name
		if u.Generated {
			owner = strings.TrimSuffix(name, "-crds")
		}
		if _, ok := out[owner]; !ok {
			t.Errorf("unexpected bundle %s", name)
		}
	}
	return out
}
