package emit

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
)

// lineChanges returns the lines of b that a lacks and those of a that b
// lacks, each sorted, counting repeated lines.
func lineChanges(a, b []byte) (added, removed []string) {
	count := map[string]int{}
	for _, l := range strings.Split(string(a), "\n") {
		count[l]++
	}
	for _, l := range strings.Split(string(b), "\n") {
		if count[l] > 0 {
			count[l]--
			continue
		}
		added = append(added, l)
	}
	for l, n := range count {
		for range n {
			removed = append(removed, l)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

// TestChartSkipSchemaValidation sets skipSchemaValidation on the fixture's
// two charts (base from an HTTP repository, operator from an OCI
// registry): every format that hands a chart to its engine carries it in
// the engine's own field, and nothing else changes. The field is written
// only when true, so outputs without it stay byte-identical.
func TestChartSkipSchemaValidation(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		// added are the lines each changed file gains; no line may go.
		added map[string][]string
	}{
		{
			name: "manifests",
			opts: Options{},
			// The Plan written next to the manifests records it.
			added: map[string][]string{"east/plan.yaml": {"        skipSchemaValidation: true", "        skipSchemaValidation: true"}},
		},
		{name: "fleet rendered", opts: Options{Format: FormatFleet}},
		{name: "fleet bundles", opts: Options{Format: FormatFleet, FleetBundles: true}},
		{
			name: "fleet chart",
			opts: Options{Format: FormatFleet, FleetMode: ModeChart},
			added: map[string][]string{
				"east/crds/base/fleet.yaml":          {"  skipSchemaValidation: true"},
				"east/operators/operator/fleet.yaml": {"  skipSchemaValidation: true"},
			},
		},
		{name: "flux rendered", opts: Options{Format: FormatFlux}},
		{
			name: "flux chart",
			opts: Options{Format: FormatFlux, FluxMode: ModeChart},
			added: map[string][]string{
				"east/crds/base/helmrelease.yaml":          {"    disableSchemaValidation: true", "    disableSchemaValidation: true"},
				"east/operators/operator/helmrelease.yaml": {"    disableSchemaValidation: true", "    disableSchemaValidation: true"},
			},
		},
		{
			name:  "helmfile",
			opts:  Options{Format: FormatHelmfile},
			added: map[string][]string{"east/helmfile.yaml": {"  skipSchemaValidation: true", "  skipSchemaValidation: true"}},
		},
		{name: "argocd rendered", opts: Options{Format: FormatArgoCD}},
		{
			name: "argocd chart",
			opts: Options{Format: FormatArgoCD, ArgoCDMode: ModeChart},
			added: map[string][]string{
				"east/applications/base.yaml":     {"      skipSchemaValidation: true"},
				"east/applications/operator.yaml": {"      skipSchemaValidation: true"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := fixture(t)
			before, beforeWarnings, err := Build(p, r, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"base", "operator"} {
				hfPlanBundle(t, p, "east", name).Chart.SkipSchemaValidation = true
			}
			after, afterWarnings, err := Build(p, r, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(beforeWarnings, afterWarnings); diff != "" {
				t.Errorf("warnings (-without +with):\n%s", diff)
			}
			if diff := cmp.Diff(slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after))); diff != "" {
				t.Fatalf("files (-without +with):\n%s", diff)
			}
			got := map[string][]string{}
			for name := range after {
				added, removed := lineChanges(before[name], after[name])
				if len(removed) > 0 {
					t.Errorf("%s: lines gone: %q", name, removed)
				}
				if len(added) > 0 {
					got[name] = added
				}
			}
			want := tt.added
			if want == nil {
				want = map[string][]string{}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("added lines by file (-want +got):\n%s", diff)
			}
		})
	}
}

// TestChartSkipSchemaValidationFields decodes the fields that carry
// skipSchemaValidation strictly, where each engine reads them.
func TestChartSkipSchemaValidationFields(t *testing.T) {
	p, r := fixture(t)
	hfPlanBundle(t, p, "east", "base").Chart.SkipSchemaValidation = true

	tree, _, err := Build(p, r, Options{Format: FormatFleet, FleetMode: ModeChart})
	if err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]bool{"east/crds/base": true, "east/operators/operator": false} {
		if got := readFleetYAML(t, tree[dir+"/fleet.yaml"]).Helm.SkipSchemaValidation; got != want {
			t.Errorf("fleet: %s: helm.skipSchemaValidation %v, want %v", dir, got, want)
		}
	}

	tree, _, err = Build(p, r, Options{Format: FormatFlux, FluxMode: ModeChart})
	if err != nil {
		t.Fatal(err)
	}
	releases := readFlux(t, tree).releases
	for dir, want := range map[string]bool{"east/crds/base": true, "east/operators/operator": false} {
		spec := releases[dir].Spec
		if spec.Install.DisableSchemaValidation != want || spec.Upgrade.DisableSchemaValidation != want {
			t.Errorf("flux: %s: install.disableSchemaValidation %v, upgrade.disableSchemaValidation %v, want %v",
				dir, spec.Install.DisableSchemaValidation, spec.Upgrade.DisableSchemaValidation, want)
		}
	}

	tree, _, err = Build(p, r, Options{Format: FormatArgoCD, ArgoCDMode: ModeChart})
	if err != nil {
		t.Fatal(err)
	}
	apps := readArgo(t, tree).apps["east/applications"]
	for bundle, want := range map[string]bool{"base": true, "operator": false} {
		if h := apps[bundle].Spec.Source.Helm; h == nil || h.SkipSchemaValidation != want {
			t.Errorf("argocd: %s: source.helm %+v, want skipSchemaValidation %v", bundle, h, want)
		}
	}

	tree, _, err = Build(p, r, Options{Format: FormatHelmfile})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*bool{}
	for _, rel := range hfRead(t, tree, "east/helmfile.yaml").Releases {
		got[rel.Name] = rel.SkipSchemaValidation
	}
	want := map[string]*bool{"base": new(true), "ns-mesh": nil, "operator": nil, "operator-crds": nil, "settings": nil, "app": nil}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("helmfile: skipSchemaValidation by release (-want +got):\n%s", diff)
	}
}

// TestChartInputsRendered gives the fixture's HTTP chart (base) a value
// that uses a deploy-time input, as the remote istiod's
// global.remotePilotAddress in primary-remote: no format hands such values
// to an engine. In chart mode the bundle is written exactly as rendered
// mode writes it, and helmfile installs it as a local chart of its
// rendered manifests exactly as it does a chart from a local path; each
// says why, and no file holds the reference.
func TestChartInputsRendered(t *testing.T) {
	tests := []struct {
		name string
		// opts are the options under test; same are those whose output
		// must hold the same files, for a Plan whose base chart comes from
		// a local path when local is set.
		opts, same Options
		local      bool
		// files are the bundle's files, equal in both outputs.
		files []string
		// gone are files written without the input, and not with it.
		gone  []string
		warns []string
	}{
		{
			name:  "fleet chart",
			opts:  Options{Format: FormatFleet, FleetMode: ModeChart},
			same:  Options{Format: FormatFleet},
			files: []string{"east/crds/base/fleet.yaml", "east/crds/base/manifests.yaml"},
			warns: []string{"cluster east: bundle base: fleet: the chart values use the deploy-time input istiod-address, which only wookie deploy fills in: the bundle is written rendered, without the objects that hold references"},
		},
		{
			name:  "flux chart",
			opts:  Options{Format: FormatFlux, FluxMode: ModeChart},
			same:  Options{Format: FormatFlux},
			files: []string{"east/crds/base/manifests.yaml", "east/flux/base.yaml"},
			// base was the one chart from an HTTP repository.
			gone:  []string{"east/crds/base/helmrelease.yaml", "east/flux/sources.yaml"},
			warns: []string{"cluster east: bundle base: flux: the chart values use the deploy-time input istiod-address, which only wookie deploy fills in: the bundle is written rendered, without the objects that hold references"},
		},
		{
			name:  "argocd chart",
			opts:  Options{Format: FormatArgoCD, ArgoCDMode: ModeChart},
			same:  Options{Format: FormatArgoCD},
			files: []string{"east/applications/base.yaml", "east/crds/base/manifests.yaml"},
			warns: []string{
				"cluster east: bundle base: argocd: the chart values use the deploy-time input istiod-address, which only wookie deploy fills in: the bundle is written rendered, without the objects that hold references",
				argoSyncWaveWarning,
			},
		},
		{
			name:  "helmfile",
			opts:  Options{Format: FormatHelmfile},
			same:  Options{Format: FormatHelmfile},
			local: true,
			// The repository of base is no longer listed either.
			files: []string{"east/charts/base/Chart.yaml", "east/charts/base/templates/manifests.yaml", "east/helmfile.yaml"},
			warns: []string{"cluster east: bundle base: helmfile: the chart values use the deploy-time input istiod-address, which only wookie deploy fills in: the bundle is written rendered, as the local chart charts/base, without the objects that hold references"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := fixture(t)
			without, _, err := Build(p, r, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			base := hfPlanBundle(t, p, "east", "base")
			base.Chart.Values["remotePilotAddress"] = plan.InputRef("istiod-address") + ":15012"
			tree, warnings, err := Build(p, r, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.warns, warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if tt.local {
				base.Chart.Repo = "./vendor/charts"
			}
			same, _, err := Build(p, r, tt.same)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range tt.files {
				if _, ok := tree[name]; !ok {
					t.Errorf("%s is not written", name)
				}
				if diff := cmp.Diff(string(same[name]), string(tree[name])); diff != "" {
					t.Errorf("%s (-%s +with the input):\n%s", name, tt.same.Format, diff)
				}
			}
			var gone []string
			for name := range without {
				if _, ok := tree[name]; !ok {
					gone = append(gone, name)
				}
			}
			slices.Sort(gone)
			if diff := cmp.Diff(tt.gone, gone); diff != "" {
				t.Errorf("files gone with the input (-want +got):\n%s", diff)
			}
			for name, data := range tree {
				if strings.Contains(string(data), "((input") {
					t.Errorf("%s holds an input reference:\n%s", name, data)
				}
			}
		})
	}
}
