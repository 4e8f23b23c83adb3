package emit

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// TestManifestsPlanWithoutSecrets: the plan.yaml of the manifests format
// leaves out the bundles the rendering left out, with the dependsOn
// entries naming them, and is a valid Plan; with secrets rendered it has
// them.
func TestManifestsPlanWithoutSecrets(t *testing.T) {
	p, err := plan.Decode([]byte(`
apiVersion: wookie.dev/v1alpha1
kind: Plan
clusters:
- name: east
  target: kubeconfig
  context: east
  kubeVersion: 1.31.0
  batches:
  - name: services
    bundles:
    - name: remote
      namespace: mesh
      sensitive: true
      manifests:
      - {apiVersion: v1, kind: Secret, metadata: {name: remote}, stringData: {token: not-a-real-token}}
    - name: app
      namespace: mesh
      dependsOn: [remote]
      manifests:
      - {apiVersion: v1, kind: ConfigMap, metadata: {name: app}}
`), "plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Normalize(p); err != nil {
		t.Fatal(err)
	}
	for _, include := range []bool{false, true} {
		r, err := render.Render(context.Background(), p, render.Options{IncludeSecrets: include})
		if err != nil {
			t.Fatal(err)
		}
		tree, _, err := Build(p, r, Options{})
		if err != nil {
			t.Fatal(err)
		}
		written, err := plan.Decode(tree["east/plan.yaml"], "east/plan.yaml")
		if err != nil {
			t.Fatal(err)
		}
		if err := plan.Normalize(written); err != nil {
			t.Errorf("include %v: plan.yaml is not a valid Plan: %v", include, err)
		}
		var got []string
		for _, u := range written.Clusters[0].Batches[0].Bundles {
			got = append(got, u.Name+" <- "+strings.Join(u.DependsOn, ","))
		}
		want := []string{"app <- "}
		if include {
			want = []string{"remote <- ", "app <- remote"}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("include %v: plan.yaml bundles (-want +got):\n%s", include, diff)
		}
		if leaked := strings.Contains(string(tree["east/plan.yaml"]), "not-a-real-token"); leaked != include {
			t.Errorf("include %v: token in plan.yaml: %v", include, leaked)
		}
	}
}
