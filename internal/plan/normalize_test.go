package plan

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cl is the cluster of the test plans.
const cl = "wookie-local"

// chartBundle returns a valid chart bundle.
func chartBundle(name, namespace string, dependsOn ...string) Bundle {
	return Bundle{Name: name, Namespace: namespace, DependsOn: dependsOn,
		Chart: &Chart{Repo: "https://charts.example.com", Name: name, Version: "1.0.0"}}
}

// manifestBundle returns a valid raw-manifest bundle with one ConfigMap.
func manifestBundle(name, namespace string, dependsOn ...string) Bundle {
	return Bundle{Name: name, Namespace: namespace, DependsOn: dependsOn,
		Manifests: []Object{configMap(name)}}
}

// cacertsBundle returns a generated bundle of the cacerts Secret of
// cluster's intermediate CA.
func cacertsBundle(name, cluster string) Bundle {
	return Bundle{Name: name, Namespace: "istio-system",
		Generate: &Generate{IstioCACerts: &IstioCACerts{Cluster: cluster}}}
}

// configMap returns a ConfigMap object named name.
func configMap(name string) Object {
	return Object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name}}
}

// validPlan returns a small valid, normalized plan: cluster wookie-local with
// batch crds (istio-base) and batch operators (istiod, which depends on
// istio-base).
func validPlan() *Plan {
	return &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{{
		Name: cl, Target: "k3d", Context: "k3d-wookie-local", KubeVersion: "1.31.4",
		Batches: []Batch{
			{Name: "crds", Priority: 100, Bundles: []Bundle{chartBundle("istio-base", "istio-system")}},
			{Name: "operators", Priority: 300, Bundles: []Bundle{chartBundle("istiod", "istio-system", "istio-base")}},
		},
	}}}
}

// notLabel is the message for a name that is not a DNS-1123 label.
func notLabel(v string) string {
	return fmt.Sprintf("%q is not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)", v)
}

func TestNormalizeValidation(t *testing.T) {
	// base, istioBase and istiod point into the plan a case mutates.
	type plan struct {
		*Plan
		cluster   *Cluster
		istioBase *Bundle
		istiod    *Bundle
	}
	// bundle adds a bundle to batch i of the cluster and returns it.
	addBundle := func(p plan, batch int, b Bundle) {
		p.cluster.Batches[batch].Bundles = append(p.cluster.Batches[batch].Bundles, b)
	}
	tests := []struct {
		name   string
		mutate func(p plan)
		want   Errors
	}{
		{
			name:   "valid",
			mutate: func(plan) {},
		},
		{
			name:   "empty plan is valid",
			mutate: func(p plan) { p.Clusters = nil },
		},
		{
			name:   "local chart needs no version",
			mutate: func(p plan) { p.istiod.Chart.Repo, p.istiod.Chart.Version = "./charts", "" },
		},
		{
			name:   "kubeVersion with v and build metadata",
			mutate: func(p plan) { p.cluster.KubeVersion = "v1.31.4+k3s1" },
		},
		{
			name:   "oci repo",
			mutate: func(p plan) { p.istiod.Chart.Repo = "oci://ghcr.io/example/charts" },
		},
		{
			name:   "apiVersion wrong",
			mutate: func(p plan) { p.APIVersion = "v1" },
			want:   Errors{{Field: "apiVersion", Msg: `found "v1", expected "wookie.dev/v1alpha1"`}},
		},
		{
			name:   "kind missing",
			mutate: func(p plan) { p.Kind = "" },
			want:   Errors{{Field: "kind", Msg: `missing, expected "Plan"`}},
		},
		{
			name:   "cluster name missing",
			mutate: func(p plan) { p.cluster.Name = "" },
			want:   Errors{{Cluster: "#0", Field: "name", Msg: "required"}},
		},
		{
			name:   "cluster name not a DNS label",
			mutate: func(p plan) { p.cluster.Name = "Wookie_Local" },
			want:   Errors{{Cluster: "Wookie_Local", Field: "name", Msg: notLabel("Wookie_Local")}},
		},
		{
			name: "cluster name duplicate",
			mutate: func(p plan) {
				p.Clusters = append(p.Clusters, Cluster{Name: cl, Target: "k3d", Context: "c", KubeVersion: "1.31.4"})
			},
			want: Errors{{Cluster: cl, Field: "name", Msg: "used by 2 clusters"}},
		},
		{
			name:   "target missing",
			mutate: func(p plan) { p.cluster.Target = "" },
			want:   Errors{{Cluster: cl, Field: "target", Msg: "required"}},
		},
		{
			name:   "context missing",
			mutate: func(p plan) { p.cluster.Context = "" },
			want:   Errors{{Cluster: cl, Field: "context", Msg: "required"}},
		},
		{
			name:   "kubeVersion missing",
			mutate: func(p plan) { p.cluster.KubeVersion = "" },
			want:   Errors{{Cluster: cl, Field: "kubeVersion", Msg: "required"}},
		},
		{
			name:   "kubeVersion not MAJOR.MINOR.PATCH",
			mutate: func(p plan) { p.cluster.KubeVersion = "1.31" },
			want:   Errors{{Cluster: cl, Field: "kubeVersion", Msg: `"1.31" is not a version MAJOR.MINOR.PATCH (e.g. 1.31.4)`}},
		},
		{
			name:   "batch name not a DNS label",
			mutate: func(p plan) { p.cluster.Batches[0].Name = "CRDs" },
			want:   Errors{{Cluster: cl, Batch: "CRDs", Field: "name", Msg: notLabel("CRDs")}},
		},
		{
			name:   "batch name missing",
			mutate: func(p plan) { p.cluster.Batches[0].Name = "" },
			want:   Errors{{Cluster: cl, Batch: "#0", Field: "name", Msg: "required"}},
		},
		{
			name:   "batch name duplicate",
			mutate: func(p plan) { p.cluster.Batches = append(p.cluster.Batches, Batch{Name: "crds", Priority: 50}) },
			want:   Errors{{Cluster: cl, Batch: "crds", Field: "name", Msg: "used by 2 batches"}},
		},
		{
			name:   "bundle name missing",
			mutate: func(p plan) { addBundle(p, 0, Bundle{Namespace: "default", Manifests: []Object{configMap("x")}}) },
			want:   Errors{{Cluster: cl, Batch: "crds", Bundle: "#1", Field: "name", Msg: "required"}},
		},
		{
			name:   "bundle name not a DNS label",
			mutate: func(p plan) { addBundle(p, 0, manifestBundle("istio.crds", "default")) },
			want:   Errors{{Cluster: cl, Batch: "crds", Bundle: "istio.crds", Field: "name", Msg: notLabel("istio.crds")}},
		},
		{
			name:   "bundle name duplicate across batches",
			mutate: func(p plan) { addBundle(p, 1, manifestBundle("istio-base", "default")) },
			want:   Errors{{Cluster: cl, Bundle: "istio-base", Field: "name", Msg: "used by 2 bundles, in batches crds, operators"}},
		},
		{
			name:   "bundle name duplicate in one batch",
			mutate: func(p plan) { addBundle(p, 0, manifestBundle("istio-base", "default")) },
			want:   Errors{{Cluster: cl, Bundle: "istio-base", Field: "name", Msg: "used by 2 bundles in batch crds"}},
		},
		{
			name:   "chart bundle name longer than a release name",
			mutate: func(p plan) { addBundle(p, 0, chartBundle(strings.Repeat("a", 54), "default")) },
			want: Errors{{Cluster: cl, Batch: "crds", Bundle: strings.Repeat("a", 54), Field: "name",
				Msg: "is 54 characters; a chart bundle's name is its Helm release name, at most 53"}},
		},
		{
			name:   "manifest bundle name may be 63 characters",
			mutate: func(p plan) { addBundle(p, 0, manifestBundle(strings.Repeat("a", 63), "default")) },
		},
		{
			name:   "namespace missing",
			mutate: func(p plan) { p.istiod.Namespace = "" },
			want:   Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "namespace", Msg: "required"}},
		},
		{
			name:   "namespace not a DNS label",
			mutate: func(p plan) { p.istiod.Namespace = "Istio_System" },
			want:   Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "namespace", Msg: notLabel("Istio_System")}},
		},
		{
			name:   "neither chart nor manifests",
			mutate: func(p plan) { p.istiod.Chart = nil; p.istiod.Manifests = []Object{} },
			want:   Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Msg: "has none of chart, manifests and generate; set exactly one"}},
		},
		{
			name:   "both chart and manifests",
			mutate: func(p plan) { p.istiod.Manifests = []Object{configMap("x")} },
			want:   Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Msg: "has both chart and manifests; set exactly one"}},
		},
		{
			name:   "generated bundle",
			mutate: func(p plan) { addBundle(p, 0, cacertsBundle("istio-cacerts", cl)) },
		},
		{
			name: "sensitive manifest bundle",
			mutate: func(p plan) {
				b := manifestBundle("remote-secrets", "istio-system")
				b.Sensitive = true
				addBundle(p, 1, b)
			},
		},
		{
			name: "chart and generate",
			mutate: func(p plan) {
				p.istiod.Generate = &Generate{IstioCACerts: &IstioCACerts{Cluster: cl}}
			},
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Msg: "has both chart and generate; set exactly one"}},
		},
		{
			name: "manifests and generate",
			mutate: func(p plan) {
				b := cacertsBundle("istio-cacerts", cl)
				b.Manifests = []Object{configMap("x")}
				addBundle(p, 0, b)
			},
			want: Errors{{Cluster: cl, Batch: "crds", Bundle: "istio-cacerts", Msg: "has both manifests and generate; set exactly one"}},
		},
		{
			name: "chart, manifests and generate",
			mutate: func(p plan) {
				p.istiod.Manifests = []Object{configMap("x")}
				p.istiod.Generate = &Generate{IstioCACerts: &IstioCACerts{Cluster: cl}}
			},
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Msg: "has chart, manifests and generate; set exactly one"}},
		},
		{
			name:   "generate names nothing",
			mutate: func(p plan) { addBundle(p, 0, Bundle{Name: "gen", Namespace: "istio-system", Generate: &Generate{}}) },
			want:   Errors{{Cluster: cl, Batch: "crds", Bundle: "gen", Field: "generate", Msg: "names nothing to generate; set istioCACerts"}},
		},
		{
			name:   "istioCACerts cluster missing",
			mutate: func(p plan) { addBundle(p, 0, cacertsBundle("istio-cacerts", "")) },
			want:   Errors{{Cluster: cl, Batch: "crds", Bundle: "istio-cacerts", Field: "generate.istioCACerts.cluster", Msg: "required"}},
		},
		{
			name:   "istioCACerts cluster not a DNS label",
			mutate: func(p plan) { addBundle(p, 0, cacertsBundle("istio-cacerts", "East_1")) },
			want: Errors{{Cluster: cl, Batch: "crds", Bundle: "istio-cacerts", Field: "generate.istioCACerts.cluster",
				Msg: notLabel("East_1")}},
		},
		{
			name:   "chart repo missing",
			mutate: func(p plan) { p.istiod.Chart.Repo = "" },
			want:   Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "chart.repo", Msg: "required"}},
		},
		{
			name:   "chart name missing",
			mutate: func(p plan) { p.istiod.Chart.Name = "" },
			want:   Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "chart.name", Msg: "required"}},
		},
		{
			name:   "chart version missing for a remote repo",
			mutate: func(p plan) { p.istiod.Chart.Version = "" },
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "chart.version",
				Msg: "required for a chart from a remote repository"}},
		},
		{
			name:   "chart repo URL invalid",
			mutate: func(p plan) { p.istiod.Chart.Repo = "https://charts example.com" },
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "chart.repo",
				Msg: `"https://charts example.com" is not a valid URL: invalid character " " in host name`}},
		},
		{
			name:   "chart repo URL with user and password",
			mutate: func(p plan) { p.istiod.Chart.Repo = "https://ci:s3cret@charts.example.com/x" },
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "chart.repo",
				Msg: `"https://xxxxx@charts.example.com/x" has credentials in it (before the @): give them in the credentials file ($WOOKIE_CREDENTIALS), not in the configuration`}},
		},
		{
			name:   "chart repo URL with user information that does not parse",
			mutate: func(p plan) { p.istiod.Chart.Repo = "https://ci:s3c ret@charts.example.com/x" },
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "chart.repo",
				Msg: `"https://xxxxx@charts.example.com/x" has credentials in it (before the @): give them in the credentials file ($WOOKIE_CREDENTIALS), not in the configuration`}},
		},
		{
			name:   "oci repo URL with a token",
			mutate: func(p plan) { p.istiod.Chart.Repo = "oci://T0KEN@ghcr.io/x" },
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "chart.repo",
				Msg: `"oci://xxxxx@ghcr.io/x" has credentials in it (before the @): give them in the credentials file ($WOOKIE_CREDENTIALS), not in the configuration`}},
		},
		{
			name:   "gitops repo URL with a token",
			mutate: func(p plan) { p.GitOps = &GitOps{Repo: "https://ghp_T0KEN@github.com/org/x.git"} },
			want: Errors{{Field: "gitops.repo",
				Msg: `"https://xxxxx@github.com/org/x.git" has credentials in it (before the @): it is written into every GitOps output; give the engines Git credentials of their own`}},
		},
		{
			name:   "gitops repo over ssh with a user",
			mutate: func(p plan) { p.GitOps = &GitOps{Repo: "ssh://git@github.com/org/x.git"} },
		},
		{
			name:   "chart repo URL without host",
			mutate: func(p plan) { p.istiod.Chart.Repo = "https:///charts" },
			want:   Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "chart.repo", Msg: `"https:///charts" has no host`}},
		},
		{
			name:   "oci repo without host",
			mutate: func(p plan) { p.istiod.Chart.Repo = "oci:///charts" },
			want:   Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "chart.repo", Msg: `"oci:///charts" has no host`}},
		},
		{
			name:   "oci repo without path",
			mutate: func(p plan) { p.istiod.Chart.Repo = "oci://ghcr.io/" },
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "chart.repo",
				Msg: `"oci://ghcr.io/" has no path (oci://<host>/<path>)`}},
		},
		{
			name:   "chart digest malformed",
			mutate: func(p plan) { p.istiod.Chart.Digest = "sha256:ABC" },
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "chart.digest",
				Msg: `"sha256:ABC" is not sha256:<64 lowercase hex digits>`}},
		},
		{
			name: "manifest apiVersion missing",
			mutate: func(p plan) {
				addBundle(p, 0, Bundle{Name: "objs", Namespace: "default",
					Manifests: []Object{configMap("a"), {"kind": "ConfigMap", "metadata": map[string]any{"name": "b"}}}})
			},
			want: Errors{{Cluster: cl, Batch: "crds", Bundle: "objs", Field: "manifests[1]", Msg: "apiVersion missing"}},
		},
		{
			name: "manifest kind not a string",
			mutate: func(p plan) {
				addBundle(p, 0, Bundle{Name: "objs", Namespace: "default",
					Manifests: []Object{{"apiVersion": "v1", "kind": 3, "metadata": map[string]any{"name": "b"}}}})
			},
			want: Errors{{Cluster: cl, Batch: "crds", Bundle: "objs", Field: "manifests[0]", Msg: "kind must be a non-empty string"}},
		},
		{
			name: "manifest metadata.name missing",
			mutate: func(p plan) {
				addBundle(p, 0, Bundle{Name: "objs", Namespace: "default",
					Manifests: []Object{configMap("a"), configMap("b"), {"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{}}}})
			},
			want: Errors{{Cluster: cl, Batch: "crds", Bundle: "objs", Field: "manifests[2]", Msg: "metadata.name missing"}},
		},
		{
			name: "manifest metadata.name empty",
			mutate: func(p plan) {
				addBundle(p, 0, Bundle{Name: "objs", Namespace: "default",
					Manifests: []Object{{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": ""}}}})
			},
			want: Errors{{Cluster: cl, Batch: "crds", Bundle: "objs", Field: "manifests[0]", Msg: "metadata.name must be a non-empty string"}},
		},
		{
			name: "manifest metadata not an object",
			mutate: func(p plan) {
				addBundle(p, 0, Bundle{Name: "objs", Namespace: "default",
					Manifests: []Object{{"apiVersion": "v1", "kind": "ConfigMap", "metadata": []any{"x"}}}})
			},
			want: Errors{{Cluster: cl, Batch: "crds", Bundle: "objs", Field: "manifests[0]", Msg: "metadata must be an object"}},
		},
		{
			name:   "label key invalid",
			mutate: func(p plan) { p.istiod.Labels = map[string]string{"wookie.dev/": "x", "ok": "fine"} },
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "labels",
				Msg: `key "wookie.dev/": name part must be non-empty; name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`}},
		},
		{
			name:   "label value invalid",
			mutate: func(p plan) { p.istiod.Labels = map[string]string{"app": "-istiod"} },
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "labels",
				Msg: `value "-istiod" of key "app": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`}},
		},
		{
			name:   "dependsOn empty entry",
			mutate: func(p plan) { p.istiod.DependsOn = []string{"istio-base", ""} },
			want:   Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "dependsOn", Msg: "empty entry"}},
		},
		{
			name:   "dependsOn duplicate entry",
			mutate: func(p plan) { p.istiod.DependsOn = []string{"istio-base", "istio-base", "istio-base"} },
			want:   Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "dependsOn", Msg: `duplicate entry "istio-base"`}},
		},
		{
			name:   "dependsOn unknown bundle",
			mutate: func(p plan) { p.istiod.DependsOn = []string{"foo"} },
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "dependsOn",
				Msg: `no bundle "foo" in cluster wookie-local`}},
		},
		{
			name: "dependsOn bundle of another cluster",
			mutate: func(p plan) {
				p.Clusters = append(p.Clusters, Cluster{Name: "other", Target: "k3d", Context: "c", KubeVersion: "1.31.4", Batches: []Batch{{Name: "apps", Bundles: []Bundle{manifestBundle("app", "default", "istiod")}}}})
			},
			want: Errors{{Cluster: "other", Batch: "apps", Bundle: "app", Field: "dependsOn",
				Msg: `no bundle "istiod" in cluster other`}},
		},
		{
			name:   "dependsOn bundle in a later batch",
			mutate: func(p plan) { p.istioBase.DependsOn = []string{"istiod"}; p.istiod.DependsOn = nil },
			want: Errors{{Cluster: cl, Batch: "crds", Bundle: "istio-base", Field: "dependsOn",
				Msg: `bundle "istiod" is in batch operators (priority 300), which deploys after batch crds (priority 100)`}},
		},
		{
			name: "dependsOn bundle in a batch of the same priority and a larger name",
			mutate: func(p plan) {
				p.cluster.Batches[1].Priority = 100
				p.istioBase.DependsOn = []string{"istiod"}
				p.istiod.DependsOn = nil
			},
			want: Errors{{Cluster: cl, Batch: "crds", Bundle: "istio-base", Field: "dependsOn",
				Msg: `bundle "istiod" is in batch operators (priority 100), which deploys after batch crds (priority 100)`}},
		},
		{
			name:   "dependsOn itself",
			mutate: func(p plan) { p.istiod.DependsOn = []string{"istio-base", "istiod"} },
			want:   Errors{{Cluster: cl, Batch: "operators", Bundle: "istiod", Msg: "dependsOn cycle: istiod -> istiod"}},
		},
		{
			name: "dependsOn cycle of three",
			mutate: func(p plan) {
				p.cluster.Batches[1].Bundles = []Bundle{
					manifestBundle("c", "default", "a"),
					manifestBundle("b", "default", "c"),
					manifestBundle("a", "default", "b", "istio-base"),
				}
			},
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "a", Msg: "dependsOn cycle: a -> b -> c -> a"}},
		},
		{
			name: "dependsOn cycle reported once, shortest through smallest name",
			mutate: func(p plan) {
				// a -> b -> c -> a and a -> c -> a: one component, one report.
				p.cluster.Batches[1].Bundles = []Bundle{
					manifestBundle("a", "default", "b", "c"),
					manifestBundle("b", "default", "c"),
					manifestBundle("c", "default", "a"),
				}
			},
			want: Errors{{Cluster: cl, Batch: "operators", Bundle: "a", Msg: "dependsOn cycle: a -> c -> a"}},
		},
		{
			name: "several problems at once, sorted",
			mutate: func(p plan) {
				p.Kind = "Plans"
				p.cluster.Context = ""
				p.istiod.Namespace = ""
				p.istiod.DependsOn = []string{"istio-base", "nope"}
				p.istioBase.Chart.Digest = "md5:x"
				p.Clusters = append(p.Clusters, Cluster{Target: "k3d", Context: "c", KubeVersion: "latest"})
			},
			want: Errors{
				{Field: "kind", Msg: `found "Plans", expected "Plan"`},
				{Cluster: "#1", Field: "kubeVersion", Msg: `"latest" is not a version MAJOR.MINOR.PATCH (e.g. 1.31.4)`},
				{Cluster: "#1", Field: "name", Msg: "required"},
				{Cluster: cl, Field: "context", Msg: "required"},
				{Cluster: cl, Batch: "crds", Bundle: "istio-base", Field: "chart.digest", Msg: `"md5:x" is not sha256:<64 lowercase hex digits>`},
				{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "dependsOn", Msg: `no bundle "nope" in cluster wookie-local`},
				{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "namespace", Msg: "required"},
			},
		},
		{
			name: "gitops settings valid",
			mutate: func(p plan) {
				p.GitOps = &GitOps{Repo: "https://git.example.org/x.git", Path: "deploy/prod", Fleet: &FleetGitOps{GitRepo: "stack"}, Flux: &FluxGitOps{SourceKind: "OCIRepository"}}
				p.cluster.GitOps = &ClusterGitOps{Fleet: &FleetCluster{ClusterSelector: map[string]string{"env": "prod"}}, ArgoCD: &ArgoCDCluster{Server: "https://kubernetes.default.svc"}}
				p.istiod.IgnoreDifferences = []IgnoreDifference{{APIVersion: "v1", Kind: "ConfigMap", Name: "x", JSONPointers: []string{"/data"}}}
			},
		},
		{
			name: "gitops settings invalid",
			mutate: func(p plan) {
				p.GitOps = &GitOps{Repo: "not a url", Path: "../up", Fleet: &FleetGitOps{GitRepo: "Stack"}, Flux: &FluxGitOps{SourceKind: "HelmRepository"}}
				p.cluster.GitOps = &ClusterGitOps{Fleet: &FleetCluster{ClusterName: "x_y", ClusterSelector: map[string]string{"env": "a b"}}, ArgoCD: &ArgoCDCluster{Server: "10.0.0.1:6443"}, Flux: &FluxCluster{KubeConfigSecret: "Secret"}}
			},
			want: Errors{
				{Field: "gitops.fleet.gitRepo", Msg: notLabel("Stack")},
				{Field: "gitops.flux.sourceKind", Msg: `"HelmRepository": want GitRepository, OCIRepository or Bucket`},
				{Field: "gitops.path", Msg: `"../up": want a relative path inside the repository, without ..`},
				{Field: "gitops.repo", Msg: `"not a url" is not a Git repository URL`},
				{Cluster: cl, Field: "gitops.argocd.server", Msg: `"10.0.0.1:6443": want the API server's URL, https://...`},
				{Cluster: cl, Field: "gitops.fleet.clusterName", Msg: notLabel("x_y")},
				{Cluster: cl, Field: "gitops.fleet.clusterSelector", Msg: `value "a b" of key "env": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
				{Cluster: cl, Field: "gitops.flux.kubeConfigSecret", Msg: notLabel("Secret")},
			},
		},
		{
			name: "ignoreDifferences invalid",
			mutate: func(p plan) {
				p.istiod.IgnoreDifferences = []IgnoreDifference{{Kind: "ConfigMap", JSONPointers: []string{"data"}}, {APIVersion: "v1", Kind: "ConfigMap", Name: "x"}}
			},
			want: Errors{
				{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "ignoreDifferences[0]", Msg: "apiVersion is required"},
				{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "ignoreDifferences[0]", Msg: `jsonPointers: "data" is not a JSON pointer (it starts with /)`},
				{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "ignoreDifferences[0]", Msg: "name is required"},
				{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "ignoreDifferences[1]", Msg: "jsonPointers: want at least one JSON pointer such as /webhooks/0/clientConfig/caBundle"},
			},
		},
		{
			name: "checks and provides valid",
			mutate: func(p plan) {
				p.istiod.Checks = &Checks{Skip: []CheckSkip{{Rule: "image-tag", Kind: "Deployment", Reason: "injected"}}}
				p.cluster.Provides = &Provides{Namespaces: []string{"monitoring"}, Kinds: map[string]string{"HelmChart.helm.cattle.io": ScopeNamespaced}}
			},
		},
		{
			name: "checks.skip invalid",
			mutate: func(p plan) {
				p.istiod.Checks = &Checks{Skip: []CheckSkip{{Rule: "imagetag", Reason: "x"}, {Rule: "secret", Reason: " "}}}
			},
			want: Errors{
				{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "checks.skip[0]", Msg: `rule "imagetag": want one of schema, metadata, kind, namespace, crd-order, secret, input, service-selector, image-tag`},
				{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "checks.skip[1]", Msg: "reason is required: say why the rule does not apply"},
			},
		},
		{
			name: "provides invalid",
			mutate: func(p plan) {
				p.cluster.Provides = &Provides{Namespaces: []string{"Mon"}, Kinds: map[string]string{"HelmChart": "Global"}}
			},
			want: Errors{
				{Cluster: cl, Field: "provides.kinds", Msg: `"HelmChart": want Kind.group, e.g. Widget.example.com`},
				{Cluster: cl, Field: "provides.kinds", Msg: `HelmChart: "Global": want Namespaced or Cluster`},
				{Cluster: cl, Field: "provides.namespaces[0]", Msg: notLabel("Mon")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPlan()
			c := &p.Clusters[0]
			tt.mutate(plan{Plan: p, cluster: c, istioBase: &c.Batches[0].Bundles[0], istiod: &c.Batches[1].Bundles[0]})
			before, err := EncodeJSON(p)
			if err != nil {
				t.Fatal(err)
			}
			err = Normalize(p)
			var got Errors
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("Normalize returned %T, want Errors: %v", err, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Normalize errors (-want +got):\n%s", diff)
			}
			if err != nil {
				after, _ := EncodeJSON(p)
				if diff := cmp.Diff(string(before), string(after)); diff != "" {
					t.Errorf("Normalize changed the plan on error (-before +after):\n%s", diff)
				}
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{
			name: "bundle",
			err:  &Error{Cluster: cl, Batch: "operators", Bundle: "istiod", Field: "dependsOn", Msg: `no bundle "foo" in cluster wookie-local`},
			want: `cluster wookie-local: bundle istiod: dependsOn: no bundle "foo" in cluster wookie-local`,
		},
		{
			name: "batch",
			err:  &Error{Cluster: "#2", Batch: "crds", Field: "name", Msg: "used by 2 batches"},
			want: "cluster #2: batch crds: name: used by 2 batches",
		},
		{
			name: "bundle without a name",
			err:  &Error{Cluster: cl, Batch: "crds", Bundle: "#1", Field: "name", Msg: "required"},
			want: "cluster wookie-local: batch crds: bundle #1: name: required",
		},
		{
			name: "plan level",
			err:  &Error{Field: "kind", Msg: `missing, expected "Plan"`},
			want: `kind: missing, expected "Plan"`,
		},
		{
			name: "no field",
			err:  &Error{Cluster: cl, Batch: "crds", Bundle: "a", Msg: "dependsOn cycle: a -> b -> a"},
			want: "cluster wookie-local: bundle a: dependsOn cycle: a -> b -> a",
		},
		{
			name: "errors, one per line",
			err:  Errors{{Field: "kind", Msg: "m1"}, {Cluster: cl, Field: "target", Msg: "required"}},
			want: "kind: m1\ncluster wookie-local: target: required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
				t.Errorf("Error() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeNil(t *testing.T) {
	var errs Errors
	if err := Normalize(nil); !errors.As(err, &errs) {
		t.Fatalf("Normalize(nil) = %v, want Errors", err)
	}
}

// outline lists a plan's clusters, batches and bundles, indented, in order.
func outline(p *Plan) []string {
	var out []string
	for _, c := range p.Clusters {
		out = append(out, c.Name)
		for _, b := range c.Batches {
			out = append(out, "  "+b.Name)
			for _, u := range b.Bundles {
				out = append(out, "    "+u.Name)
			}
		}
	}
	return out
}

func TestNormalizeOrder(t *testing.T) {
	cluster := func(name string, batches ...Batch) Cluster {
		return Cluster{Name: name, Target: "k3d", Context: "k3d-" + name, KubeVersion: "1.31.4", Batches: batches}
	}
	tests := []struct {
		name string
		in   *Plan
		want []string
	}{
		{
			name: "clusters by name",
			in:   &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{cluster("west"), cluster("east"), cluster("central")}},
			want: []string{"central", "east", "west"},
		},
		{
			name: "batches by priority, then name",
			in: &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{cluster(cl,
				Batch{Name: "services", Priority: 600},
				Batch{Name: "operators", Priority: 300},
				Batch{Name: "apps", Priority: 600},
				Batch{Name: "crds", Priority: -100},
			)}},
			want: []string{cl, "  crds", "  operators", "  apps", "  services"},
		},
		{
			name: "bundles in dependency order, smallest ready name first",
			in: &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{cluster(cl,
				Batch{Name: "apps", Bundles: []Bundle{
					manifestBundle("c", "default"),
					manifestBundle("a", "default", "c"),
					manifestBundle("b", "default"),
				}},
			)}},
			want: []string{cl, "  apps", "    b", "    c", "    a"},
		},
		{
			name: "diamond",
			in: &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{cluster(cl,
				Batch{Name: "apps", Bundles: []Bundle{
					manifestBundle("top", "default", "right", "left"),
					manifestBundle("right", "default", "bottom"),
					manifestBundle("left", "default", "bottom"),
					manifestBundle("bottom", "default"),
				}},
			)}},
			want: []string{cl, "  apps", "    bottom", "    left", "    right", "    top"},
		},
		{
			name: "dependency in an earlier batch does not order the later batch",
			in: &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{cluster(cl,
				Batch{Name: "operators", Priority: 300, Bundles: []Bundle{
					chartBundle("istiod", "istio-system", "istio-base"),
					chartBundle("cni", "istio-system", "istiod"),
					chartBundle("ztunnel", "istio-system"),
					chartBundle("a-first", "istio-system", "istio-base"),
				}},
				Batch{Name: "crds", Priority: 100, Bundles: []Bundle{chartBundle("istio-base", "istio-system")}},
			)}},
			want: []string{cl, "  crds", "    istio-base", "  operators", "    a-first", "    istiod", "    cni", "    ztunnel"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Normalize(tt.in); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, outline(tt.in)); diff != "" {
				t.Errorf("order (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormalizeCanonical(t *testing.T) {
	in := &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{
		{Name: cl, Target: "k3d", Context: "k3d-wookie-local", KubeVersion: "v1.31.4", Batches: []Batch{
			{Name: "empty"},
			{Name: "apps", Bundles: []Bundle{
				{Name: "b", Namespace: "default", DependsOn: []string{"c", "a"}, Labels: map[string]string{},
					Chart: &Chart{Repo: "./charts", Name: "b", Values: Object{}}, Manifests: []Object{}},
				manifestBundle("a", "default"),
				manifestBundle("c", "default"),
			}},
		}},
		{Name: "bare", Target: "k3d", Context: "k3d-bare", KubeVersion: "1.30.0"},
	}}
	want := &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{
		{Name: "bare", Target: "k3d", Context: "k3d-bare", KubeVersion: "1.30.0", Batches: []Batch{}},
		{Name: cl, Target: "k3d", Context: "k3d-wookie-local", KubeVersion: "1.31.4", Batches: []Batch{
			{Name: "apps", Bundles: []Bundle{
				manifestBundle("a", "default"),
				manifestBundle("c", "default"),
				{Name: "b", Namespace: "default", DependsOn: []string{"a", "c"}, Chart: &Chart{Repo: "./charts", Name: "b"}},
			}},
			{Name: "empty", Bundles: []Bundle{}},
		}},
	}}
	if err := Normalize(in); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, in); diff != "" {
		t.Errorf("Normalize (-want +got):\n%s", diff)
	}
	// Normalize is idempotent.
	again := *in
	if err := Normalize(&again); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, &again); diff != "" {
		t.Errorf("second Normalize (-want +got):\n%s", diff)
	}
	if got := (&Plan{APIVersion: APIVersion, Kind: Kind}); Normalize(got) != nil || got.Clusters == nil {
		t.Errorf("Normalize of an empty plan left Clusters nil")
	}
}

// benchPlan generates a valid plan of clusters clusters, each with 4 batches
// of bundles/4 bundles, given in shuffled order. In each batch, bundles form
// chains of 5 (each depends on the one before), every fifth bundle also
// depends on a bundle of the batch before, and the last bundle of each batch
// depends on the last bundle of every chain (fan-in).
func benchPlan(clusters, bundles int) *Plan {
	rng := rand.New(rand.NewPCG(1, 2))
	p := &Plan{APIVersion: APIVersion, Kind: Kind}
	perBatch := bundles / 4
	for ci := range clusters {
		c := Cluster{Name: fmt.Sprintf("cluster-%03d", ci), Target: "k3d", Context: "ctx", KubeVersion: "v1.31.4"}
		for bi := range 4 {
			b := Batch{Name: fmt.Sprintf("batch-%d", bi), Priority: 100 * (bi + 1)}
			name := func(batch, i int) string { return fmt.Sprintf("b%d-%04d", batch, i) }
			for i := range perBatch {
				u := manifestBundle(name(bi, i), "default")
				if i%5 != 0 {
					u.DependsOn = append(u.DependsOn, name(bi, i-1))
				} else if bi > 0 {
					u.DependsOn = append(u.DependsOn, name(bi-1, i))
				}
				if i == perBatch-1 {
					for j := 4; j < perBatch-1; j += 5 {
						u.DependsOn = append(u.DependsOn, name(bi, j))
					}
				}
				b.Bundles = append(b.Bundles, u)
			}
			rng.Shuffle(len(b.Bundles), func(i, j int) { b.Bundles[i], b.Bundles[j] = b.Bundles[j], b.Bundles[i] })
			c.Batches = append(c.Batches, b)
		}
		rng.Shuffle(len(c.Batches), func(i, j int) { c.Batches[i], c.Batches[j] = c.Batches[j], c.Batches[i] })
		p.Clusters = append(p.Clusters, c)
	}
	rng.Shuffle(len(p.Clusters), func(i, j int) { p.Clusters[i], p.Clusters[j] = p.Clusters[j], p.Clusters[i] })
	return p
}

func TestBenchPlanValid(t *testing.T) {
	if err := Normalize(benchPlan(2, 40)); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, size := range []int{200, 2000} {
		b.Run(fmt.Sprintf("clusters=10/bundles=%d", size), func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				b.StopTimer()
				p := benchPlan(10, size)
				b.StartTimer()
				if err := Normalize(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
