package eval

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/testgen"
)

var update = flag.Bool("update", false, "rewrite golden Plans")

// TestGoldenPlans evaluates the embedded default and every example and
// compares the Plan with testdata/<name>.plan.yaml.
func TestGoldenPlans(t *testing.T) {
	cases := testgen.Examples(t)
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := Evaluate(Config{Files: files, Dir: t.TempDir()})
			if err != nil {
				t.Fatalf("evaluate: %v", err)
			}
			got, err := plan.EncodeYAML(res.Plan)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".plan.yaml")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/eval -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("plan differs from %s (-want +got):\n%s", golden, diff)
			}
			// The golden file is itself a valid Plan another front end
			// could have written.
			back, err := plan.Decode(want, golden)
			if err != nil {
				t.Fatalf("decode golden: %v", err)
			}
			if err := plan.Normalize(back); err != nil {
				t.Fatalf("normalize golden: %v", err)
			}
		})
	}
}

// TestDefaultPlan checks the shape of the embedded default's Plan: the four
// standard batches in priority order with the wookie project's bundles.
func TestDefaultPlan(t *testing.T) {
	res, err := Evaluate(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Batch     string
		Priority  int
		Bundle    string
		Namespace string
		Source    string
		DependsOn string
	}
	var got []row
	if len(res.Plan.Clusters) != 1 {
		t.Fatalf("clusters: got %d, want 1", len(res.Plan.Clusters))
	}
	c := res.Plan.Clusters[0]
	if c.Name != "wookie-local" || c.Context != "k3d-wookie-local" || c.Target != "local-k3d" || c.KubeVersion != "1.36.4" {
		t.Errorf("cluster: got %s/%s/%s/%s", c.Name, c.Context, c.Target, c.KubeVersion)
	}
	for _, b := range c.Batches {
		for _, bu := range b.Bundles {
			src := ""
			if bu.Chart != nil {
				src = bu.Chart.Name + "@" + bu.Chart.Version
			} else {
				src = bu.Manifests[0]["kind"].(string)
			}
			got = append(got, row{b.Name, b.Priority, bu.Name, bu.Namespace, src, strings.Join(bu.DependsOn, ",")})
		}
	}
	want := []row{
		{"crds", 100, "istio-base", "istio-system", "base@1.30.3", ""},
		{"namespaces", 200, "ns-istio-ingress", "istio-ingress", "Namespace", ""},
		{"namespaces", 200, "ns-istio-system", "istio-system", "Namespace", ""},
		{"namespaces", 200, "ns-wookie", "wookie", "Namespace", ""},
		{"operators", 300, "istiod", "istio-system", "istiod@1.30.3", "istio-base"},
		{"services", 600, "istio-ingressgateway", "istio-ingress", "gateway@1.30.3", "istiod"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("default plan (-want +got):\n%s", diff)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings: %q", res.Warnings)
	}
}

// writeFiles writes name -> content into a fresh directory and returns it
// with the file names in order.
func writeFiles(t *testing.T, files [][2]string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	var names []string
	for _, f := range files {
		p := filepath.Join(dir, f[0])
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f[1]), 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, f[0])
	}
	return dir, names
}

// evalConfig evaluates config as the file wookie.cue. With wantErr it
// expects an error containing it and returns nil; otherwise it fails the
// test on any error.
func evalConfig(t *testing.T, config, wantErr string) *Result {
	t.Helper()
	dir, names := writeFiles(t, [][2]string{{"wookie.cue", config}})
	res, err := Evaluate(Config{Dir: dir, Files: []string{filepath.Join(dir, names[0])}})
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error %v, want %q", err, wantErr)
		}
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// evalFilesErr evaluates files and returns the error, failing the test
// when there is none.
func evalFilesErr(t *testing.T, files [][2]string) error {
	t.Helper()
	dir, names := writeFiles(t, files)
	_, err := Evaluate(Config{Files: names, Dir: dir})
	if err == nil {
		t.Fatal("no error")
	}
	return err
}

const base = "targets: \"local-k3d\": enable: true\nprojects: wookie: enable: true\n"

// TestErrors gives every kind of bad input and the exact message it must
// produce.
func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		files [][2]string
		want  string
	}{{
		name:  "syntax error",
		files: [][2]string{{"wookie.cue", "projects: wookie: {enable: true\n"}},
		want:  "wookie.cue:1:33: expected '}', found 'EOF'",
	}, {
		name:  "enum value misspelled",
		files: [][2]string{{"wookie.cue", base + "projects: wookie: clusterRole: \"primry\"\n"}},
		want:  `wookie.cue:3:32: projects.wookie.clusterRole: "primry" is not allowed: want "primary" | "remote" | "standalone"`,
	}, {
		name:  "wrong type",
		files: [][2]string{{"wookie.cue", base + "targets: \"local-k3d\": agents: \"two\"\n"}},
		want:  `wookie.cue:3:31: targets."local-k3d".agents: "two" is not allowed: want int`,
	}, {
		name:  "unknown field",
		files: [][2]string{{"wookie.cue", base + "projects: wookie: istoi: enable: false\n"}},
		want:  `wookie.cue:3:19: projects.wookie.istoi: field not allowed (did you mean istio?)`,
	}, {
		name:  "unknown target",
		files: [][2]string{{"wookie.cue", "targets: \"local-k8d\": enable: true\n"}},
		want:  `wookie.cue:1:10: targets."local-k8d": field not allowed (did you mean "local-k3d"?)`,
	}, {
		name: "conflicting values in two files",
		files: [][2]string{
			{"a.cue", base + "projects: wookie: clusterRole: \"primary\"\n"},
			{"b.yaml", "projects:\n  wookie:\n    clusterRole: remote\n"},
		},
		want: `a.cue:3:32: projects.wookie.clusterRole: conflicting values "remote" and "primary" (also at b.yaml:3:18)`,
	}, {
		name:  "chart repository URL with a password",
		files: [][2]string{{"wookie.cue", base + `clusters: "wookie-local": batches: services: bundles: x: {namespace: "x", chart: {repo: "https://ci:s3cret@charts.example.com/x", name: "x", version: "1.0.0"}}` + "\n"}},
		want:  `wookie.cue:3:89: cluster wookie-local: bundle x: chart.repo: "https://xxxxx@charts.example.com/x" has credentials in it (before the @): give them in the credentials file ($WOOKIE_CREDENTIALS), not in the configuration`,
	}, {
		name:  "chart repository URL with a password that does not parse, in YAML",
		files: [][2]string{{"a.cue", base}, {"b.yaml", "clusters:\n  wookie-local:\n    batches:\n      services:\n        bundles:\n          x:\n            namespace: x\n            chart: {repo: 'https://ci:s3c ret@charts.example.com', name: x, version: 1.0.0}\n"}},
		want:  `b.yaml:8:27: cluster wookie-local: bundle x: chart.repo: "https://xxxxx@charts.example.com" has credentials in it (before the @): give them in the credentials file ($WOOKIE_CREDENTIALS), not in the configuration`,
	}, {
		name: "dependsOn cycle",
		files: [][2]string{{"wookie.cue", base + `clusters: "wookie-local": batches: crds: bundles: "istio-base": dependsOn: mine: ["istiod"]
clusters: "wookie-local": batches: crds: bundles: istiod: {}
`}},
		want: "",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := evalFilesErr(t, tt.files)
			if tt.want == "" {
				t.Logf("message: %v", err)
				return
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBundleSettings: every bundle setting of the config reaches the Plan
// (wait, timeout, readiness and prune once did not), and the GitOps
// settings with their defaults.
func TestBundleSettings(t *testing.T) {
	dir, names := writeFiles(t, [][2]string{{"wookie.cue", base + `
gitops: repo: "https://git.example.org/deploy.git"
gitops: fleet: namespace: "fleet-local"
clusters: "wookie-local": gitops: fleet: clusterName: "local"
clusters: "wookie-local": batches: services: bundles: db: {
	namespace: "wookie"
	manifests: db: [{apiVersion: "example.org/v1", kind: "Database", metadata: name: "db"}]
	wait:    false
	timeout: "90s"
	prune:   true
	readiness: db: [{apiVersion: "example.org/v1", kind: "Database", current: "status.state == 'ready'"}]
	resourceScopes: "Database.example.org": "Namespaced"
	checks: skip: db: [{rule: "namespace", name: "db", reason: "made by the platform team"}]
}
clusters: "wookie-local": provides: namespaces: platform: ["monitoring"]
`}})
	res, err := Evaluate(Config{Dir: dir, Files: []string{filepath.Join(dir, names[0])}})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Plan.Clusters[0]
	var db *plan.Bundle
	for bi := range c.Batches {
		for ui := range c.Batches[bi].Bundles {
			if c.Batches[bi].Bundles[ui].Name == "db" {
				db = &c.Batches[bi].Bundles[ui]
			}
		}
	}
	if db == nil {
		t.Fatal("no bundle db")
	}
	no := false
	want := plan.Bundle{
		Name: "db", Namespace: "wookie",
		Manifests:      []plan.Object{{"apiVersion": "example.org/v1", "kind": "Database", "metadata": map[string]any{"name": "db"}}},
		ResourceScopes: map[string]string{"Database.example.org": "Namespaced"},
		Wait:           &no, Timeout: "90s", Prune: true,
		Readiness: []plan.Readiness{{APIVersion: "example.org/v1", Kind: "Database", Current: "status.state == 'ready'"}},
		Checks:    &plan.Checks{Skip: []plan.CheckSkip{{Rule: "namespace", Name: "db", Reason: "made by the platform team"}}},
	}
	if diff := cmp.Diff(want, *db); diff != "" {
		t.Errorf("bundle db (-want +got):\n%s", diff)
	}
	wantGitOps := &plan.GitOps{
		Repo: "https://git.example.org/deploy.git", Revision: "HEAD",
		Fleet:  &plan.FleetGitOps{GitRepo: "wookie", Namespace: "fleet-local"},
		ArgoCD: &plan.ArgoCDGitOps{Namespace: "argocd", Project: "default"},
		Flux:   &plan.FluxGitOps{Namespace: "flux-system", SourceKind: "GitRepository", SourceName: "flux-system"},
	}
	if diff := cmp.Diff(wantGitOps, res.Plan.GitOps); diff != "" {
		t.Errorf("gitops (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&plan.ClusterGitOps{Fleet: &plan.FleetCluster{ClusterName: "local"}}, c.GitOps); diff != "" {
		t.Errorf("cluster gitops (-want +got):\n%s", diff)
	}
	wantProvides := &plan.Provides{Namespaces: []string{"monitoring"}, Kinds: map[string]string{
		"Addon.k3s.cattle.io": "Namespaced", "ETCDSnapshotFile.k3s.cattle.io": "Cluster",
		"HelmChart.helm.cattle.io": "Namespaced", "HelmChartConfig.helm.cattle.io": "Namespaced",
	}}
	if diff := cmp.Diff(wantProvides, c.Provides); diff != "" {
		t.Errorf("cluster provides (-want +got):\n%s", diff)
	}
}
