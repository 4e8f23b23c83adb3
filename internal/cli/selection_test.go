package cli

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"wookie.dev/wookie/internal/testenv"
)

// selectionPlan writes plan.yaml: batch apps (priority 100) with bundle
// config, batch later (200) with bundle later, which depends on config.
func selectionPlan(t *testing.T, env *testenv.Env) {
	t.Helper()
	workIn(t, t.TempDir(), "")
	plan := fmt.Sprintf(`apiVersion: wookie.dev/v1alpha1
kind: Plan
clusters:
  - name: test
    target: testenv
    context: %s
    kubeconfig: %s
    kubeVersion: 1.37.2
    batches:
      - name: apps
        priority: 100
        bundles:
          - name: config
            namespace: sth
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: config}, data: {a: b}}
      - name: later
        priority: 200
        bundles:
          - name: later
            namespace: sth
            dependsOn: [config]
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: later}, data: {c: d}}
`, env.Context, env.Kubeconfig)
	if err := os.WriteFile("plan.yaml", []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDiffSelectionNotReady: diff of a batch whose dependencies are not
// in the cluster fails up front (exit 2, as any diff error), naming the
// bundle it needs, with the hint deploy gives; once they are deployed, the
// same diff shows the batch's changes.
func TestDiffSelectionNotReady(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Name: "cli-diff-deps"})
	selectionPlan(t, env)

	code, out, stderr := run(t, "diff", "--from", "plan.yaml", "--batch", "later")
	if code != 2 || out != "" {
		t.Errorf("diff --batch later first: exit %d, want 2 and no diff; stdout:\n%s", code, out)
	}
	for _, want := range []string{
		"cluster test: batch apps: bundle config: not ready in the cluster (",
		"hint: deploy those first ('wookie deploy --until BATCH' deploys a batch and those before it), or add --with-deps to deploy them with the selection",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("diff --batch later first: stderr lacks %q:\n%s", want, stderr)
		}
	}

	if code, _, stderr := run(t, "deploy", "--from", "plan.yaml", "--batch", "apps"); code != 0 {
		t.Fatalf("deploy --batch apps: exit %d\n%s", code, stderr)
	}
	code, out, stderr = run(t, "diff", "--from", "plan.yaml", "--batch", "later")
	if code != 1 || !strings.Contains(out, "ConfigMap/sth/later") || strings.Contains(out, "ConfigMap/sth/config") || strings.Contains(stderr, "hint:") {
		t.Errorf("diff --batch later once apps is deployed: exit %d, want 1 and later's ConfigMap only\n%s\n%s", code, out, stderr)
	}
}

// TestStatusHTMLBatch: status -o html --batch apps draws the whole Plan
// but reads only the picked batch: its bundle coloured by its state, the
// other batch's bundle Unknown (not read, whatever its state), counted so,
// and the exit code that of the picked part.
func TestStatusHTMLBatch(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Name: "cli-status-html-batch"})
	selectionPlan(t, env)
	if code, _, stderr := run(t, "deploy", "--from", "plan.yaml", "--batch", "apps"); code != 0 {
		t.Fatalf("deploy --batch apps: exit %d\n%s", code, stderr)
	}

	// later is Missing in the cluster; picking apps leaves it unread.
	code, out, stderr := run(t, "status", "--from", "plan.yaml", "-o", "html", "--batch", "apps")
	if code != 0 {
		t.Errorf("status -o html --batch apps: exit %d, want 0 (apps is Ready)\n%s", code, stderr)
	}
	for _, want := range []string{
		`<g class="node state-Ready" data-id="test/config"`,
		`<g class="node state-Unknown" data-id="test/later"`,
		`<span id="states">1 Ready, 1 Unknown</span>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status -o html --batch apps lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ConfigMap/sth/later: Missing") {
		t.Errorf("status -o html --batch apps read batch later:\n%s", out)
	}

	// Picking later reads it: Missing, exit 1, and config is not read.
	code, out, _ = run(t, "status", "--from", "plan.yaml", "-o", "html", "--batch", "later")
	if code != 1 {
		t.Errorf("status -o html --batch later: exit %d, want 1 (later is Missing)", code)
	}
	for _, want := range []string{
		`<g class="node state-Unknown" data-id="test/config"`,
		`<g class="node state-Missing" data-id="test/later"`,
		`<li>ConfigMap/sth/later: Missing</li>`,
		`<span id="states">1 Missing, 1 Unknown</span>`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status -o html --batch later lacks %s:\n%s", want, out)
		}
	}
}
