package emit

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// TestWithoutSecretManifests drops from plan.yaml's cluster the manifests
// that render left out as Secrets with data, and nothing else: not the
// objects left out for input references, not a chart's Secrets, not those
// of another cluster.
func TestWithoutSecretManifests(t *testing.T) {
	secret := plan.Object{"kind": "Secret", "metadata": map[string]any{"name": "s"}}
	cm := plan.Object{"kind": "ConfigMap", "metadata": map[string]any{"name": "cm"}}
	ref := plan.Object{"kind": "ConfigMap", "metadata": map[string]any{"name": "ref"}}
	pc := &plan.Cluster{Name: "c", Batches: []plan.Batch{{Name: "services", Bundles: []plan.Bundle{
		{Name: "app", Manifests: []plan.Object{cm, secret, ref}},
		{Name: "db", Chart: &plan.Chart{Name: "db"}},
	}}}}
	tests := []struct {
		name    string
		omitted []render.OmittedObject
		want    []plan.Object
	}{{
		name: "nothing left out",
		want: []plan.Object{cm, secret, ref},
	}, {
		name: "a Secret and others",
		omitted: []render.OmittedObject{
			{Cluster: "c", Bundle: "app", Source: "manifests[1]", Why: render.WhySecretData},
			{Cluster: "c", Bundle: "app", Source: "manifests[2]", Why: render.WhyInputRefs},
			{Cluster: "c", Bundle: "db", Source: "db/templates/ssl.yaml", Why: render.WhySecretData},
			{Cluster: "other", Bundle: "app", Source: "manifests[0]", Why: render.WhySecretData},
		},
		want: []plan.Object{cm, ref},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withoutSecretManifests(pc, tt.omitted)
			if diff := cmp.Diff(tt.want, got.Batches[0].Bundles[0].Manifests); diff != "" {
				t.Errorf("manifests (-want +got):\n%s", diff)
			}
			if len(pc.Batches[0].Bundles[0].Manifests) != 3 {
				t.Errorf("the Plan changed: %v", pc.Batches[0].Bundles[0].Manifests)
			}
		})
	}
}
