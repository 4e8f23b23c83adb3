package emit

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// fixturePlan is a two-cluster Plan with what the formats must handle: an
// HTTP and an OCI chart, a chart whose crds/ became a generated bundle, raw
// manifests with {{ in them, values with ${, a namespace created only in a
// later batch, a custom resource whose CRD comes from an earlier bundle,
// and ignoreDifferences.
const fixturePlan = `
apiVersion: wookie.dev/v1alpha1
kind: Plan
gitops:
  repo: https://git.example.org/platform/deploy.git
  revision: main
  path: clusters
clusters:
- name: east
  target: kubeconfig
  context: east
  kubeVersion: 1.31.0
  gitops:
    fleet: {clusterSelector: {region: east}}
    argocd: {server: "https://10.0.0.1:6443"}
    flux: {kubeConfigSecret: east-kubeconfig}
  batches:
  - name: crds
    priority: 100
    bundles:
    - name: base
      namespace: mesh
      chart: {repo: "https://charts.example.org/stable", name: base, version: 1.0.0, values: {x: 1}}
  - name: namespaces
    priority: 200
    bundles:
    - name: ns-mesh
      namespace: mesh
      manifests:
      - {apiVersion: v1, kind: Namespace, metadata: {name: mesh}}
  - name: operators
    priority: 300
    bundles:
    - name: operator
      namespace: mesh
      dependsOn: [base]
      chart: {repo: "oci://registry.example.org/charts", name: operator, version: 2.0.0, values: {greeting: "${ .ClusterName }"}}
      ignoreDifferences:
      - apiVersion: admissionregistration.k8s.io/v1
        kind: ValidatingWebhookConfiguration
        name: operator-validator
        jsonPointers: [/webhooks/0/clientConfig/caBundle]
    - name: settings
      namespace: mesh
      dependsOn: [operator]
      manifests:
      - {apiVersion: v1, kind: ConfigMap, metadata: {name: tpl}, data: {tpl: "{{ .Values.x }}"}}
  - name: services
    priority: 600
    bundles:
    - name: app
      namespace: apps
      manifests:
      - {apiVersion: example.org/v1, kind: Widget, metadata: {name: w}, spec: {size: 1}}
- name: west
  target: local-k3d
  context: k3d-west
  kubeVersion: 1.31.0
  batches:
  - name: services
    priority: 600
    bundles:
    - name: app
      namespace: default
      manifests:
      - {apiVersion: v1, kind: ConfigMap, metadata: {name: app}}
`

// fixtureObjects are the rendered objects of the fixture's bundles.
var fixtureObjects = map[string]string{
	"east/base": `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.org}
spec: {group: example.org, names: {kind: Widget, plural: widgets}, scope: Namespaced, versions: [{name: v1, served: true, storage: true}]}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: base-reader, namespace: mesh}
`,
	"east/operator-crds": `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.org}
spec: {group: example.org, names: {kind: Gadget, plural: gadgets}, scope: Namespaced, versions: [{name: v1, served: true, storage: true}]}
`,
	"east/ns-mesh": `
apiVersion: v1
kind: Namespace
metadata: {name: mesh}
`,
	"east/operator": `
apiVersion: apps/v1
kind: Deployment
metadata: {name: operator, namespace: mesh}
spec: {selector: {matchLabels: {app: operator}}, template: {metadata: {labels: {app: operator}}, spec: {containers: [{name: operator, image: "operator:2.0.0"}]}}}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: operator-validator}
webhooks: []
`,
	"east/settings": `
apiVersion: v1
kind: ConfigMap
metadata: {name: tpl, namespace: mesh}
data: {tpl: "{{ .Values.x }}"}
`,
	"east/app": `
apiVersion: example.org/v1
kind: Widget
metadata: {name: w, namespace: apps}
spec: {size: 1}
`,
	"west/app": `
apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: default}
`,
}

// fixture returns the fixture's Plan and a rendered result shaped like
// render.Render's: operator's CRDs in a generated bundle operator-crds in
// the crds batch, which operator depends on.
func fixture(t testing.TB) (*plan.Plan, *render.Result) {
	t.Helper()
	p, err := plan.Decode([]byte(fixturePlan), "fixture")
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Normalize(p); err != nil {
		t.Fatal(err)
	}
	r := &render.Result{}
	for _, pc := range p.Clusters {
		rc := render.Cluster{Name: pc.Name}
		for _, pb := range pc.Batches {
			rb := render.Batch{Name: pb.Name, Priority: pb.Priority}
			if pc.Name == "east" && pb.Name == "crds" {
				rb.Bundles = append(rb.Bundles, render.Bundle{Name: "operator-crds", Namespace: "mesh", Generated: true,
					Objects: fixtureDecode(t, fixtureObjects["east/operator-crds"])})
			}
			for _, u := range pb.Bundles {
				deps := slices.Clone(u.DependsOn)
				if u.Name == "operator" {
					deps = append(deps, "operator-crds")
					slices.Sort(deps)
				}
				rb.Bundles = append(rb.Bundles, render.Bundle{Name: u.Name, Namespace: u.Namespace, DependsOn: deps,
					Objects: fixtureDecode(t, fixtureObjects[pc.Name+"/"+u.Name])})
			}
			rc.Batches = append(rc.Batches, rb)
		}
		r.Clusters = append(r.Clusters, rc)
	}
	return p, r
}

// fixtureDecode decodes a YAML stream into rendered objects.
func fixtureDecode(t testing.TB, stream string) []*render.Object {
	t.Helper()
	var out []*render.Object
	for _, doc := range strings.Split(stream, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, &render.Object{Unstructured: &unstructured.Unstructured{Object: m}, Source: "fixture"})
	}
	return out
}

// planOrder is the order the Plan implies for a cluster of r: for every
// bundle, the set of bundles that must come before it (its dependsOn and
// every bundle of an earlier non-empty batch, transitively).
func planOrder(r *render.Result, cluster string) map[string][]string {
	out := map[string][]string{}
	for _, c := range r.Clusters {
		if c.Name != cluster {
			continue
		}
		var earlier []string
		for _, b := range c.Batches {
			var names []string
			for _, u := range b.Bundles {
				before := map[string]bool{}
				for _, e := range earlier {
					before[e] = true
				}
				var visit func(string)
				visit = func(d string) {
					if before[d] {
						return
					}
					before[d] = true
					for _, dd := range findDeps(c, d) {
						visit(dd)
					}
				}
				for _, d := range u.DependsOn {
					visit(d)
				}
				out[u.Name] = slices.Sorted(maps.Keys(before))
				names = append(names, u.Name)
			}
			earlier = append(earlier, names...)
		}
	}
	return out
}

func findDeps(c render.Cluster, name string) []string {
	for _, b := range c.Batches {
		for _, u := range b.Bundles {
			if u.Name == name {
				return u.DependsOn
			}
		}
	}
	return nil
}

// closure turns direct edges (bundle -> the bundles it follows) into the
// set of every bundle each one follows; a cycle fails the test.
func closure(t testing.TB, edges map[string][]string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for n := range edges {
		seen := map[string]bool{}
		var visit func(string, []string)
		visit = func(m string, path []string) {
			for _, d := range edges[m] {
				if d == n {
					t.Fatalf("cycle: %s", strings.Join(append(path, d), " -> "))
				}
				if !seen[d] {
					seen[d] = true
					visit(d, append(path, d))
				}
			}
		}
		visit(n, []string{n})
		out[n] = slices.Sorted(maps.Keys(seen))
	}
	return out
}
