package emit

import (
	"fmt"
	"slices"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// withoutSecretManifests returns pc without the manifests that the
// rendering left out because they are Secrets with data
// (render.WhySecretData), so that plan.yaml does not hold what the bundle
// files leave out. pc is not changed; it is returned as it is when nothing
// goes.
func withoutSecretManifests(pc *plan.Cluster, omitted []render.OmittedObject) *plan.Cluster {
	gone := map[string][]int{} // bundle -> manifest indexes
	for _, o := range omitted {
		var i int
		if o.Cluster != pc.Name || o.Why != render.WhySecretData {
			continue
		}
		if _, err := fmt.Sscanf(o.Source, "manifests[%d]", &i); err == nil {
			gone[o.Bundle] = append(gone[o.Bundle], i)
		}
	}
	if len(gone) == 0 {
		return pc
	}
	out := *pc
	out.Batches = slices.Clone(pc.Batches)
	for bi := range out.Batches {
		b := &out.Batches[bi]
		b.Bundles = slices.Clone(b.Bundles)
		for ui := range b.Bundles {
			u := &b.Bundles[ui]
			if idx := gone[u.Name]; len(idx) > 0 {
				var kept []plan.Object
				for i, m := range u.Manifests {
					if !slices.Contains(idx, i) {
						kept = append(kept, m)
					}
				}
				u.Manifests = kept
			}
		}
	}
	return &out
}
