package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/testenv"
)

// The fleet project on Rancher Fleet's published charts (fleet-crd and
// fleet 0.12.0 in ../shared/realcharts): it locks, renders and passes check
// --strict, alone and beside the wookie project, the Fleet CLI makes a
// Bundle of each of its Fleet bundle directories, and it deploys to a real
// kube-apiserver with a kwok node with every bundle ready: the CRDs, the
// namespace, and the fleet chart, whose Deployments kwok makes available
// and whose post-install hook Job (fleet-cleanup-clusterregistrations)
// completes, as kwok finishes the pods of Jobs.

// fleetBundles are the fleet project's bundles, as batch/bundle.
var fleetBundles = []string{"fleet-crds/fleet-crd", "fleet-crds/ns-cattle-fleet-system", "fleet/fleet"}

// fleetWorkspace writes config (with %[1]s for the charts' URL) into a
// directory of its own and returns the flags that select it.
func fleetWorkspace(t *testing.T, config, url string) []string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wookie.cue")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(config, url)), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"-f", cfg, "--cache-dir", filepath.Join(dir, "cache"), "--lock-file", filepath.Join(dir, "wookie.lock")}
}

// TestFleetProject locks, renders and checks the fleet project alone and
// with the wookie project, on one local-k3d cluster.
func TestFleetProject(t *testing.T) {
	_, url := serveCharts(t)
	for _, tc := range []struct{ name, config string }{
		{"fleet", `package wookie

targets: "local-k3d": enable: true
projects: fleet: enable: true
charts: fleet: [_]: repo: %[1]q
`},
		{"fleet-and-wookie", `package wookie

targets: "local-k3d": enable: true
projects: fleet: enable: true
projects: wookie: enable: true
charts: fleet: [_]: repo: %[1]q
charts: istio: [_]: repo: %[1]q
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flags := fleetWorkspace(t, tc.config, url)
			wookie(t, append([]string{"lock", "-q"}, flags...)...)
			out, _ := wookie(t, append([]string{"plan"}, flags...)...)
			for _, b := range fleetBundles {
				batch, bundle, _ := strings.Cut(b, "/")
				if !strings.Contains(out, " "+batch+" ") || !strings.Contains(out, " "+bundle+" ") {
					t.Errorf("plan lacks bundle %s:\n%s", b, out)
				}
			}
			dir := filepath.Join(t.TempDir(), "out")
			wookie(t, append([]string{"render", "-q", "-o", dir}, flags...)...)
			for _, b := range fleetBundles {
				data, err := os.ReadFile(filepath.Join(dir, "wookie-local", b+".yaml"))
				if err != nil {
					t.Fatal(err)
				}
				if len(data) == 0 {
					t.Errorf("bundle %s rendered no objects", b)
				}
			}
			wookie(t, append([]string{"check", "--strict"}, flags...)...)
			fleetDir := filepath.Join(t.TempDir(), "fleet")
			wookie(t, append([]string{"render", "-q", "-o", fleetDir, "--format", "fleet", "--fleet-bundles"}, flags...)...)
			bundles, err := os.ReadFile(filepath.Join(fleetDir, "bundles", "wookie-local.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			// The management cluster is Fleet's own: its Bundles go to
			// workspace fleet-local, for cluster local.
			if n, m := strings.Count(string(bundles), "\nkind: Bundle\n"), strings.Count(string(bundles), "\n  namespace: fleet-local\n"); n == 0 || n != m {
				t.Errorf("%d Bundles, %d of them in fleet-local", n, m)
			}
			if !strings.Contains(string(bundles), "clusterName: local\n") {
				t.Errorf("the Bundles do not target cluster local")
			}
			// The Fleet CLI makes a Bundle of every bundle directory.
			fleet := peer(t, "fleet")
			files, err := filepath.Glob(filepath.Join(fleetDir, "*", "*", "*", "fleet.yaml"))
			if err != nil || len(files) == 0 {
				t.Fatalf("no fleet.yaml files in %s: %v", fleetDir, err)
			}
			for _, f := range files {
				rel, _ := filepath.Rel(fleetDir, filepath.Dir(f))
				out := runPeer(t, fleetDir, fleet, "apply", "-o", "-", "wookie", rel)
				var b struct{ Kind string }
				if err := yaml.Unmarshal(out, &b); err != nil || b.Kind != "Bundle" {
					t.Errorf("fleet apply %s: want a Bundle, got %v:\n%.300s", rel, err, out)
				}
			}
		})
	}
}

// TestFleetDeploy deploys the fleet project to the test control plane and
// expects every bundle ready, as deploy reports it and as wookie status
// reads it.
func TestFleetDeploy(t *testing.T) {
	_, url := serveCharts(t)
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "fleet"})
	flags := fleetWorkspace(t, fmt.Sprintf(`package wookie

targets: kubeconfig: {enable: true, clusterName: "test", context: %q, path: %q, kubeVersion: "1.37.2"}
projects: fleet: enable: true
charts: fleet: [_]: repo: %%[1]q
`, env.Context, env.Kubeconfig), url)
	wookie(t, append([]string{"lock", "-q"}, flags...)...)
	wookie(t, append([]string{"check", "--strict"}, flags...)...)

	start := time.Now()
	code, _, stderr := wookieCode(append([]string{"deploy", "--timeout", "2m"}, flags...)...)
	t.Logf("wookie deploy: exit %d after %s:\n%s", code, time.Since(start).Round(time.Second), stderr)
	if code != 0 {
		t.Fatalf("deploy: exit %d, want 0", code)
	}
	for _, b := range fleetBundles {
		if !strings.Contains(stderr, "✓ test "+b) {
			t.Errorf("deploy does not report bundle %s ready", b)
		}
	}
	// wookie status reads every bundle ready: the post-install hook Job,
	// which deploy deleted once it succeeded (its hook-delete-policy
	// includes hook-succeeded), is done, not missing.
	code, out, stderr := wookieCode(append([]string{"status", "-o", "json"}, flags...)...)
	if code != 0 {
		t.Fatalf("status: exit %d, want 0\n%s%s", code, stderr, out)
	}
	var sts []deploy.BundleStatus
	if err := json.Unmarshal([]byte(out), &sts); err != nil {
		t.Fatalf("status -o json: %v\n%s", err, out)
	}
	states := map[string]deploy.BundleStatus{}
	for _, st := range sts {
		states[st.Batch+"/"+st.Bundle] = st
	}
	for _, b := range fleetBundles {
		st, ok := states[b]
		switch {
		case !ok:
			t.Errorf("status lacks bundle %s:\n%s", b, out)
		case st.State != "Ready" || st.Ready != st.Objects || st.Present != st.Objects:
			t.Errorf("status of bundle %s: %s, %d of %d objects present, %d ready, want all ready: %+v", b, st.State, st.Present, st.Objects, st.Ready, st.NotReady)
		}
	}
	if st := states["fleet/fleet"]; st.HooksDone == 0 {
		t.Errorf("status of bundle fleet/fleet: no hook done, want fleet-cleanup-clusterregistrations: %+v", st)
	}
}
