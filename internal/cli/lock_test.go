package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/lock"
)

// run runs wookie in-process and returns its exit code and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(args, bytes.NewReader(nil), &out, &errOut)
	return code, out.String(), errOut.String()
}

// sha256sum is what `sha256sum FILE` prints for data, as a digest.
func sha256sum(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func chartPkg(t *testing.T, name, version string) []byte {
	return charttest.Package(t, charttest.Chart{Name: name, Version: version, Files: map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n",
	}})
}

// workIn writes cfg as dir/wookie.cue and changes into dir, with a cache
// and an empty credentials file of its own.
func workIn(t *testing.T, dir, cfg string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "wookie.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("WOOKIE_CACHE_DIR", filepath.Join(dir, "cache"))
	t.Setenv("WOOKIE_CREDENTIALS", filepath.Join(dir, "no-credentials.yaml"))
	if err := os.WriteFile("no-credentials.yaml", []byte("apiVersion: wookie.dev/v1alpha1\nkind: Credentials\nrepositories: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// lockSetup starts a chart repository and an OCI registry on 127.0.0.1,
// writes a configuration using both plus a local chart, and changes into
// its directory.
func lockSetup(t *testing.T) (repo *charttest.Repo, reg *charttest.Registry, alpha, beta []byte, manifest string) {
	alpha, beta = chartPkg(t, "alpha", "1.0.3"), chartPkg(t, "beta", "2.0.0")
	repo = charttest.NewRepo(t, charttest.RepoOptions{}, chartPkg(t, "alpha", "1.0.0"), alpha)
	reg = charttest.NewRegistry(t, charttest.RegistryOptions{})
	manifest = reg.Push(t, "charts", beta)
	dir := t.TempDir()
	charttest.WriteDir(t, filepath.Join(dir, "charts"), charttest.Chart{Name: "web", Version: "0.1.0", Files: map[string]string{"templates/cm.yaml": "kind: ConfigMap\n"}})
	cfg := fmt.Sprintf(`targets: kubeconfig: {enable: true, clusterName: "test", context: "test"}
clusters: test: batches: {
	operators: bundles: alpha: {namespace: "a", chart: {repo: %q, name: "alpha", version: "~1.0"}}
	services: bundles: beta: {namespace: "b", chart: {repo: %q, name: "beta", version: "2.0.0"}}
	services: bundles: web: {namespace: "w", chart: {repo: "./charts", name: "web"}}
}
`, repo.URL, reg.URL("charts"))
	workIn(t, dir, cfg)
	return repo, reg, alpha, beta, manifest
}

// TestLockEndToEnd is the acceptance: wookie lock against a local
// HTTP repository and a local OCI registry writes the served archive's
// sha256 and the manifest digest; one changed byte on the server or in the
// cache makes the next fetch fail with both digests and changes no output.
func TestLockEndToEnd(t *testing.T) {
	repo, _, alpha, _, manifest := lockSetup(t)

	code, _, stderr := run(t, "lock")
	if code != 0 {
		t.Fatalf("wookie lock: exit %d: %s", code, stderr)
	}
	data, err := os.ReadFile("wookie.lock")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := lock.Decode(data, "wookie.lock")
	if err != nil {
		t.Fatal(err)
	}
	digests := map[string]string{}
	for _, e := range lf.Charts {
		digests[e.Name] = e.Digest
	}
	if digests["alpha"] != sha256sum(alpha) {
		t.Errorf("alpha: lock has %s, sha256sum of the served archive is %s", digests["alpha"], sha256sum(alpha))
	}
	if digests["beta"] != manifest {
		t.Errorf("beta: lock has %s, the registry's manifest digest is %s", digests["beta"], manifest)
	}
	if !strings.HasPrefix(digests["web"], "sha256:") {
		t.Errorf("web: %q", digests["web"])
	}
	if !strings.Contains(stderr, "+ alpha@~1.0 from "+repo.URL+" -> 1.0.3 ") {
		t.Errorf("lock narration: %s", stderr)
	}

	// The Plan carries the pins.
	code, out, stderr := run(t, "plan", "--locked", "-o", "json")
	if code != 0 {
		t.Fatalf("plan --locked: %d %s", code, stderr)
	}
	if !strings.Contains(out, `"version": "1.0.3",`) || !strings.Contains(out, `"digest": "`+sha256sum(alpha)+`"`) {
		t.Errorf("plan does not carry the pin:\n%s", out)
	}

	// A second lock changes nothing, and --locked agrees.
	if code, _, stderr := run(t, "lock"); code != 0 || !strings.Contains(stderr, "3 charts pinned, 0 changed") {
		t.Errorf("second lock: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "lock", "--locked"); code != 0 {
		t.Errorf("lock --locked: %d %s", code, stderr)
	}
	same, _ := os.ReadFile("wookie.lock")
	if !bytes.Equal(same, data) {
		t.Error("an unchanged lock rewrote the file's bytes")
	}

	// charts list: everything cached.
	code, out, _ = run(t, "charts", "list")
	if code != 0 || strings.Count(out, " cached ") != 2 || !strings.Contains(out, " local ") {
		t.Errorf("charts list: %d\n%s", code, out)
	}

	// One byte changed on the server: a fetch into a fresh cache fails.
	repo.Tamper("alpha", "1.0.3", func(b []byte) []byte {
		b = append([]byte(nil), b...)
		b[len(b)/2] ^= 1
		return b
	})
	code, _, stderr = run(t, "charts", "pull", "--cache-dir", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "expected "+sha256sum(alpha)+", actual sha256:") {
		t.Errorf("pull of a tampered archive: exit %d: %s", code, stderr)
	}
	repo.Add(alpha)

	// One byte changed in the cache: the next read fails.
	cacheFile := filepath.Join(os.Getenv("WOOKIE_CACHE_DIR"), "blobs", "sha256", strings.TrimPrefix(sha256sum(alpha), "sha256:"))
	blob, err := os.ReadFile(cacheFile)
	if err != nil {
		t.Fatal(err)
	}
	blob[10] ^= 1
	if err := os.WriteFile(cacheFile, blob, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, "charts", "pull")
	if code != 1 || !strings.Contains(stderr, "digest mismatch for cache file "+cacheFile) || !strings.Contains(stderr, "expected "+sha256sum(alpha)) {
		t.Errorf("pull with a corrupt cache: exit %d: %s", code, stderr)
	}
	code, out, _ = run(t, "charts", "list")
	if code != 0 || !strings.Contains(out, " corrupt ") {
		t.Errorf("charts list after corruption:\n%s", out)
	}
	after, _ := os.ReadFile("wookie.lock")
	if !bytes.Equal(after, data) {
		t.Error("a failed fetch changed wookie.lock")
	}
}

// TestLockUpdateAndOffline covers --update, --locked failures, --offline
// and failures that must leave wookie.lock as it was.
func TestLockUpdateAndOffline(t *testing.T) {
	repo, _, _, _, _ := lockSetup(t)
	if code, _, stderr := run(t, "lock"); code != 0 {
		t.Fatalf("lock: %s", stderr)
	}
	before, _ := os.ReadFile("wookie.lock")

	// A newer version matching ~1.0 appears: kept until --update.
	repo.Add(chartPkg(t, "alpha", "1.0.9"))
	if code, _, _ := run(t, "lock"); code != 0 {
		t.Fatal("lock")
	}
	if now, _ := os.ReadFile("wookie.lock"); !bytes.Equal(now, before) {
		t.Error("lock without --update changed a pin")
	}
	code, _, stderr := run(t, "lock", "--update", "alpha")
	if code != 0 || !strings.Contains(stderr, "~ alpha@~1.0 from "+repo.URL+" -> 1.0.9 ") {
		t.Fatalf("lock --update alpha: %d %s", code, stderr)
	}
	updated, _ := os.ReadFile("wookie.lock")

	// Usage and bad names.
	if code, _, stderr := run(t, "lock", "alpha"); code != 2 || !strings.Contains(stderr, "chart names need --update") {
		t.Errorf("lock alpha: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "lock", "--update", "nope"); code != 1 || !strings.Contains(stderr, "--update nope: no chart of that name in the Plan") {
		t.Errorf("lock --update nope: %d %s", code, stderr)
	}

	// The repository fails: nothing is written.
	repo.FailNext(1000, 503)
	if code, _, stderr := run(t, "lock", "--update"); code != 1 || !strings.Contains(stderr, "503 Service Unavailable") {
		t.Errorf("lock --update with the repository down: %d %s", code, stderr)
	}
	if now, _ := os.ReadFile("wookie.lock"); !bytes.Equal(now, updated) {
		t.Error("a failed lock changed wookie.lock")
	}

	// Offline: the pinned charts come from the cache.
	if code, _, stderr := run(t, "charts", "pull", "--offline"); code != 0 {
		t.Errorf("pull --offline with a full cache: %s", stderr)
	}
	code, _, stderr = run(t, "charts", "pull", "--offline", "--cache-dir", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "chart alpha@~1.0 from "+repo.URL+": sha256:") || !strings.Contains(stderr, "--offline forbids downloading it") {
		t.Errorf("pull --offline with an empty cache: %d %s", code, stderr)
	}

	// A chart the lock does not pin: warning, or an error with --locked.
	cfg, _ := os.ReadFile("wookie.cue")
	cfg = append(cfg, []byte(fmt.Sprintf("clusters: test: batches: services: bundles: extra: {namespace: \"e\", chart: {repo: %q, name: \"alpha\", version: \"1.0.0\"}}\n", repo.URL))...)
	if err := os.WriteFile("wookie.cue", cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "lock", "--locked"); code != 1 || !strings.Contains(stderr, "not pinned (--locked): alpha@1.0.0 from "+repo.URL) {
		t.Errorf("lock --locked with a new chart: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "plan", "--locked"); code != 1 || !strings.Contains(stderr, "not pinned (--locked)") {
		t.Errorf("plan --locked: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "plan"); code != 0 || !strings.Contains(stderr, "warning: not pinned in wookie.lock: alpha@1.0.0 from "+repo.URL) {
		t.Errorf("plan: %d %s", code, stderr)
	}
	if now, _ := os.ReadFile("wookie.lock"); !bytes.Equal(now, updated) {
		t.Error("--locked changed wookie.lock")
	}
}
