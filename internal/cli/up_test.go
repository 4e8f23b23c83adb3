package cli

import (
	"os"
	"strings"
	"testing"

	"wookie.dev/wookie/internal/cluster/clustertest"
	"wookie.dev/wookie/internal/testenv"
)

// up renders every cluster before it creates any, those that read inputs
// too (with the input references in place, as deploy first renders them):
// when one does not render, up fails naming cluster and bundle, and k3d
// creates nothing.
func TestUpRendersClustersWithInputsFirst(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Name: "up-inputs"})
	dir := t.TempDir()
	fake := fakeK3d(t, dir, env.Kubeconfig)
	workIn(t, dir, "")
	planFile := `apiVersion: wookie.dev/v1alpha1
kind: Plan
clusters:
  - name: hub
    target: multi-k3d
    context: k3d-hub
    kubeVersion: 1.37.2
    k3d: {name: hub, servers: 1, agents: 0, image: "rancher/k3s:v1.37.2-k3s1"}
    batches:
      - name: services
        bundles:
          - name: addr
            namespace: hub
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: addr}, data: {address: 10.1.2.3}}
  - name: spoke
    target: multi-k3d
    context: k3d-spoke
    kubeVersion: 1.37.2
    k3d: {name: spoke, servers: 1, agents: 0, image: "rancher/k3s:v1.37.2-k3s1"}
    inputs:
      - name: hub-address
        from: {cluster: hub, apiVersion: v1, kind: ConfigMap, namespace: hub, name: addr, expression: data.address}
    batches:
      - name: apps
        bundles:
          - name: app
            namespace: app
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: app}, data: {url: "https://((input hub-address)):6443"}}
          - name: broken
            namespace: app
            chart: {repo: ./charts, name: nowhere}
`
	if err := os.WriteFile("plan.yaml", []byte(planFile), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "up", "--from", "plan.yaml", "--timeout", "20s", "--cluster-timeout", "5s")
	if code != 1 || !strings.Contains(stderr, "wookie: cluster spoke: bundle broken: ") || !strings.Contains(stderr, "nowhere") {
		t.Errorf("up: exit %d, want 1 and the render error of cluster spoke, bundle broken:\n%s", code, stderr)
	}
	calls, err := clustertest.Calls(fake)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range calls {
		if strings.HasPrefix(c, "k3d cluster create") {
			t.Errorf("up created a cluster: %s", c)
		}
	}
}
