package conformance

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/peertest"
	"wookie.dev/wookie/internal/render/paritytest"
)

// peer returns the path of a peer tool's CLI (helmfile, fleet, flux,
// argocd, helm) as hack/peers/build.sh builds it (peertest.Binary).
func peer(t *testing.T, name string) string {
	t.Helper()
	return peertest.Binary(t, name)
}

// runPeer runs a peer tool in dir with a fresh HOME, caches and
// configuration, and a kubeconfig that reaches no cluster; it returns
// stdout and fails the test on error.
func runPeer(t *testing.T, dir, bin string, args ...string) []byte {
	t.Helper()
	home := t.TempDir()
	kubeconfig := filepath.Join(home, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(noCluster), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG="+kubeconfig,
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"HELM_CACHE_HOME="+filepath.Join(home, "helm", "cache"), "HELM_CONFIG_HOME="+filepath.Join(home, "helm", "config"), "HELM_DATA_HOME="+filepath.Join(home, "helm", "data"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, stderr.Bytes(), stdout.Bytes())
	}
	return stdout.Bytes()
}

// noCluster is a kubeconfig whose only cluster is a port nothing listens
// on: tools that insist on a kubeconfig get one, and reach nothing.
const noCluster = `apiVersion: v1
kind: Config
clusters:
- name: none
  cluster: {server: "https://127.0.0.1:1"}
contexts:
- name: none
  context: {cluster: none, user: none}
current-context: none
users:
- name: none
  user: {token: none}
`

// formatCases are the stacks whose GitOps outputs go to the peer tools:
// the default (the newest Istio, standalone), a multi-cluster mesh
// (primary-remote, whose remote istiod has objects that wait for a
// deploy-time input), and the seed's Istio 1.24.2, whose published
// gateway chart needs skipSchemaValidation in every format.
func formatCases() []stack {
	newest := istioReleases[len(istioReleases)-1]
	return []stack{
		{istio: newest, topology: topologies[0]},
		{istio: newest, topology: topologies[3]},
		{istio: "1.24.2", topology: topologies[0]},
	}
}

// TestFormatsWithPeers renders each format case in every GitOps format
// (and mode) and hands the output to the peer tool that reads it: fleet
// apply -o - for each Fleet bundle directory, helmfile build, lint and
// template, flux build kustomization for each cluster, and argocd admin
// app generate-spec for each Application.
func TestFormatsWithPeers(t *testing.T) {
	_, url := serveCharts(t)
	cache := t.TempDir()
	root := t.TempDir()
	for _, s := range formatCases() {
		t.Run(s.name(), func(t *testing.T) {
			t.Parallel()
			w := newWorkspace(t, root, cache, url, s)
			w.run(t, "lock", "-q")
			render := func(t *testing.T, args ...string) string {
				t.Helper()
				out := filepath.Join(t.TempDir(), "repo")
				w.run(t, "render", append([]string{"-q", "--git-repo", "https://git.example.org/platform.git", "-o", out}, args...)...)
				return out
			}
			clusters := clusterNames(t, render(t))
			for _, mode := range []string{"rendered", "chart"} {
				t.Run("fleet "+mode, func(t *testing.T) {
					fleet := peer(t, "fleet")
					dir := render(t, "--format", "fleet", "--fleet-mode", mode)
					files, err := filepath.Glob(filepath.Join(dir, "*", "*", "*", "fleet.yaml"))
					if err != nil || len(files) == 0 {
						t.Fatalf("no fleet.yaml files in %s: %v", dir, err)
					}
					for _, f := range files {
						rel, _ := filepath.Rel(dir, filepath.Dir(f))
						// fleet apply -o - prints the Bundle Fleet makes of
						// the directory; charts (chart mode) are pulled from
						// the repository and embedded.
						out := runPeer(t, dir, fleet, "apply", "-o", "-", "wookie", rel)
						var b struct{ Kind string }
						if err := yaml.Unmarshal(out, &b); err != nil || b.Kind != "Bundle" {
							t.Errorf("fleet apply %s: want a Bundle, got %v:\n%.300s", rel, err, out)
						}
					}
				})
				t.Run("flux "+mode, func(t *testing.T) {
					flux := peer(t, "flux")
					dir := render(t, "--format", "flux", "--flux-mode", mode)
					for _, c := range clusters {
						root := filepath.Join(t.TempDir(), "root.yaml")
						data := "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: wookie-" + c + ", namespace: flux-system}\n" +
							"spec: {interval: 10m, path: ./" + c + "/flux, prune: true, sourceRef: {kind: GitRepository, name: flux-system}}\n"
						if err := os.WriteFile(root, []byte(data), 0o644); err != nil {
							t.Fatal(err)
						}
						out := runPeer(t, dir, flux, "build", "kustomization", "wookie-"+c,
							"--path", filepath.Join(dir, c, "flux"), "--kustomization-file", root, "--dry-run", "--recursive",
							"--local-sources", "GitRepository/flux-system/flux-system="+dir)
						// Flux builds every object wookie wrote for the
						// cluster: its Kustomizations (and sources), and the
						// manifests or HelmReleases they point at.
						var want, got []string
						err := filepath.WalkDir(filepath.Join(dir, c), func(path string, d fs.DirEntry, err error) error {
							if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") || path == filepath.Join(dir, c, "flux", "kustomization.yaml") {
								return err
							}
							data, err := os.ReadFile(path)
							for _, o := range paritytest.Decode(t, path, data) {
								want = append(want, paritytest.ObjectID(o.Object))
							}
							return err
						})
						if err != nil {
							t.Fatal(err)
						}
						for _, o := range paritytest.Decode(t, "flux build", out) {
							got = append(got, paritytest.ObjectID(o.Object))
						}
						if len(want) == 0 {
							t.Fatalf("%s: no objects in %s", c, filepath.Join(dir, c))
						}
						slices.Sort(want)
						slices.Sort(got)
						if diff := cmp.Diff(want, got); diff != "" {
							t.Errorf("%s: objects flux builds (-wookie +flux):\n%s", c, diff)
						}
					}
				})
				t.Run("argocd "+mode, func(t *testing.T) {
					argocd := peer(t, "argocd")
					dir := render(t, "--format", "argocd", "--argocd-mode", mode)
					files, err := filepath.Glob(filepath.Join(dir, "*", "applications", "*.yaml"))
					if err != nil || len(files) == 0 {
						t.Fatalf("no Applications in %s: %v", dir, err)
					}
					apps, err := filepath.Glob(filepath.Join(dir, "*", "app-of-apps.yaml"))
					if err != nil {
						t.Fatal(err)
					}
					for _, f := range append(files, apps...) {
						// What comes back must be what went in (but
						// metadata.namespace, which the command leaves out):
						// no field is one Argo CD drops or misreads.
						out := runPeer(t, dir, argocd, "admin", "app", "generate-spec", "-f", f, "-o", "yaml")
						data, err := os.ReadFile(f)
						if err != nil {
							t.Fatal(err)
						}
						var want, back map[string]any
						if err := yaml.Unmarshal(data, &want); err != nil {
							t.Fatal(err)
						}
						if err := yaml.Unmarshal(out, &back); err != nil {
							t.Fatalf("argocd output: %v\n%s", err, out)
						}
						if meta, ok := want["metadata"].(map[string]any); ok {
							delete(meta, "namespace")
						}
						if diff := cmp.Diff(want, back); diff != "" {
							t.Errorf("%s: Argo CD reads the Application differently (-wookie +argocd):\n%s", f, diff)
						}
					}
				})
			}
			t.Run("helmfile", func(t *testing.T) {
				helmfile, helm := peer(t, "helmfile"), peer(t, "helm")
				dir := render(t, "--format", "helmfile")
				hf := func(args ...string) []byte {
					return runPeer(t, dir, helmfile, append([]string{"--helm-binary", helm, "--no-color", "--file", filepath.Join(dir, "helmfile.yaml")}, args...)...)
				}
				hf("build")
				// helmfile lint never passes --skip-schema-validation to
				// helm lint (helmfile v1.8.0's flagsForLint), so a release
				// whose published chart schema rejects every input (the
				// gateway chart of Istio 1.24.2) cannot pass it; helmfile
				// template passes the release's skipSchemaValidation on.
				if !strings.HasPrefix(s.istio, "1.24.") {
					hf("lint")
				}
				out := hf("template", "--skip-tests")
				if !bytes.Contains(out, []byte("kind: Deployment")) {
					t.Errorf("helmfile template rendered no Deployment:\n%.300s", out)
				}
			})
		})
	}
}

// clusterNames lists the clusters of a render tree: its directories.
func clusterNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no clusters", dir)
	}
	return out
}
