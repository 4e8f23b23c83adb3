package conformance

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"wookie.dev/wookie/internal/testenv"
)

// TestDeployStandaloneWithPXC deploys the standalone stack with PXC (the
// newest Istio and PXC releases) to a real kube-apiserver with a kwok node,
// where pods are scheduled and "run" but no container does. Batches go in
// order: crds, namespaces and operators become ready (istio-base's CRDs,
// istiod and the PXC operator, whose Deployments kwok makes available).
// In the services batch two waits cannot be met, and the deploy must say
// why within its timeout: the ingress gateway's pods are refused by
// istiod's sidecar-injection webhook, which no pod serves (the ReplicaSet's
// FailedCreate message), and the PerconaXtraDBCluster never gets a
// status.state, as no operator runs it.
func TestDeployStandaloneWithPXC(t *testing.T) {
	_, url := serveCharts(t)
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "conformance"})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "wookie.cue")
	pxc := pxcReleases[len(pxcReleases)-1]
	config := fmt.Sprintf(`package wookie

targets: kubeconfig: {enable: true, clusterName: "test", context: %q, path: %q, kubeVersion: "1.37.2"}
projects: wookie: {enable: true, pxc: {enable: true, version: %q}}
charts: istio: [_]: repo: %q
charts: percona: [_]: repo: %q
`, env.Context, env.Kubeconfig, pxc, url, url)
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	flags := []string{"-f", cfg, "--cache-dir", filepath.Join(dir, "cache"), "--lock-file", filepath.Join(dir, "wookie.lock")}
	wookie(t, append([]string{"lock", "-q"}, flags...)...)

	const timeout = 30 * time.Second
	start := time.Now()
	code, _, stderr := wookieCode(append([]string{"deploy", "--timeout", timeout.String()}, flags...)...)
	took := time.Since(start)
	t.Logf("wookie deploy: exit %d after %s:\n%s", code, took.Round(time.Second), stderr)
	if code != 1 {
		t.Fatalf("deploy: exit %d, want 1", code)
	}
	// The waits end with their timeout, not later: a bundle of the
	// services batch waits at most the timeout after the batches before.
	if limit := 4 * timeout; took > limit {
		t.Errorf("deploy took %s, more than %s", took.Round(time.Second), limit)
	}

	// Batch order: every bundle of a batch is done before a bundle of the
	// next batch starts.
	batches := []string{"crds", "namespaces", "operators", "services"}
	lines := strings.Split(stderr, "\n")
	for i := 1; i < len(batches); i++ {
		lastDone, firstStart := -1, -1
		for n, line := range lines {
			if strings.HasPrefix(line, "✓ test "+batches[i-1]+"/") {
				lastDone = n
			}
			if strings.HasPrefix(line, "… test "+batches[i]+"/") && firstStart < 0 {
				firstStart = n
			}
		}
		if lastDone < 0 || firstStart < 0 || lastDone > firstStart {
			t.Errorf("batch %s (last done on line %d) and batch %s (first started on line %d) are not in order", batches[i-1], lastDone, batches[i], firstStart)
		}
	}

	for _, want := range []struct{ what, pattern string }{
		{"the gateway's bundle fails", `bundle istio-ingressgateway: not ready after`},
		{"its cause: the injection webhook refuses the pods", `Deployment/istio-ingress/istio-ingressgateway [^;]*failed calling webhook "[a-z.]*sidecar-injector\.istio\.io"`},
		{"the database's bundle fails", `bundle pxc-db: not ready after`},
		{"the database has no state", `PerconaXtraDBCluster/pxc/pxc-db [^;]*status\.state is not set`},
	} {
		if !regexp.MustCompile(want.pattern).MatchString(stderr) {
			t.Errorf("deploy does not report %s (%s):\n%s", want.what, want.pattern, stderr)
		}
	}
	if strings.Contains(stderr, "istio-ingressgateway") && !strings.Contains(stderr, "FailedCreate") {
		t.Errorf("deploy does not name the ReplicaSet's FailedCreate:\n%s", stderr)
	}

	// wookie test on what the deploy left: the wookie project's checks
	// on the real charts. istiod is Ready; injection, the gateway's
	// address and the database cannot pass on a control plane where no
	// container runs, and each says why.
	code, stdout, stderr := wookieCode(append([]string{"test", "-o", "json", "--timeout", "20s"}, flags...)...)
	if code != 1 {
		t.Fatalf("test: exit %d, want 1\n%s%s", code, stderr, stdout)
	}
	var results []struct {
		Bundle, Name, Kind, Cause string
		Passed                    bool
	}
	if err := json.Unmarshal([]byte(stdout), &results); err != nil {
		t.Fatalf("test -o json: %v\n%s", err, stdout)
	}
	got := map[string]bool{}
	for _, r := range results {
		got[r.Bundle+" "+r.Name] = r.Passed
		if !r.Passed && r.Cause == "" {
			t.Errorf("test: %s %s failed without a cause", r.Bundle, r.Name)
		}
	}
	want := map[string]bool{
		"istiod istiod-ready":          true,
		"istiod sidecar-injection":     false,
		"istio-ingressgateway address": false,
		"pxc-db ready":                 false,
	}
	for check, passed := range want {
		if p, ok := got[check]; !ok || p != passed {
			t.Errorf("test: %s: got passed=%v (reported: %v), want passed=%v\n%s", check, p, ok, passed, stdout)
		}
	}
}
