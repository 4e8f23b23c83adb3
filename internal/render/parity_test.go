package render_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/internal/render/paritytest"
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

// helmObjects renders every bundle with Helm's template action, in order,
// each in a batch of its own (paritytest.Helm).
func helmObjects(t *testing.T, bundles []parityBundle, src archives) map[string]paritytest.Objects {
	t.Helper()
	var batches [][]paritytest.Bundle
	for _, b := range bundles {
		values, err := loader.LoadValues(strings.NewReader(b.values))
		if err != nil {
			t.Fatalf("bundle %s: values: %v", b.name, err)
		}
		batches = append(batches, []paritytest.Bundle{{Name: b.name, Namespace: b.namespace, Archive: src[b.chart.Name], Values: values, CRDs: b.crds}})
	}
	out := paritytest.Helm(t, parityKube, batches)
	for _, b := range bundles {
		if len(out[b.name]) == 0 {
			t.Fatalf("bundle %s: helm template gave no objects", b.name)
		}
	}
	return out
}

// wookieObjects collects, for every bundle of the case, the objects of the
// bundle and of its generated <bundle>-crds bundle, as `wookie render`
// writes them, with wookie's labels checked and taken away
// (paritytest.Wookie).
func wookieObjects(t *testing.T, res *render.Result, bundles []parityBundle) map[string]paritytest.Objects {
	t.Helper()
	if len(res.Clusters) != 1 {
		t.Fatalf("%d clusters rendered", len(res.Clusters))
	}
	chartBundles := map[string]string{}
	for _, b := range bundles {
		chartBundles[b.name] = b.crds
	}
	var rendered []paritytest.Rendered
	for _, batch := range res.Clusters[0].Batches {
		for _, u := range batch.Bundles {
			data, err := render.MarshalYAML(u.Objects)
			if err != nil {
				t.Fatal(err)
			}
			rendered = append(rendered, paritytest.Rendered{Name: u.Name, Generated: u.Generated, YAML: data})
			// No bundles but the case's and their CRD bundles.
			owner := u.Name
			if u.Generated {
				owner = strings.TrimSuffix(u.Name, "-crds")
			}
			if _, ok := chartBundles[owner]; !ok {
				t.Errorf("unexpected bundle %s", u.Name)
			}
		}
	}
	return paritytest.Wookie(t, parityCluster, rendered, chartBundles)
}
