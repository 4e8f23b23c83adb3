package emit

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/peertest"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/internal/testenv"
)

// hfFile is a helmfile.yaml as this test reads it back: every field wookie
// may write, decoded strictly.
type hfFile struct {
	Helmfiles    []hfSub        `json:"helmfiles"`
	Repositories []hfRepository `json:"repositories"`
	HelmDefaults map[string]any `json:"helmDefaults"`
	Releases     []hfRelease    `json:"releases"`
}

type hfSub struct {
	Path string `json:"path"`
}

type hfRepository struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	OCI  bool   `json:"oci,omitempty"`
}

type hfRelease struct {
	Name            string            `json:"name"`
	Namespace       string            `json:"namespace"`
	Chart           string            `json:"chart"`
	Version         string            `json:"version,omitempty"`
	CreateNamespace *bool             `json:"createNamespace"`
	TakeOwnership   bool              `json:"takeOwnership,omitempty"`
	SkipDeps        bool              `json:"skipDeps,omitempty"`
	Wait            *bool             `json:"wait,omitempty"`
	Timeout         *int              `json:"timeout,omitempty"`
	Labels          map[string]string `json:"labels"`
	Needs           []string          `json:"needs,omitempty"`
	Values          []map[string]any  `json:"values,omitempty"`
	// SkipSchemaValidation is helmfile's ReleaseSpec.SkipSchemaValidation.
	SkipSchemaValidation *bool `json:"skipSchemaValidation,omitempty"`
}

// hfRead decodes a helmfile.yaml of the tree strictly.
func hfRead(t *testing.T, tree Tree, name string) hfFile {
	t.Helper()
	data, ok := tree[name]
	if !ok {
		t.Fatalf("no %s in the output", name)
	}
	var f hfFile
	if err := yaml.UnmarshalStrict(data, &f); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, data)
	}
	return f
}

// hfOrder recomputes a cluster's order from its releases' needs, mapping
// namespace/name back to release names: it fails the test on a need
// naming no release, or naming one that comes later in the file.
func hfOrder(t *testing.T, cluster string, releases []hfRelease, strip string) map[string][]string {
	t.Helper()
	ids := map[string]string{}
	for _, rel := range releases {
		id := rel.Namespace + "/" + rel.Name
		if _, dup := ids[id]; dup {
			t.Fatalf("%s: release %s twice", cluster, id)
		}
		ids[id] = rel.Name
	}
	edges := map[string][]string{}
	seen := map[string]bool{}
	for _, rel := range releases {
		edges[rel.Name] = []string{}
		for _, need := range rel.Needs {
			dep, ok := ids[strings.TrimPrefix(need, strip)]
			if !ok {
				t.Fatalf("%s: release %s needs %s, which is no release", cluster, rel.Name, need)
			}
			if !seen[dep] {
				t.Errorf("%s: release %s needs %s, which comes after it", cluster, rel.Name, need)
			}
			edges[rel.Name] = append(edges[rel.Name], dep)
		}
		seen[rel.Name] = true
	}
	return closure(t, edges)
}

// TestHelmfile checks the Helmfile layout of the fixture: the files, the
// order helmfile derives from needs, repositories, charts, values,
// namespaces and labels.
func TestHelmfile(t *testing.T) {
	p, r := fixture(t)
	tree, warnings, err := Build(p, r, Options{Format: FormatHelmfile})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %q", warnings)
	}
	again, _, err := Build(p, r, Options{Format: FormatHelmfile})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree, again); diff != "" {
		t.Errorf("a second build differs (-first +second):\n%s", diff)
	}
	var files []string
	for name := range tree {
		files = append(files, name)
	}
	slices.Sort(files)
	wantFiles := []string{
		"east/charts/app/Chart.yaml", "east/charts/app/templates/manifests.yaml",
		"east/charts/ns-mesh/Chart.yaml", "east/charts/ns-mesh/templates/manifests.yaml",
		"east/charts/operator-crds/Chart.yaml", "east/charts/operator-crds/templates/manifests.yaml",
		"east/charts/settings/Chart.yaml", "east/charts/settings/templates/manifests.yaml",
		"east/helmfile.yaml",
		"helmfile.yaml",
		"west/charts/app/Chart.yaml", "west/charts/app/templates/manifests.yaml",
		"west/helmfile.yaml",
	}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}

	root := hfRead(t, tree, "helmfile.yaml")
	if diff := cmp.Diff(hfFile{Helmfiles: []hfSub{{"east/helmfile.yaml"}, {"west/helmfile.yaml"}}}, root); diff != "" {
		t.Errorf("root helmfile.yaml (-want +got):\n%s", diff)
	}

	// What each release installs, how, and from where.
	type release struct {
		Chart, Version           string
		CreateNamespace, TakeOwn bool
		SkipDeps                 bool
		Values                   []map[string]any
	}
	tests := []struct {
		cluster, context string
		repositories     []hfRepository
		releases         map[string]release
	}{
		{
			cluster: "east", context: "east",
			repositories: []hfRepository{
				{Name: "charts-example-org-stable", URL: "https://charts.example.org/stable"},
				{Name: "registry-example-org-charts", URL: "registry.example.org/charts", OCI: true},
			},
			releases: map[string]release{
				"operator-crds": {Chart: "./charts/operator-crds", CreateNamespace: true, SkipDeps: true},
				"base":          {Chart: "charts-example-org-stable/base", Version: "1.0.0", CreateNamespace: true, Values: []map[string]any{{"x": float64(1)}}},
				// ns-mesh creates mesh, its own namespace, which base made
				// already: Helm must be allowed to take it over.
				"ns-mesh":  {Chart: "./charts/ns-mesh", CreateNamespace: true, TakeOwn: true, SkipDeps: true},
				"operator": {Chart: "registry-example-org-charts/operator", Version: "2.0.0", Values: []map[string]any{{"greeting": "${ .ClusterName }"}}},
				"settings": {Chart: "./charts/settings", SkipDeps: true},
				"app":      {Chart: "./charts/app", CreateNamespace: true, SkipDeps: true},
			},
		},
		{
			cluster: "west", context: "k3d-west",
			releases: map[string]release{
				"app": {Chart: "./charts/app", SkipDeps: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.cluster, func(t *testing.T) {
			f := hfRead(t, tree, tt.cluster+"/helmfile.yaml")
			wantDefaults := map[string]any{"kubeContext": tt.context, "wait": true, "waitForJobs": true, "timeout": float64(300)}
			if diff := cmp.Diff(wantDefaults, f.HelmDefaults); diff != "" {
				t.Errorf("helmDefaults (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.repositories, f.Repositories); diff != "" {
				t.Errorf("repositories (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(planOrder(r, tt.cluster), hfOrder(t, tt.cluster, f.Releases, "")); diff != "" {
				t.Errorf("order (-plan +needs):\n%s", diff)
			}
			got := map[string]release{}
			for _, rel := range f.Releases {
				if rel.CreateNamespace == nil {
					t.Errorf("release %s: createNamespace is not explicit (helmfile defaults it to true)", rel.Name)
				}
				got[rel.Name] = release{
					Chart: rel.Chart, Version: rel.Version, CreateNamespace: rel.CreateNamespace != nil && *rel.CreateNamespace,
					TakeOwn: rel.TakeOwnership, SkipDeps: rel.SkipDeps, Values: rel.Values,
				}
				wantLabels := map[string]string{"wookie.dev/cluster": tt.cluster, "wookie.dev/bundle": rel.Name}
				for _, b := range r.Clusters[slices.IndexFunc(r.Clusters, func(c render.Cluster) bool { return c.Name == tt.cluster })].Batches {
					for _, u := range b.Bundles {
						if u.Name == rel.Name {
							wantLabels["wookie.dev/batch"] = b.Name
							if u.Namespace != rel.Namespace {
								t.Errorf("release %s: namespace %s, want %s", rel.Name, rel.Namespace, u.Namespace)
							}
						}
					}
				}
				if diff := cmp.Diff(wantLabels, rel.Labels); diff != "" {
					t.Errorf("release %s: labels (-want +got):\n%s", rel.Name, diff)
				}
				if rel.Wait != nil || rel.Timeout != nil {
					t.Errorf("release %s: wait %v, timeout %v; want the defaults", rel.Name, rel.Wait, rel.Timeout)
				}
			}
			if diff := cmp.Diff(tt.releases, got); diff != "" {
				t.Errorf("releases (-want +got):\n%s", diff)
			}
			for name, rel := range tt.releases {
				dir, ok := strings.CutPrefix(rel.Chart, "./")
				if !ok {
					continue
				}
				var chart map[string]any
				if err := yaml.UnmarshalStrict(tree[tt.cluster+"/"+dir+"/Chart.yaml"], &chart); err != nil {
					t.Fatalf("%s/Chart.yaml: %v", dir, err)
				}
				if chart["apiVersion"] != "v2" || chart["name"] != name || chart["version"] != "0.0.0" {
					t.Errorf("%s/Chart.yaml: %v", dir, chart)
				}
			}
		})
	}
}

// hfRenderChart renders a chart as helm install would, for a release of
// the given name and namespace.
func hfRenderChart(t *testing.T, ch *chartv2.Chart, name, namespace string) map[string]string {
	t.Helper()
	vals, err := util.ToRenderValues(ch, nil, common.ReleaseOptions{Name: name, Namespace: namespace, Revision: 1, IsInstall: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Render(ch, vals)
	if err != nil {
		t.Fatalf("render chart %s: %v", name, err)
	}
	return out
}

// TestHelmfileLocalChartsRenderBack loads every local chart of the output
// with the Helm SDK and renders it: the result must be the bundle's
// manifests, byte for byte, {{ included.
func TestHelmfileLocalChartsRenderBack(t *testing.T) {
	p, r := fixture(t)
	tree, _, err := Build(p, r, Options{Format: FormatHelmfile})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteTree(dir, tree); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range r.Clusters {
		f := hfRead(t, tree, c.Name+"/helmfile.yaml")
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				i := slices.IndexFunc(f.Releases, func(rel hfRelease) bool { return rel.Name == u.Name })
				if i < 0 {
					t.Fatalf("%s: no release %s", c.Name, u.Name)
				}
				rel := f.Releases[i]
				if !strings.HasPrefix(rel.Chart, "./") {
					continue
				}
				ch, err := loader.LoadDir(filepath.Join(dir, c.Name, filepath.FromSlash(rel.Chart)))
				if err != nil {
					t.Fatalf("%s: load chart %s: %v", c.Name, rel.Chart, err)
				}
				got := hfRenderChart(t, ch, rel.Name, rel.Namespace)
				want, err := render.MarshalYAML(u.Objects)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(map[string]string{u.Name + "/templates/manifests.yaml": string(want)}, got); diff != "" {
					t.Errorf("%s: chart %s renders (-bundle +helm):\n%s", c.Name, rel.Chart, diff)
				}
				checked++
			}
		}
	}
	if checked != 5 {
		t.Errorf("checked %d local charts, want 5", checked)
	}
	if !strings.Contains(string(tree["east/charts/settings/templates/manifests.yaml"]), `{{ "{{" }}`) {
		t.Errorf("settings: the {{ of its manifests is not escaped")
	}
}

// TestHelmTemplateEscape checks that Helm's template engine renders an
// escaped text back to exactly the text.
func TestHelmTemplateEscape(t *testing.T) {
	tests := []struct{ name, text string }{
		{"plain", "a: b\n"},
		{"action", "tpl: '{{ .Values.x }}'\n"},
		{"trim markers", "x: {{- .Values.x -}}\n"},
		{"comment", "x: {{/* not a comment */}}\n"},
		{"three braces", "x: '{{{ y }}}'\n"},
		{"four braces", "x: '{{{{raw}}}}'\n"},
		{"closing first", "x: '}} {{'\n"},
		{"escape already", `x: '{{ "{{" }}'` + "\n"},
		{"lone braces", "x: '{ } }{ {'\n"},
		{"at the end", "x: {{"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := &chartv2.Chart{
				Metadata:  &chartv2.Metadata{APIVersion: "v2", Name: "escape", Version: "0.0.0"},
				Templates: []*common.File{{Name: "templates/manifests.yaml", Data: []byte(helmTemplateEscape(tt.text))}},
			}
			got := hfRenderChart(t, ch, "escape", "default")["escape/templates/manifests.yaml"]
			if diff := cmp.Diff(tt.text, got); diff != "" {
				t.Errorf("rendered (-text +helm):\n%s", diff)
			}
		})
	}
}

// TestHelmfileRepoNames checks the repository names derived from URLs.
func TestHelmfileRepoNames(t *testing.T) {
	tests := []struct {
		name  string
		repos []string
		want  map[string]string
	}{
		{
			name:  "host and path",
			repos: []string{"https://Charts.Example.org/stable/", "oci://ghcr.io/org/charts"},
			want:  map[string]string{"https://Charts.Example.org/stable/": "charts-example-org-stable", "oci://ghcr.io/org/charts": "ghcr-io-org-charts"},
		},
		{
			name:  "colliding names end in a checksum of the URL",
			repos: []string{"https://a.io/x", "http://a.io/x", "oci://a.io/x", "https://a.io/x-2"},
			want:  map[string]string{"https://a.io/x": "a-io-x-01aa0b55", "http://a.io/x": "a-io-x-eb814ca3", "oci://a.io/x": "a-io-x-fe55d71b", "https://a.io/x-2": "a-io-x-2"},
		},
		{
			name:  "port",
			repos: []string{"http://127.0.0.1:5000/charts"},
			want:  map[string]string{"http://127.0.0.1:5000/charts": "127-0-0-1-5000-charts"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, repoNames("", tt.repos)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// hfPlanBundle returns a bundle of the fixture's Plan.
func hfPlanBundle(t *testing.T, p *plan.Plan, cluster, name string) *plan.Bundle {
	t.Helper()
	for ci := range p.Clusters {
		for bi := range p.Clusters[ci].Batches {
			for ui := range p.Clusters[ci].Batches[bi].Bundles {
				if u := &p.Clusters[ci].Batches[bi].Bundles[ui]; p.Clusters[ci].Name == cluster && u.Name == name {
					return u
				}
			}
		}
	}
	t.Fatalf("no bundle %s in cluster %s", name, cluster)
	return nil
}

// hfRename renames a bundle of the fixture in the Plan (unless wookie
// generated it) and the rendered result, and every dependsOn naming it.
func hfRename(p *plan.Plan, r *render.Result, cluster, old, name string) {
	rename := func(deps []string) {
		for i, d := range deps {
			if d == old {
				deps[i] = name
			}
		}
	}
	for ci := range p.Clusters {
		for bi := range p.Clusters[ci].Batches {
			for ui := range p.Clusters[ci].Batches[bi].Bundles {
				if u := &p.Clusters[ci].Batches[bi].Bundles[ui]; p.Clusters[ci].Name == cluster {
					if u.Name == old {
						u.Name = name
					}
					rename(u.DependsOn)
				}
			}
		}
	}
	for ci := range r.Clusters {
		for bi := range r.Clusters[ci].Batches {
			for ui := range r.Clusters[ci].Batches[bi].Bundles {
				if u := &r.Clusters[ci].Batches[bi].Bundles[ui]; r.Clusters[ci].Name == cluster {
					if u.Name == old {
						u.Name = name
					}
					rename(u.DependsOn)
				}
			}
		}
	}
}

// TestHelmfileBundleSettings checks that a bundle's wait, timeout and
// labels reach its release, and a chart from a local path is written
// rendered, as a local chart.
func TestHelmfileBundleSettings(t *testing.T) {
	p, r := fixture(t)
	op := hfPlanBundle(t, p, "east", "operator")
	op.Wait = new(false)
	op.Timeout = "90s"
	op.Labels = map[string]string{"team": "mesh", "tpl": "{{ .Release.Name }}", "wookie.dev/bundle": "overridden"}
	hfPlanBundle(t, p, "east", "settings").Timeout = "1500ms"
	hfPlanBundle(t, p, "east", "base").Chart.Repo = "./vendor/charts"
	tree, warnings, err := Build(p, r, Options{Format: FormatHelmfile})
	if err != nil {
		t.Fatal(err)
	}
	wantWarnings := []string{"cluster east: bundle base: helmfile: the chart comes from the local path ./vendor/charts: it is written rendered, as the local chart charts/base"}
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	f := hfRead(t, tree, "east/helmfile.yaml")
	got := map[string]hfRelease{}
	for _, rel := range f.Releases {
		got[rel.Name] = rel
	}
	tests := []struct {
		release string
		check   func(hfRelease) bool
		want    string
	}{
		{"operator", func(r hfRelease) bool { return r.Wait != nil && !*r.Wait }, "wait: false"},
		{"operator", func(r hfRelease) bool { return r.Timeout != nil && *r.Timeout == 90 }, "timeout: 90"},
		{"operator", func(r hfRelease) bool {
			return cmp.Equal(r.Labels, map[string]string{
				"team": "mesh", "tpl": `{{ "{{" }} .Release.Name }}`,
				"wookie.dev/cluster": "east", "wookie.dev/batch": "operators", "wookie.dev/bundle": "operator",
			})
		}, "its labels, {{ escaped, and wookie's"},
		{"settings", func(r hfRelease) bool { return r.Wait == nil && r.Timeout != nil && *r.Timeout == 2 }, "timeout: 2 (1.5s rounded up)"},
		{"base", func(r hfRelease) bool {
			return r.Chart == "./charts/base" && r.Version == "" && r.Values == nil && r.SkipDeps
		}, "the local chart ./charts/base"},
	}
	for _, tt := range tests {
		if !tt.check(got[tt.release]) {
			t.Errorf("release %s: want %s, got %+v", tt.release, tt.want, got[tt.release])
		}
	}
	if _, ok := tree["east/charts/base/templates/manifests.yaml"]; !ok {
		t.Errorf("no local chart for base")
	}
	for _, rel := range f.Repositories {
		if rel.Name == "charts-example-org-stable" {
			t.Errorf("repository %s is listed, but no release uses it", rel.URL)
		}
	}
}

// TestHelmfileErrors checks what the Helmfile output refuses.
func TestHelmfileErrors(t *testing.T) {
	tests := []struct {
		name   string
		change func(*testing.T, *plan.Plan, *render.Result)
		want   string
	}{
		{
			name: "release name too long",
			change: func(t *testing.T, p *plan.Plan, r *render.Result) {
				hfRename(p, r, "east", "settings", strings.Repeat("s", 54))
			},
			want: `cluster east: bundle ` + strings.Repeat("s", 54) + `: helmfile: release name "` + strings.Repeat("s", 54) + `" is 54 characters; Helm allows at most 53: shorten the bundle name`,
		},
		{
			name: "generated CRD bundle name too long",
			change: func(t *testing.T, p *plan.Plan, r *render.Result) {
				hfRename(p, r, "east", "operator-crds", strings.Repeat("o", 50)+"-crds")
			},
			want: `cluster east: bundle ` + strings.Repeat("o", 50) + `-crds: helmfile: release name "` + strings.Repeat("o", 50) + `-crds" is 55 characters`,
		},
		{
			name: "release name not DNS-1123",
			change: func(t *testing.T, p *plan.Plan, r *render.Result) {
				hfRename(p, r, "west", "app", "App")
			},
			want: `cluster west: bundle App: helmfile: release name "App" is not a DNS-1123 subdomain, as Helm wants: rename the bundle`,
		},
		{
			name: "timeout",
			change: func(t *testing.T, p *plan.Plan, r *render.Result) {
				hfPlanBundle(t, p, "west", "app").Timeout = "soon"
			},
			want: `cluster west: bundle app: helmfile: timeout "soon": want a positive Go duration, like 90s or 5m`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := fixture(t)
			tt.change(t, p, r)
			tree, _, err := Build(p, r, Options{Format: FormatHelmfile})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
			if tree != nil {
				t.Errorf("an error, and still %d files", len(tree))
			}
		})
	}
}

// hfHelm finds the helm binary that helmfile drives: on PATH, else the
// one .ci/run builds beside the peer tools, else the one the benchmarks
// use. With WOOKIE_PEERS_REQUIRED a missing helm fails the test.
func hfHelm(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	var candidates []string
	if d := os.Getenv("WOOKIE_PEERS_BIN"); d != "" {
		candidates = append(candidates, filepath.Join(d, "helm"))
	}
	if d, err := os.UserCacheDir(); err == nil {
		candidates = append(candidates, filepath.Join(d, "wookie-peers", "bin", "helm"),
			filepath.Join(d, "wookie-bench", "helm-v4.3.1", "helm"))
	}
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	msg := "helmfile runs helm even to build a state: no helm on PATH nor in the peer tools' cache (.ci/run builds it)"
	if peertest.Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// hfPeer runs helmfile with no cluster to reach: a fresh HOME (so
// helmfile's and helm's caches and repository lists are empty), an empty
// kubeconfig. It returns stdout and fails the test on error.
func hfPeer(t *testing.T, helmfile, helm string, args ...string) []byte {
	t.Helper()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return hfPeerAt(t, kubeconfig, helmfile, helm, args...)
}

// hfPeerAt runs helmfile with a fresh HOME and the given kubeconfig.
func hfPeerAt(t *testing.T, kubeconfig, helmfile, helm string, args ...string) []byte {
	t.Helper()
	stdout, stderr, err := hfPeerRun(t, kubeconfig, helmfile, helm, args...)
	if err != nil {
		t.Fatalf("helmfile %s: %v\n%s%s", strings.Join(args, " "), err, stderr, stdout)
	}
	t.Logf("helmfile %s: ok\n%s", strings.Join(args, " "), hfIndent(string(stderr)))
	return stdout
}

// hfPeerRun runs helmfile with a fresh HOME and the given kubeconfig, and
// returns its stdout and stderr, and how it ended.
func hfPeerRun(t *testing.T, kubeconfig, helmfile, helm string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(helmfile, append([]string{"--helm-binary", helm, "--no-color"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG="+kubeconfig,
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"HELM_CACHE_HOME="+filepath.Join(home, "helm", "cache"), "HELM_CONFIG_HOME="+filepath.Join(home, "helm", "config"), "HELM_DATA_HOME="+filepath.Join(home, "helm", "data"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.Bytes(), errOut.Bytes(), err
}

// hfIndent indents a peer's narration for the test log.
func hfIndent(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}

// hfBuilt is the part of `helmfile build`'s output this test reads.
type hfBuilt struct {
	Repositories []hfRepository `json:"repositories"`
	Releases     []struct {
		Name      string            `json:"name"`
		Namespace string            `json:"namespace"`
		Chart     string            `json:"chart"`
		Needs     []string          `json:"needs"`
		Labels    map[string]string `json:"labels"`
	} `json:"releases"`
}

// hfLocalCharts turns every chart of p into one from a local path, so
// that every release of the output installs a local chart and helmfile
// needs no repository.
func hfLocalCharts(p *plan.Plan) {
	for ci := range p.Clusters {
		for bi := range p.Clusters[ci].Batches {
			for _, u := range p.Clusters[ci].Batches[bi].Bundles {
				if u.Chart != nil {
					u.Chart.Repo = "./vendor/charts"
				}
			}
		}
	}
}

// hfLocalOnly builds the output of the fixture with hfLocalCharts.
func hfLocalOnly(t *testing.T) (*plan.Plan, *render.Result, Tree) {
	t.Helper()
	p, r := fixture(t)
	hfLocalCharts(p)
	tree, _, err := Build(p, r, Options{Format: FormatHelmfile})
	if err != nil {
		t.Fatal(err)
	}
	return p, r, tree
}

// TestHelmfileWithPeer hands the output to helmfile v1 itself (built by
// hack/peers/build.sh), with helm, and no cluster: `list` must load every
// file of the tree strictly; `build` must see the repositories wookie
// wrote, and needs that give the Plan's order; `lint` must pass the local
// charts and `template` must render them to exactly the rendered bundles.
// Remote charts are never pulled: `build` leaves out the releases of an
// OCI chart (it pulls those), and lint and template run on a variant of
// the fixture whose charts all come from a local path.
func TestHelmfileWithPeer(t *testing.T) {
	helmfile := peerBinary(t, "helmfile")
	helm := hfHelm(t)
	p, r := fixture(t)
	// Helmfile renders label values as templates even in plain YAML.
	labels := map[string]string{"team": "mesh", "tpl": "{{ .Release.Name }}"}
	hfPlanBundle(t, p, "east", "settings").Labels = labels
	tree, _, err := Build(p, r, Options{Format: FormatHelmfile})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteTree(dir, tree); err != nil {
		t.Fatal(err)
	}

	t.Run("list", func(t *testing.T) {
		out := hfPeer(t, helmfile, helm, "--file", filepath.Join(dir, "helmfile.yaml"), "list", "--output", "json")
		var listed []struct{ Name, Namespace, Chart, Version, Labels string }
		if err := json.Unmarshal(out, &listed); err != nil {
			t.Fatalf("helmfile list: %v\n%s", err, out)
		}
		var got, want []string
		for _, l := range listed {
			cluster := regexp.MustCompile(`wookie\.dev/cluster:([a-z0-9-]+)`).FindStringSubmatch(l.Labels)
			if cluster == nil {
				t.Fatalf("release %s: labels %s", l.Name, l.Labels)
			}
			got = append(got, strings.Join([]string{cluster[1], l.Namespace, l.Name, l.Chart, l.Version}, " "))
		}
		for _, c := range r.Clusters {
			for _, rel := range hfRead(t, tree, c.Name+"/helmfile.yaml").Releases {
				want = append(want, strings.Join([]string{c.Name, rel.Namespace, rel.Name, rel.Chart, rel.Version}, " "))
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("releases (-wookie +helmfile):\n%s", diff)
		}
	})

	t.Run("build", func(t *testing.T) {
		for _, c := range p.Clusters {
			f := hfRead(t, tree, c.Name+"/helmfile.yaml")
			args := []string{"--file", filepath.Join(dir, c.Name, "helmfile.yaml")}
			oci := map[string]bool{}
			for _, repo := range f.Repositories {
				oci[repo.Name] = repo.OCI
			}
			var skip []string
			for _, rel := range f.Releases {
				if repo, _, ok := strings.Cut(rel.Chart, "/"); ok && oci[repo] {
					skip = append(skip, "wookie.dev/bundle!="+rel.Name)
				}
			}
			if len(skip) > 0 {
				args = append(args, "--selector", strings.Join(skip, ","))
			}
			var built hfBuilt
			out := hfPeer(t, helmfile, helm, append(args, "build")...)
			if err := yaml.Unmarshal(out, &built); err != nil {
				t.Fatalf("%s: helmfile build: %v\n%s", c.Name, err, out)
			}
			if diff := cmp.Diff(f.Repositories, built.Repositories); diff != "" {
				t.Errorf("%s: repositories (-wookie +helmfile):\n%s", c.Name, diff)
			}
			if len(built.Releases)+len(skip) != len(f.Releases) {
				t.Errorf("%s: helmfile built %d releases and left out %d, wookie wrote %d", c.Name, len(built.Releases), len(skip), len(f.Releases))
			}
			for _, rel := range built.Releases {
				i := slices.IndexFunc(f.Releases, func(w hfRelease) bool { return w.Name == rel.Name })
				var want []string
				for _, n := range f.Releases[i].Needs {
					want = append(want, c.Context+"/"+n)
				}
				if diff := cmp.Diff(want, rel.Needs); diff != "" {
					t.Errorf("%s: release %s: needs (-wookie +helmfile):\n%s", c.Name, rel.Name, diff)
				}
				wantLabels := map[string]string{"wookie.dev/cluster": c.Name, "wookie.dev/bundle": rel.Name, "wookie.dev/batch": f.Releases[i].Labels["wookie.dev/batch"]}
				if c.Name == "east" && rel.Name == "settings" {
					maps.Copy(wantLabels, labels)
				}
				for k, v := range wantLabels {
					if rel.Labels[k] != v {
						t.Errorf("%s: release %s: label %s=%q, want %q", c.Name, rel.Name, k, rel.Labels[k], v)
					}
				}
			}
		}
	})

	p2, r2, local := hfLocalOnly(t)
	localDir := t.TempDir()
	if err := WriteTree(localDir, local); err != nil {
		t.Fatal(err)
	}

	t.Run("build local", func(t *testing.T) {
		for _, c := range p2.Clusters {
			var built hfBuilt
			out := hfPeer(t, helmfile, helm, "--file", filepath.Join(localDir, c.Name, "helmfile.yaml"), "build")
			if err := yaml.Unmarshal(out, &built); err != nil {
				t.Fatalf("%s: helmfile build: %v\n%s", c.Name, err, out)
			}
			var releases []hfRelease
			for _, rel := range built.Releases {
				releases = append(releases, hfRelease{Name: rel.Name, Namespace: rel.Namespace, Needs: rel.Needs})
			}
			if diff := cmp.Diff(planOrder(r2, c.Name), hfOrder(t, c.Name, releases, c.Context+"/")); diff != "" {
				t.Errorf("%s: order (-plan +helmfile's needs):\n%s", c.Name, diff)
			}
		}
	})

	t.Run("lint", func(t *testing.T) {
		hfPeer(t, helmfile, helm, "--file", filepath.Join(localDir, "helmfile.yaml"), "lint")
	})

	t.Run("template", func(t *testing.T) {
		out := hfPeer(t, helmfile, helm, "--file", filepath.Join(localDir, "helmfile.yaml"), "template", "--skip-tests")
		var got, want []string
		for _, doc := range regexp.MustCompile(`(?m)^---\n`).Split(string(out), -1) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatalf("helmfile template: %v\n%s", err, doc)
			}
			if obj != nil {
				data, _ := json.Marshal(obj)
				got = append(got, string(data))
			}
		}
		for _, c := range r2.Clusters {
			for _, b := range c.Batches {
				for _, u := range b.Bundles {
					for _, o := range u.Objects {
						data, _ := json.Marshal(o.Object)
						want = append(want, string(data))
					}
				}
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("objects (-wookie +helmfile template):\n%s", diff)
		}
	})
}

// TestHelmfileSyncWithPeer deploys cluster east of the fixture with
// `helmfile sync` (helmfile v1 driving helm v4) to a real control plane
// (internal/testenv, with kwok so that Deployments become ready), twice:
// every release must be deployed after the ones it needs, a namespace that
// Helm created for an earlier release must be taken over by the bundle
// that creates it, and the manifests with {{ must reach the cluster as
// they are. The charts all come from a local path, so nothing is pulled.
func TestHelmfileSyncWithPeer(t *testing.T) {
	helmfile := peerBinary(t, "helmfile")
	helm := hfHelm(t)
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "east"})
	p, r := fixture(t)
	hfLocalCharts(p)
	// The fixture's CRDs have no schema, which the API server requires.
	for _, c := range r.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				for _, o := range u.Objects {
					if o.GetKind() == "CustomResourceDefinition" {
						versions, _, _ := unstructured.NestedSlice(o.Object, "spec", "versions")
						versions[0].(map[string]any)["schema"] = map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}
						if err := unstructured.SetNestedSlice(o.Object, versions, "spec", "versions"); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
		}
	}
	tree, _, err := Build(p, r, Options{Format: FormatHelmfile})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteTree(dir, tree); err != nil {
		t.Fatal(err)
	}
	f := hfRead(t, tree, "east/helmfile.yaml")
	cs, err := kubernetes.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	for round := 1; round <= 2; round++ {
		hfPeerAt(t, env.Kubeconfig, helmfile, helm, "--file", filepath.Join(dir, "east", "helmfile.yaml"), "sync")

		cmd := exec.Command(helm, "list", "--all-namespaces", "--output", "json", "--kube-context", "east")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "HOME="+t.TempDir())
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("helm list: %v", err)
		}
		var listed []struct{ Name, Namespace, Updated, Status, Revision string }
		if err := json.Unmarshal(out, &listed); err != nil {
			t.Fatalf("helm list: %v\n%s", err, out)
		}
		updated := map[string]time.Time{}
		for _, l := range listed {
			if l.Status != "deployed" || l.Revision != strconv.Itoa(round) {
				t.Errorf("round %d: release %s/%s is %s at revision %s", round, l.Namespace, l.Name, l.Status, l.Revision)
			}
			at, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", l.Updated)
			if err != nil {
				t.Fatal(err)
			}
			updated[l.Namespace+"/"+l.Name] = at
		}
		if len(listed) != len(f.Releases) {
			t.Errorf("round %d: %d releases deployed, want %d", round, len(listed), len(f.Releases))
		}
		for _, rel := range f.Releases {
			for _, need := range rel.Needs {
				if !updated[need].Before(updated[rel.Namespace+"/"+rel.Name]) {
					t.Errorf("round %d: release %s was deployed at %s, not after %s (%s)", round, rel.Name,
						updated[rel.Namespace+"/"+rel.Name].Format(time.StampMicro), need, updated[need].Format(time.StampMicro))
				}
			}
		}
	}
	ns, err := cs.CoreV1().Namespaces().Get(t.Context(), "mesh", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if owner := ns.Annotations["meta.helm.sh/release-name"]; owner != "ns-mesh" {
		t.Errorf("namespace mesh belongs to release %q, want ns-mesh", owner)
	}
	cm, err := cs.CoreV1().ConfigMaps("mesh").Get(t.Context(), "tpl", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cm.Data["tpl"]; got != "{{ .Values.x }}" {
		t.Errorf("ConfigMap mesh/tpl: tpl is %q, want {{ .Values.x }}", got)
	}
}
