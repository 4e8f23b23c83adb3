package cli

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/testenv"
)

// TestDiffCommand runs diff and deploy --dry-run=server end to end against
// a real API server, from a cluster that has nothing yet: diff previews the
// first deploy, the dry run says which objects the server could not
// check, a Namespace kept by prune is no change, and a conflict is shown.
func TestDiffCommand(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Name: "cli-diff"})
	workIn(t, t.TempDir(), "")
	write := func(withNamespace bool) {
		t.Helper()
		var b strings.Builder
		fmt.Fprintf(&b, `apiVersion: wookie.dev/v1alpha1
kind: Plan
clusters:
  - name: diffcli
    target: testenv
    context: %s
    kubeconfig: %s
    kubeVersion: 1.37.2
    batches:
`, env.Context, env.Kubeconfig)
		if withNamespace {
			b.WriteString(`      - name: namespaces
        priority: 0
        bundles:
          - name: ns
            namespace: default
            manifests:
              - {apiVersion: v1, kind: Namespace, metadata: {name: cli-ns}}
`)
		}
		b.WriteString(`      - name: apps
        priority: 10
        bundles:
          - name: cfg
            namespace: cli-ns
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {key: ours}}
          - name: rel
            namespace: cli-release
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: rel}, data: {key: ours}}
`)
		if err := os.WriteFile("plan.yaml", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	from := func(args ...string) []string { return append(args, "--from", "plan.yaml") }
	write(true)

	// The first deploy, previewed.
	code, out, stderr := run(t, from("diff")...)
	for _, want := range []string{
		"# diffcli: bundle ns: Namespace/cli-ns would be created\n",
		"# diffcli: bundle cfg: ConfigMap/cli-ns/settings would be created (not validated by the server: namespace cli-ns is created by this deploy first)\n",
		"# diffcli: bundle rel: Namespace/cli-release would be created (objects go to it and no bundle creates it)\n",
		"+  key: ours\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff on an empty cluster lacks %q", want)
		}
	}
	if code != 1 {
		t.Errorf("diff on an empty cluster: exit %d, want 1\n%s%s", code, out, stderr)
	}
	code, _, stderr = run(t, from("deploy", "--dry-run=server")...)
	if code != 0 || !strings.Contains(stderr, "; 2 objects not validated by the server (their namespace or CRD is created by this deploy first): diffcli ConfigMap/cli-ns/settings, diffcli ConfigMap/cli-release/rel\n") {
		t.Errorf("dry run on an empty cluster: exit %d\n%s", code, stderr)
	}

	if code, _, stderr := run(t, from("deploy")...); code != 0 {
		t.Fatalf("deploy: %d %s", code, stderr)
	}
	if code, out, stderr := run(t, from("diff", "--prune")...); code != 0 || out != "" {
		t.Errorf("diff after the deploy: %d %q %s", code, out, stderr)
	}

	// A Namespace that left the Plan is kept by prune: diff says so, and
	// it is no change.
	write(false)
	if code, _, stderr := run(t, from("deploy", "--prune")...); code != 0 || !strings.Contains(stderr, "kept 1") {
		t.Fatalf("deploy --prune: %d %s", code, stderr)
	}
	code, out, stderr = run(t, from("diff", "--prune")...)
	if code != 0 || !strings.Contains(out, "# diffcli: Namespace/cli-ns left the Plan and is kept: CRDs, Namespaces and PersistentVolumeClaims are kept unless their bundle says prune: true\n") {
		t.Errorf("diff --prune with a kept Namespace: exit %d, want 0\n%s%s", code, out, stderr)
	}

	// A field another manager owns: diff shows the conflict deploy refuses.
	c, err := client.New(env.RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	theirs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "settings", "namespace": "cli-ns"},
		"data":     map[string]any{"key": "theirs"},
	}}
	if err := c.Patch(t.Context(), theirs, client.Apply, client.FieldOwner("kubectl"), client.ForceOwnership); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = run(t, from("diff")...)
	want := `# diffcli: bundle cfg: ConfigMap/cli-ns/settings: conflict: 1 conflict: conflict with "kubectl": .data.key (deploy refuses the bundle unless --force-conflicts)` + "\n"
	if code != 1 || !strings.Contains(out, want) {
		t.Errorf("diff with a conflict: exit %d, want 1 and %q\n%s%s", code, want, out, stderr)
	}
	code, out, stderr = run(t, from("diff", "--force-conflicts")...)
	if code != 1 || strings.Contains(out, "conflict") || !strings.Contains(out, "ConfigMap/cli-ns/settings would be configured") {
		t.Errorf("diff --force-conflicts: exit %d\n%s%s", code, out, stderr)
	}
}
