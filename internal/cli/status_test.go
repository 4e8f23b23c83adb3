package cli

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"wookie.dev/wookie/internal/testenv"
)

// TestStatusCommand: status exits 0 when every bundle is Ready, 1 when
// one is not (describing each object that is not ready on stderr) or is
// Missing, and 2 when it cannot read an object, which it reports on
// stderr, a line per object naming cluster, batch and bundle, instead of
// counting it as present.
func TestStatusCommand(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Name: "cli-status"})
	workIn(t, t.TempDir(), "")
	head := fmt.Sprintf(`apiVersion: wookie.dev/v1alpha1
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
            namespace: st
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: config}, data: {a: b}}
`, env.Context, env.Kubeconfig)
	plan := func(extra string) []string {
		t.Helper()
		if err := os.WriteFile("plan.yaml", []byte(head+extra), 0o644); err != nil {
			t.Fatal(err)
		}
		return []string{"--from", "plan.yaml"}
	}
	if code, _, stderr := run(t, append([]string{"deploy"}, plan("")...)...); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, stderr)
	}
	tests := []struct {
		name   string
		extra  string
		code   int
		row    string // the fields of the bundle's row
		stderr []string
	}{
		{name: "ready", code: 0, row: "test apps config 1 1 1 Ready -"},
		{name: "not ready", code: 1,
			extra:  "            readiness: [{apiVersion: v1, kind: ConfigMap, current: has(data.ready)}]\n",
			row:    "test apps config 1 1 0 NotReady ConfigMap/st/config InProgress",
			stderr: []string{"✗ test apps/config  ConfigMap/st/config InProgress: readiness rule not met: has(data.ready)"}},
		{name: "missing", code: 1,
			extra: "          - name: gone\n            namespace: st\n            manifests: [{apiVersion: v1, kind: ConfigMap, metadata: {name: gone}}]\n",
			row:   "test apps gone 1 0 0 Missing ConfigMap/st/gone Missing"},
		{name: "unreadable", code: 2,
			extra: "          - name: widgets\n            namespace: st\n            resourceScopes: {Widget.nowhere.example.com: Namespaced}\n" +
				"            manifests: [{apiVersion: nowhere.example.com/v1, kind: Widget, metadata: {name: w}}]\n",
			row:    "test apps widgets 1 0 0 Unreadable Widget/st/w Unreadable",
			stderr: []string{"wookie: cluster test: batch apps: bundle widgets: cannot read Widget/st/w: the cluster does not serve nowhere.example.com/v1 Widget"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := run(t, append([]string{"status"}, plan(tt.extra)...)...)
			stderr = strings.Replace(stderr, "warning: 1 charts are not pinned (no wookie.lock): run 'wookie lock'\n", "", 1)
			rows := map[string]bool{}
			for _, l := range strings.Split(out, "\n") {
				rows[strings.Join(strings.Fields(l), " ")] = true
			}
			if code != tt.code || !rows[tt.row] {
				t.Errorf("exit %d, want %d; want the row %q in:\n%s%s", code, tt.code, tt.row, out, stderr)
			}
			if want := strings.Join(tt.stderr, "\n"); strings.TrimSuffix(stderr, "\n") != want {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
			}
		})
	}
}
