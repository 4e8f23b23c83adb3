package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/testenv"
)

// TestDeployInputsCommands runs render, deploy, diff and status end to end
// on a Plan file of two clusters, each on an API server of its own: the
// spoke reads input hub-address from a ConfigMap of the hub and uses it in
// a manifest and in a local chart's values.
func TestDeployInputsCommands(t *testing.T) {
	hub := testenv.Start(t, testenv.Options{Name: "cli-hub"})
	spoke := testenv.Start(t, testenv.Options{Name: "cli-spoke"})
	dir := t.TempDir()
	workIn(t, dir, "")
	charttest.WriteDir(t, filepath.Join(dir, "charts"), charttest.Chart{Name: "web", Version: "0.1.0", Files: map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  url: {{ .Values.url | quote }}\n",
	}})
	planFile := fmt.Sprintf(`apiVersion: wookie.dev/v1alpha1
kind: Plan
clusters:
  - name: hub
    target: testenv
    context: %[1]s
    kubeconfig: %[2]s
    kubeVersion: 1.37.2
    batches:
      - name: services
        bundles:
          - name: addr
            namespace: hub
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: addr}, data: {address: 10.1.2.3}}
  - name: spoke
    target: testenv
    context: %[3]s
    kubeconfig: %[4]s
    kubeVersion: 1.37.2
    inputs:
      - name: hub-address
        from: {cluster: hub, apiVersion: v1, kind: ConfigMap, namespace: hub, name: addr, expression: data.address, timeout: 30s}
    batches:
      - name: apps
        bundles:
          - name: app
            namespace: app
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: app}, data: {url: "https://((input hub-address)):6443"}}
          - name: web
            namespace: app
            chart: {repo: ./charts, name: web, values: {url: "http://((input hub-address))"}}
          - name: remote
            namespace: app
            sensitive: true
            manifests:
              - {apiVersion: v1, kind: Secret, metadata: {name: remote}, stringData: {server: "https://((input hub-address)):6443"}}
`, hub.Context, hub.Kubeconfig, spoke.Context, spoke.Kubeconfig)
	if err := os.WriteFile("plan.yaml", []byte(planFile), 0o644); err != nil {
		t.Fatal(err)
	}
	from := []string{"--from", "plan.yaml"}
	cmd := func(args ...string) []string { return append(args, from...) }
	// run runs wookie, dropping the warning that the local chart is not
	// pinned from stderr.
	run := func(t *testing.T, args ...string) (int, string, string) {
		t.Helper()
		code, out, stderr := run(t, args...)
		return code, out, strings.Replace(stderr, "warning: 1 charts are not pinned (no wookie.lock): run 'wookie lock'\n", "", 1)
	}

	// render cannot read inputs: the objects holding references are left
	// out, with a note each.
	code, out, stderr := run(t, cmd("render", "-o", "-")...)
	notes := "note: cluster spoke: bundle app: ConfigMap app/app (manifests[0]) is left out: it refers to input hub-address, which only wookie deploy reads from a live cluster; wookie deploy fills it in and applies it\n" +
		"note: cluster spoke: bundle web: ConfigMap app/web (web/templates/cm.yaml) is left out: it refers to input hub-address, which only wookie deploy reads from a live cluster; wookie deploy fills it in and applies it\n"
	if code != 0 || !strings.Contains(stderr, notes) || strings.Contains(out, "((input") || strings.Contains(stderr, "warning:") {
		t.Errorf("render: exit %d\n%s\n%s", code, stderr, out)
	}
	// The sensitive bundle is deploy's only.
	if strings.Contains(out, "remote") || !strings.Contains(stderr, "note: cluster spoke: bundle remote is left out: it carries secrets (sensitive)") {
		t.Errorf("render of the sensitive bundle:\n%s\n%s", stderr, out)
	}

	code, _, stderr = run(t, cmd("deploy", "--timeout", "30s")...)
	if code != 0 {
		t.Fatalf("deploy: exit %d: %s", code, stderr)
	}
	lines := strings.Split(stderr, "\n")
	// The spoke's batch waits for the hub's batch that makes the
	// ConfigMap, not for the whole hub.
	hubDone := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, "✓ hub services/addr  1 objects") })
	input := slices.IndexFunc(lines, func(l string) bool {
		return strings.HasPrefix(l, "✓ spoke input hub-address  from cluster hub ConfigMap/hub/addr  in ")
	})
	waits := slices.Index(lines, "• spoke  batch apps waits for cluster hub batch services (input hub-address)")
	if hubDone < 0 || input < hubDone || waits < 0 {
		t.Errorf("deploy: want the spoke's batch to wait for the hub's, then the input:\n%s", stderr)
	}
	cs, err := kubernetes.NewForConfig(spoke.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"app": "https://10.1.2.3:6443", "web": "http://10.1.2.3"} {
		cm, err := cs.CoreV1().ConfigMaps("app").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil || cm.Data["url"] != want {
			t.Errorf("spoke ConfigMap app/%s: %v %v, want url %s", name, cm.Data, err, want)
		}
	}
	if s, err := cs.CoreV1().Secrets("app").Get(context.Background(), "remote", metav1.GetOptions{}); err != nil || string(s.Data["server"]) != "https://10.1.2.3:6443" {
		t.Errorf("spoke Secret app/remote: %v", err)
	}

	// The spoke alone reads the hub without deploying it.
	code, _, stderr = run(t, cmd("deploy", "--cluster", "spoke")...)
	if code != 0 || !strings.Contains(stderr, "• spoke  reads inputs from cluster hub, which is not selected: from its live state, without deploying it\n") ||
		strings.Contains(stderr, "✓ hub") || !strings.Contains(stderr, "created 0, configured 0, unchanged 3") {
		t.Errorf("deploy --cluster spoke: exit %d\n%s", code, stderr)
	}
	if code, out, stderr := run(t, cmd("diff")...); code != 0 || out != "" || stderr != "" {
		t.Errorf("diff: exit %d %q %s", code, out, stderr)
	}
	if code, out, stderr := run(t, cmd("status")...); code != 0 || strings.Count(out, " Ready ") != 4 || stderr != "" {
		t.Errorf("status: exit %d\n%s%s", code, out, stderr)
	}

	// Without the hub's ConfigMap, diff and status warn and go on with the
	// reference in place.
	hubCS, err := kubernetes.NewForConfig(hub.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := hubCS.CoreV1().ConfigMaps("hub").Delete(context.Background(), "addr", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	warning := "warning: cluster spoke: input hub-address: no value from ConfigMap/hub/addr in cluster hub (expression \"data.address\"): not found: the reference ((input hub-address)) stays in its place\n"
	code, out, stderr = run(t, cmd("diff", "--cluster", "spoke")...)
	if code != 1 || stderr != warning || !strings.Contains(out, "+  url: https://((input hub-address)):6443") {
		t.Errorf("diff without the hub's value: exit %d\n%s%s", code, stderr, out)
	}
	if code, out, stderr := run(t, cmd("status", "--cluster", "spoke")...); code != 0 || stderr != warning {
		t.Errorf("status without the hub's value: exit %d\n%s%s", code, stderr, out)
	}

	// deploy waits for the value and fails after the input's timeout,
	// naming everything; nothing of the spoke changes.
	short := strings.Replace(planFile, "timeout: 30s", "timeout: 1s", 1)
	if err := os.WriteFile("plan.yaml", []byte(short), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, cmd("deploy", "--cluster", "spoke")...)
	if code != 1 || !strings.Contains(stderr, `cluster spoke: input hub-address: no value from ConfigMap/hub/addr in cluster hub after 1s (expression "data.address"): not found`) {
		t.Errorf("deploy without the hub's value: exit %d\n%s", code, stderr)
	}

	// A cycle is refused before anything happens: the hub waits for all
	// of the spoke, whose batch waits for the hub's.
	cycle := strings.Replace(planFile, "    kubeVersion: 1.37.2\n    batches:\n      - name: services", "    kubeVersion: 1.37.2\n    dependsOn: [spoke]\n    batches:\n      - name: services", 1)
	if err := os.WriteFile("plan.yaml", []byte(cycle), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, cmd("deploy")...)
	if code != 1 || !strings.Contains(stderr, "wookie: clusters depend on each other: hub batch services (dependsOn: all of cluster spoke) -> spoke batch apps (input hub-address) -> hub batch services") {
		t.Errorf("deploy of a cycle: exit %d\n%s", code, stderr)
	}
}
