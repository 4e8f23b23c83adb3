package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"wookie.dev/wookie/internal/testenv"
)

// TestDeployCommands runs deploy, status and diff end to end against a real
// API server: the embedded wookie project with Istio-shaped test charts, a
// second deploy that changes nothing, diff's exit codes, a dry run that the
// server rejects, and prune.
func TestDeployCommands(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "cli"})
	write := testenvConfig(t, env)
	write("")

	code, out, stderr := run(t, "deploy", "-o", "json", "--timeout", "60s")
	if code != 0 {
		t.Fatalf("deploy: exit %d: %s", code, stderr)
	}
	var done []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct{ Type, Batch, Bundle string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("event %q: %v", line, err)
		}
		if e.Type == "done" {
			done = append(done, e.Batch+"/"+e.Bundle)
		}
	}
	if len(done) != 6 || done[0] != "crds/istio-base" || done[5] != "services/istio-ingressgateway" {
		t.Errorf("bundles done, in order: %v", done)
	}

	// Nothing changed: deploy reports it, status is all Ready, diff exits 0.
	code, _, stderr = run(t, "deploy")
	if code != 0 || !strings.Contains(stderr, "created 0, configured 0, unchanged 21") {
		t.Errorf("second deploy: %d %s", code, stderr)
	}
	if code, out, _ := run(t, "status"); code != 0 || strings.Count(out, " Ready ") != 6 {
		t.Errorf("status: %d\n%s", code, out)
	}
	if code, out, stderr := run(t, "diff"); code != 0 || out != "" {
		t.Errorf("diff with no change: %d %q %s", code, out, stderr)
	}

	// A change: diff shows it and exits 1.
	write(`projects: wookie: istio: values: istiod: replicaCount: 2
`)
	code, out, _ = run(t, "diff")
	if code != 1 || !strings.Contains(out, "# test: bundle istiod: Deployment/istio-system/istiod would be configured") || !strings.Contains(out, "+  replicas: 2") {
		t.Errorf("diff with a change: %d\n%s", code, out)
	}

	// A dry run the server rejects changes nothing.
	write(`clusters: test: batches: services: bundles: bad: {namespace: "wookie", manifests: bad: [{apiVersion: "v1", kind: "Service", metadata: name: "bad", spec: ports: [{port: 999999}]}]}
`)
	code, _, stderr = run(t, "deploy", "--dry-run=server")
	if code != 1 || !strings.Contains(stderr, "bundle bad") || !strings.Contains(stderr, "999999") {
		t.Errorf("dry run of an invalid Service: %d %s", code, stderr)
	}
	if code, out, _ := run(t, "status", "--cluster", "test"); code != 1 || !strings.Contains(strings.Join(strings.Fields(out), " "), "services bad 1 0 0 Missing Service/wookie/bad Missing") {
		t.Errorf("status after the dry run: %d\n%s", code, out)
	}

	// Prune: a bundle leaves the Plan.
	write(`clusters: test: batches: services: bundles: extra: {namespace: "wookie", manifests: extra: [{apiVersion: "v1", kind: "ConfigMap", metadata: name: "extra", data: a: "1"}]}
`)
	if code, _, stderr := run(t, "deploy"); code != 0 {
		t.Fatalf("deploy with extra: %s", stderr)
	}
	write("")
	code, out, _ = run(t, "diff", "--prune")
	if code != 1 || !strings.Contains(out, "ConfigMap/wookie/extra would be deleted") {
		t.Errorf("diff --prune: %d\n%s", code, out)
	}
	code, _, stderr = run(t, "deploy", "--prune")
	if code != 0 || !strings.Contains(stderr, "ConfigMap/wookie/extra  deleted") || !strings.Contains(stderr, "pruned 1") {
		t.Errorf("deploy --prune: %d %s", code, stderr)
	}

	// Selection errors.
	if code, _, stderr := run(t, "deploy", "--cluster", "nope"); code != 2 || !strings.Contains(stderr, "cluster nope: no such cluster in the Plan (it has test)") {
		t.Errorf("--cluster nope: %d %s", code, stderr)
	}
	if code, _, stderr := run(t, "deploy", "--dry-run=client"); code != 2 || !strings.Contains(stderr, "--dry-run=client: want server or none") {
		t.Errorf("--dry-run=client: %d %s", code, stderr)
	}
}
