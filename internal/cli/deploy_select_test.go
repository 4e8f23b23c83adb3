package cli

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"wookie.dev/wookie/internal/testenv"
)

// TestDeployBatchByBatch is the README's manual workflow against a real
// API server: a later batch first is refused, naming what it needs; then
// crds, namespaces, operators and services, each deployed with --batch and
// checked with status --batch before the next; a bundle alone; --until;
// and a pruning deploy of one batch that leaves the others alone.
func TestDeployBatchByBatch(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "cli-batches"})
	write := testenvConfig(t, env)
	write("")

	code, _, stderr := run(t, "deploy", "--batch", "services")
	for _, want := range []string{
		"cluster test: batch crds: bundle istio-base: not ready in the cluster (",
		"cluster test: batch namespaces: bundle ns-wookie: not ready in the cluster (Namespace/wookie Missing)",
		"cluster test: batch operators: bundle istiod: not ready in the cluster (",
		"hint: deploy those first",
		"--with-deps",
	} {
		if code != 1 || !strings.Contains(stderr, want) {
			t.Errorf("deploy --batch services first: exit %d, want 1 and %q:\n%s", code, want, stderr)
		}
	}
	if code, out, _ := run(t, "status", "--batch", "services"); code != 1 || !strings.Contains(out, "Missing") {
		t.Errorf("status --batch services before deploying it: exit %d\n%s", code, out)
	}

	for _, b := range []struct {
		batch   string
		bundles int
	}{{"crds", 1}, {"namespaces", 3}, {"operators", 1}, {"services", 1}} {
		code, _, stderr := run(t, "deploy", "--batch", b.batch)
		if code != 0 || !strings.Contains(stderr, fmt.Sprintf("✓ deployed %d bundles", b.bundles)) {
			t.Fatalf("deploy --batch %s: exit %d:\n%s", b.batch, code, stderr)
		}
		code, out, _ := run(t, "status", "--batch", b.batch)
		if code != 0 || strings.Count(out, " Ready ") != b.bundles || strings.Contains(out, "Missing") {
			t.Errorf("status --batch %s: exit %d\n%s", b.batch, code, out)
		}
	}
	if code, out, _ := run(t, "status"); code != 0 || strings.Count(out, " Ready ") != 6 {
		t.Errorf("status after deploying batch by batch: exit %d\n%s", code, out)
	}

	// One bundle; everything up to operators; diff of one batch.
	if code, _, stderr := run(t, "deploy", "--bundle", "istiod"); code != 0 || !strings.Contains(stderr, "✓ deployed 1 bundles") {
		t.Errorf("deploy --bundle istiod: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := run(t, "deploy", "--until", "operators"); code != 0 || !strings.Contains(stderr, "✓ deployed 5 bundles") {
		t.Errorf("deploy --until operators: exit %d\n%s", code, stderr)
	}
	if code, out, stderr := run(t, "diff", "--batch", "services"); code != 0 || out != "" {
		t.Errorf("diff --batch services with nothing to change: exit %d %q %s", code, out, stderr)
	}

	// A bundle joins services and leaves it: a pruning deploy of crds does
	// not touch it, one of services deletes it.
	write(`clusters: test: batches: services: bundles: extra: {namespace: "wookie", manifests: extra: [{apiVersion: "v1", kind: "ConfigMap", metadata: name: "extra", data: a: "1"}]}
`)
	if code, _, stderr := run(t, "deploy", "--bundle", "extra"); code != 0 || !strings.Contains(stderr, "✓ deployed 1 bundles") {
		t.Fatalf("deploy --bundle extra: exit %d\n%s", code, stderr)
	}
	write("")
	if code, _, stderr := run(t, "deploy", "--batch", "crds", "--prune"); code != 0 || strings.Contains(stderr, "extra") {
		t.Errorf("deploy --batch crds --prune touched services: exit %d\n%s", code, stderr)
	}
	if code, out, _ := run(t, "diff", "--batch", "services", "--prune"); code != 1 || !strings.Contains(out, "ConfigMap/wookie/extra would be deleted") {
		t.Errorf("diff --batch services --prune: exit %d\n%s", code, out)
	}
	if code, _, stderr := run(t, "deploy", "--batch", "services", "--prune"); code != 0 || !strings.Contains(stderr, "ConfigMap/wookie/extra  deleted") {
		t.Errorf("deploy --batch services --prune: exit %d\n%s", code, stderr)
	}
}

// testenvConfig sets up renderSetup's directory for the test control
// plane env: the embedded wookie project on a kubeconfig target, cluster
// test, with the Istio-shaped test charts. It returns the function that
// writes wookie.cue with extra configuration.
func testenvConfig(t *testing.T, env *testenv.Env) func(extra string) {
	t.Helper()
	renderSetup(t, "./charts", "")
	cfg := fmt.Sprintf(`targets: kubeconfig: {enable: true, clusterName: "test", context: %q, path: %q, kubeVersion: "1.37.2"}
projects: wookie: enable: true
charts: istio: {
	base: repo:    "./charts"
	istiod: repo:  "./charts"
	gateway: repo: "./charts"
}
`, env.Context, env.Kubeconfig)
	return func(extra string) {
		t.Helper()
		if err := os.WriteFile("wookie.cue", []byte(cfg+extra), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
