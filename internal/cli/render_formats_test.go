package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/render/rendertest"
)

// formatCase is one golden output tree of wookie render --format.
type formatCase struct {
	name string
	args []string
}

var formatCases = []formatCase{
	{"manifests", []string{"--format", "manifests"}},
	{"fleet", []string{"--format", "fleet"}},
	{"fleet-chart", []string{"--format", "fleet", "--fleet-mode", "chart"}},
	{"fleet-bundles", []string{"--format", "fleet", "--fleet-bundles"}},
	{"helmfile", []string{"--format", "helmfile"}},
	{"argocd", []string{"--format", "argocd"}},
	{"argocd-chart", []string{"--format", "argocd", "--argocd-mode", "chart"}},
	{"flux", []string{"--format", "flux"}},
	{"flux-chart", []string{"--format", "flux", "--flux-mode", "chart"}},
}

// repoAddr matches the address of the test chart repository, which
// changes from run to run; goldens hold charts.test instead.
var repoAddr = regexp.MustCompile(`127\.0\.0\.1:[0-9]+|127-0-0-1-[0-9]+`)

// TestRenderFormatsGolden renders the embedded default and
// examples/two-clusters, with Istio-shaped test charts served by a chart
// repository on 127.0.0.1, in every format, and compares each tree with
// testdata/formats/<config>/<format> (-update rewrites them). A second
// render of each gives the same bytes.
func TestRenderFormatsGolden(t *testing.T) {
	example, err := os.ReadFile("../../examples/two-clusters/wookie.cue")
	if err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs("testdata/formats")
	if err != nil {
		t.Fatal(err)
	}
	configs := []struct {
		name, config string
		extraArgs    []string
	}{
		// The default has no gitops.repo: Argo CD needs one.
		{"default", "targets: \"local-k3d\": enable: true\nprojects: wookie: enable: true\n", []string{"--git-repo", "https://git.example.org/platform/deploy.git"}},
		{"two-clusters", string(example), nil},
	}
	repo := charttest.NewRepo(t, charttest.RepoOptions{},
		charttest.Package(t, rendertest.Base()), charttest.Package(t, rendertest.Istiod()), charttest.Package(t, rendertest.Gateway()))
	for _, c := range configs {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			workIn(t, dir, c.config)
			if err := os.WriteFile("mirror.cue", []byte("package wookie\n"+rendertest.IstioMirrorConfig(repo.URL)), 0o644); err != nil {
				t.Fatal(err)
			}
			files := []string{"-f", "wookie.cue", "-f", "mirror.cue"}
			if code, _, stderr := run(t, append([]string{"lock"}, files...)...); code != 0 {
				t.Fatalf("lock: %s", stderr)
			}
			for _, fc := range formatCases {
				t.Run(fc.name, func(t *testing.T) {
					golden := filepath.Join(root, c.name, fc.name)
					args := append([]string{"render", "--locked", "-q", "-o", "out-" + fc.name}, files...)
					args = append(append(args, fc.args...), c.extraArgs...)
					var got map[string]string
					for i := range 2 {
						code, _, stderr := run(t, args...)
						if code != 0 {
							t.Fatalf("render: exit %d: %s", code, stderr)
						}
						tree := readTree(t, "out-"+fc.name)
						for name, data := range tree {
							tree[name] = repoAddr.ReplaceAllStringFunc(data, func(m string) string {
								if strings.Contains(m, ":") {
									return "charts.test"
								}
								return "charts-test"
							})
						}
						if i == 1 {
							if diff := cmp.Diff(got, tree); diff != "" {
								t.Fatalf("a second render differs (-first +second):\n%s", diff)
							}
						}
						got = tree
					}
					compareTree(t, golden, got)
				})
			}
		})
	}
}

// TestRenderExamplesGolden renders the examples of the wookie project's
// models with test charts and compares each manifests tree with
// testdata/formats/<example>/manifests (-update rewrites them):
// examples/istio-pxc (Istio and a one-node Percona XtraDB Cluster),
// examples/multi-primary (two primaries on two networks) and
// examples/multi-k3d (primary-remote on two networks). The mesh trees leave
// out the objects holding deploy-time input references (plan.yaml, which
// no engine applies, keeps them), the remote secrets and the cacerts
// Secret, with a note each.
func TestRenderExamplesGolden(t *testing.T) {
	repo := catalogRepo(t)
	tests := []struct {
		example string
		want    []string // files that must be in the tree
		omitted []string // bundles render leaves out
	}{{
		example: "istio-pxc",
		want:    []string{"wookie-local/crds/pxc-operator-crds.yaml", "wookie-local/operators/pxc-operator.yaml", "wookie-local/services/pxc-db.yaml", "wookie-local/namespaces/ns-pxc.yaml"},
	}, {
		example: "multi-primary",
		want: []string{"alpha/services/istio-eastwestgateway.yaml", "alpha/services/istio-expose-services.yaml", "alpha/namespaces/istio-reader-token.yaml",
			"beta/services/istio-eastwestgateway.yaml", "beta/services/istio-expose-services.yaml", "beta/namespaces/istio-reader-token.yaml"},
		omitted: []string{"alpha: bundle istio-cacerts", "alpha: bundle istio-remote-secrets", "beta: bundle istio-cacerts", "beta: bundle istio-remote-secrets"},
	}, {
		example: "multi-k3d",
		want: []string{"east/services/istio-eastwestgateway.yaml", "east/services/istio-expose-istiod.yaml", "east/services/istio-expose-services.yaml",
			"west/namespaces/istio-reader-token.yaml", "west/operators/istiod.yaml", "west/services/istio-eastwestgateway.yaml"},
		omitted: []string{"east: bundle istio-cacerts", "east: bundle istio-remote-secrets"},
	}}
	for _, tt := range tests {
		t.Run(tt.example, func(t *testing.T) {
			example, err := filepath.Abs(filepath.Join("../../examples", tt.example))
			if err != nil {
				t.Fatal(err)
			}
			golden, err := filepath.Abs(filepath.Join("testdata/formats", tt.example, "manifests"))
			if err != nil {
				t.Fatal(err)
			}
			workIn(t, t.TempDir(), "")
			if err := os.WriteFile("mirror.cue", catalogMirror(repo.URL), 0o644); err != nil {
				t.Fatal(err)
			}
			files := []string{"-f", example, "-f", "mirror.cue"}
			if code, _, stderr := run(t, append([]string{"lock"}, files...)...); code != 0 {
				t.Fatalf("lock: %s", stderr)
			}
			code, _, stderr := run(t, append([]string{"render", "--check", "--strict", "--locked", "-o", "out"}, files...)...)
			if code != 0 {
				t.Fatalf("render: exit %d: %s", code, stderr)
			}
			tree := readTree(t, "out")
			for name, data := range tree {
				tree[name] = repoAddr.ReplaceAllStringFunc(data, func(m string) string {
					if strings.Contains(m, ":") {
						return "charts.test"
					}
					return "charts-test"
				})
			}
			compareTree(t, golden, tree)
			for _, want := range tt.want {
				if _, ok := tree[want]; !ok {
					t.Errorf("no %s in the tree", want)
				}
			}
			for _, o := range tt.omitted {
				if !strings.Contains(stderr, "cluster "+o+" is left out") {
					t.Errorf("no note that %s is left out in:\n%s", o, stderr)
				}
			}
			for name, data := range tree {
				if strings.Contains(data, "istio/multiCluster") || strings.Contains(data, "name: cacerts") || strings.Contains(data, "PRIVATE KEY") {
					t.Errorf("%s holds a remote secret or the cacerts Secret", name)
				}
				if !strings.HasSuffix(name, "/plan.yaml") && strings.Contains(data, "((input ") {
					t.Errorf("%s holds an input reference", name)
				}
			}
		})
	}
}

// TestRenderFormatErrors: bad format flags are usage errors (exit 2)
// found before anything is rendered; a format that cannot express the
// Plan fails with exit 1 and leaves the previous output untouched.
func TestRenderFormatErrors(t *testing.T) {
	renderSetup(t, "./charts", "")
	if code, _, stderr := run(t, "lock"); code != 0 {
		t.Fatalf("lock: %s", stderr)
	}
	if code, _, stderr := run(t, "render", "-q", "-o", "out"); code != 0 {
		t.Fatalf("render: %s", stderr)
	}
	before := readTree(t, "out")
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown format", []string{"--format", "kustomize"}, 2, `--format "kustomize": want one of manifests, fleet, helmfile, argocd, flux`},
		{"stream of a directory format", []string{"--format", "fleet", "-o", "-"}, 2, "-o -: only --format manifests writes one stream"},
		{"unknown fleet mode", []string{"--format", "fleet", "--fleet-mode", "helm"}, 2, `--fleet-mode "helm": want rendered or chart`},
		{"unknown flux mode", []string{"--format", "flux", "--flux-mode", "oci"}, 2, `--flux-mode "oci": want rendered or chart`},
		{"unknown argocd mode", []string{"--format", "argocd", "--argocd-mode", "helm"}, 2, `--argocd-mode "helm": want rendered or chart`},
		{"argocd without repository", []string{"--format", "argocd"}, 1, "argocd: the Applications need the Git repository"},
		{"fleet bundles with chart mode", []string{"--format", "fleet", "--fleet-mode", "chart", "--fleet-bundles"}, 1, "--fleet-bundles embeds the rendered manifests"},
		{"git path outside", []string{"--format", "flux", "--git-path", "../x"}, 1, `git path "../x": want a relative path inside the repository`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"render", "--locked", "-o", "out"}, tt.args...)
			if i := slices.Index(tt.args, "-o"); i >= 0 {
				args = append([]string{"render", "--locked"}, tt.args...)
			}
			code, stdout, stderr := run(t, args...)
			if code != tt.code || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr, tt.code, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout: %q", stdout)
			}
			if diff := cmp.Diff(before, readTree(t, "out")); diff != "" {
				t.Errorf("the previous output changed (-before +after):\n%s", diff)
			}
		})
	}
}
