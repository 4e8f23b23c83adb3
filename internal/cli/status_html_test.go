package cli

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"wookie.dev/wookie/internal/testenv"
)

// TestStatusHTML: after a deploy, status -o html writes the Plan's page
// with each node coloured by its bundle's state (a deployed bundle Ready,
// one added since Missing), with the same exit code as the table.
func TestStatusHTML(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Name: "cli-status-html"})
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
        bundles:
          - name: config
            namespace: sth
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: config}, data: {a: b}}
`, env.Context, env.Kubeconfig)
	if err := os.WriteFile("plan.yaml", []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "deploy", "--from", "plan.yaml"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, stderr)
	}
	plan += "          - name: later\n            namespace: sth\n            manifests: [{apiVersion: v1, kind: ConfigMap, metadata: {name: later}}]\n"
	if err := os.WriteFile("plan.yaml", []byte(plan), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "status", "--from", "plan.yaml", "-o", "html")
	if code != 1 {
		t.Errorf("status -o html: exit %d, want 1 (a bundle is Missing)\n%s", code, stderr)
	}
	for _, want := range []string{
		`<title>wookie status</title>`,
		`<g class="node state-Ready" data-id="test/config"`,
		`<g class="node state-Missing" data-id="test/later"`,
		`<dd class="state">Ready: 1 of 1 objects ready, 1 present</dd>`,
		`<li>ConfigMap/sth/later: Missing</li>`,
		`1 Ready, 1 Missing`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status -o html lacks %s:\n%s", want, out)
		}
	}
}
