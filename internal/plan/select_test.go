package plan

import (
	"errors"
	"testing"
)

// TestSelectionCheck: a batch or bundle that none of the clusters has is
// a *SelectionError naming what they have; a chart bundle's <name>-crds
// and batch priorities are known.
func TestSelectionCheck(t *testing.T) {
	clusters := []Cluster{
		{Name: "east", Batches: []Batch{
			{Name: "crds", Priority: 100, Bundles: []Bundle{{Name: "base", Chart: &Chart{Name: "base"}}}},
			{Name: "operators", Priority: 300, Bundles: []Bundle{{Name: "istiod", Chart: &Chart{Name: "istiod"}, CRDs: CRDsSkip}}},
		}},
		{Name: "west", Batches: []Batch{{Name: "services", Priority: 600, Bundles: []Bundle{{Name: "gw"}}}}},
	}
	tests := []struct {
		name string
		sel  Selection
		want string // "" for no error
	}{
		{"all", Selection{}, ""},
		{"batch of another cluster", Selection{Batches: []string{"crds", "services"}}, ""},
		{"priority", Selection{Batches: []string{"300"}, Until: "600"}, ""},
		{"chart CRDs", Selection{Bundles: []string{"base-crds"}}, ""},
		{"CRDs skipped", Selection{Bundles: []string{"istiod-crds"}}, "bundle istiod-crds: no such bundle in the selected clusters (they have base, gw, istiod)"},
		{"unknown batch", Selection{Batches: []string{"apps"}}, "batch apps: no such batch in the selected clusters (they have crds (100), operators (300), services (600))"},
		{"unknown until", Selection{Until: "200"}, "batch 200: no such batch in the selected clusters (they have crds (100), operators (300), services (600))"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.sel.Check(clusters)
			var se *SelectionError
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Check(%s) = %v, want nil", tc.sel, err)
			case tc.want != "" && (!errors.As(err, &se) || err.Error() != tc.want):
				t.Errorf("Check(%s) = %v, want a *SelectionError %q", tc.sel, err, tc.want)
			}
		})
	}
	if !(Selection{Bundles: []string{"gw"}}).PicksAny(&clusters[1]) || (Selection{Bundles: []string{"gw"}}).PicksAny(&clusters[0]) {
		t.Error("PicksAny: --bundle gw picks west and nothing of east")
	}
}
