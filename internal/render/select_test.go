package render

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
)

// TestPick: what a selection picks of a rendered cluster and what it
// depends on.
func TestPick(t *testing.T) {
	c := &Cluster{Name: "c", Batches: []Batch{
		{Name: "crds", Priority: 100, Bundles: []Bundle{{Name: "base"}, {Name: "istiod-crds", Generated: true}}},
		{Name: "namespaces", Priority: 200, Bundles: []Bundle{{Name: "ns"}}},
		{Name: "operators", Priority: 300, Bundles: []Bundle{
			{Name: "istiod", DependsOn: []string{"istiod-crds"}},
			{Name: "pxc-op"},
			{Name: "pxc", DependsOn: []string{"pxc-op"}},
			{Name: "cni", DependsOn: []string{"istiod"}},
		}},
		{Name: "services", Priority: 600, Bundles: []Bundle{{Name: "gw"}}},
	}}
	tests := []struct {
		name    string
		sel     plan.Selection
		bundles []string
		batches []string
		deps    []string
	}{
		{name: "first batch", sel: plan.Selection{Batches: []string{"crds"}},
			bundles: []string{"base", "istiod-crds"}, batches: []string{"crds"}},
		{name: "by priority", sel: plan.Selection{Batches: []string{"200"}},
			bundles: []string{"ns"}, batches: []string{"namespaces"}, deps: []string{"crds/base", "crds/istiod-crds"}},
		{name: "until", sel: plan.Selection{Until: "namespaces"},
			bundles: []string{"base", "istiod-crds", "ns"}, batches: []string{"crds", "namespaces"}},
		{name: "a bundle brings its CRDs", sel: plan.Selection{Bundles: []string{"istiod"}},
			bundles: []string{"istiod", "istiod-crds"}, deps: []string{"crds/base", "namespaces/ns"}},
		{name: "dependsOn in its batch, directly or not", sel: plan.Selection{Bundles: []string{"cni", "pxc"}},
			bundles: []string{"cni", "pxc"}, deps: []string{"crds/base", "crds/istiod-crds", "namespaces/ns", "operators/istiod", "operators/pxc-op"}},
		{name: "with deps", sel: plan.Selection{Bundles: []string{"pxc"}, WithDeps: true},
			bundles: []string{"base", "istiod-crds", "ns", "pxc", "pxc-op"}},
		{name: "batch and bundle", sel: plan.Selection{Batches: []string{"crds"}, Bundles: []string{"gw"}},
			bundles: []string{"base", "gw", "istiod-crds"}, batches: []string{"crds"},
			deps: []string{"namespaces/ns", "operators/istiod", "operators/pxc-op", "operators/pxc", "operators/cni"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := Pick(c, tc.sel)
			got := struct{ Bundles, Batches, Deps []string }{keys(p.Bundles), keys(p.Batches), nil}
			for _, d := range p.Deps {
				got.Deps = append(got.Deps, d.Batch+"/"+d.Bundle)
			}
			want := struct{ Bundles, Batches, Deps []string }{tc.bundles, tc.batches, tc.deps}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Pick(%s) (-want +got):\n%s", tc.sel, diff)
			}
		})
	}
	if p := Pick(c, plan.Selection{}); p != nil {
		t.Errorf("Pick of the zero Selection = %+v, want nil (everything)", p)
	}
}

// keys returns the keys of m that are true, sorted; nil for none.
func keys(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
