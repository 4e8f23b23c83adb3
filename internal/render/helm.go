package render

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	release "helm.sh/helm/v4/pkg/release/v1"

	"wookie.dev/wookie/internal/errtext"
)

// Hook phases.
const (
	hookPre  = "pre"
	hookPost = "post"
)

// HookTest is the Hook of the objects of a chart's test hooks, which
// Bundle.Tests holds: never applied by deploy nor written by render, only
// run by wookie test.
const HookTest = "test"

// chartOutput is what rendering one chart gives: its objects (hooks
// included, marked) and how many hooks were dropped.
type chartOutput struct {
	Objects      []*Object `json:"objects"`
	HooksApplied int       `json:"hooksApplied"`
	HooksDropped int       `json:"hooksDropped"`
	// Tests are the objects of the chart's test hooks, which only
	// wookie test applies.
	Tests []*Object `json:"tests,omitempty"`
	// Lookups name the templates that called lookup (lookupTemplates);
	// empty when none did.
	Lookups []string `json:"lookups,omitempty"`
	// ReadsAPIVersions marks an entry that holds no render: the chart,
	// with these values, reads the API versions of its Capabilities (or
	// may), so it renders only once those of the bundles it depends on
	// are known (speculate).
	ReadsAPIVersions bool `json:"readsAPIVersions,omitempty"`
}

// release describes the Helm release a bundle renders as.
type releaseSpec struct {
	name, namespace string
	values          map[string]any
	caps            *common.Capabilities
	// skipSchema leaves the chart's values.schema.json unchecked.
	skipSchema bool
	// probe, when set, is set by any read of caps.APIVersions: templates
	// see caps through a capsProbe.
	probe *atomic.Bool
}

// renderChart renders a chart's templates client-side, as `helm template`
// would for a first install, and sorts the result into hooks and objects.
// The chart's crds/ files are not included. Its lookup calls are answered
// by lk, or, when lk is nil, with an empty map, as `helm template` does.
func renderChart(ctx context.Context, ch *chartv2.Chart, rel releaseSpec, lk Lookup) (*chartOutput, error) {
	if ch.Metadata.KubeVersion != "" {
		if !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, rel.caps.KubeVersion.String()) {
			return nil, fmt.Errorf("chart requires kubeVersion %s, which does not match the cluster's Kubernetes %s", ch.Metadata.KubeVersion, rel.caps.KubeVersion.Version)
		}
	}
	// Subcharts: apply dependency conditions, tags and aliases, as helm
	// install does before rendering.
	if err := chartutil.ProcessDependencies(ch, rel.values); err != nil {
		return nil, fmt.Errorf("dependencies: %s", foldLines(err.Error()))
	}
	opts := common.ReleaseOptions{Name: rel.name, Namespace: rel.namespace, Revision: 1, IsInstall: true}
	vals, err := util.ToRenderValuesWithSchemaValidation(ch, rel.values, opts, rel.caps, rel.skipSchema)
	if err != nil {
		return nil, fmt.Errorf("values: %s", foldLines(err.Error()))
	}
	if rel.probe != nil {
		vals["Capabilities"] = newCapsProbe(rel.caps, rel.probe)
	}
	var called atomic.Bool
	written := map[string]*writtenObject{}
	e := engine.Engine{CustomTemplateFuncs: templateFuncs(ctx, lk, &called, written)}
	files, err := e.RenderWithContext(ctx, ch, vals)
	if err != nil {
		return nil, fmt.Errorf("%s", foldLines(err.Error()))
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	objects, hooks, err := sortTemplates(files, written)
	if err != nil {
		return nil, fmt.Errorf("%s", foldLines(err.Error()))
	}
	out := &chartOutput{}
	if called.Load() {
		out.Lookups = lookupTemplates(ch)
	}
	for _, d := range objects {
		u, err := d.object()
		if err != nil {
			return nil, err
		}
		if u != nil {
			out.Objects = append(out.Objects, &Object{Unstructured: u, Source: d.path, memo: d.memo})
		}
	}
	for _, d := range hooks {
		phase := hookPhase(d.events)
		if phase == "" && !slices.Contains(d.events, release.HookTest) {
			out.HooksDropped++
			continue
		}
		u, err := d.object()
		if err != nil {
			return nil, err
		}
		if phase == "" {
			if u != nil {
				out.Tests = append(out.Tests, &Object{Unstructured: u, Source: d.path, Hook: HookTest, HookWeight: d.weight})
			}
			continue
		}
		out.HooksApplied++
		if u != nil {
			out.Objects = append(out.Objects, &Object{Unstructured: u, Source: d.path, Hook: phase, HookWeight: d.weight, memo: d.memo})
		}
	}
	return out, nil
}

// hookPhase maps a hook's events to when wookie applies it: before the
// bundle's objects (pre-install, pre-upgrade), after them (post-install,
// post-upgrade), or not at all (test, delete and rollback hooks; test
// hooks are kept apart, for wookie test).
func hookPhase(events []release.HookEvent) string {
	if slices.Contains(events, release.HookPreInstall) || slices.Contains(events, release.HookPreUpgrade) {
		return hookPre
	}
	if slices.Contains(events, release.HookPostInstall) || slices.Contains(events, release.HookPostUpgrade) {
		return hookPost
	}
	return ""
}

// crdFiles returns the objects of a chart's crds/ directory (and of its
// subcharts'), in file order.
func crdFiles(ch *chartv2.Chart) ([]*Object, error) {
	var out []*Object
	for _, crd := range ch.CRDObjects() {
		source := path.Join(ch.Name(), crd.Name)
		if crd.Filename != "" {
			source = crd.Filename
		}
		objs, err := decodeDocs(source, string(crd.File.Data))
		if err != nil {
			return nil, err
		}
		for _, u := range objs {
			out = append(out, &Object{Unstructured: u, Source: source})
		}
	}
	return out, nil
}

// foldLines puts a multi-line Helm error on one line, without the
// decoders' prefixes.
func foldLines(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSuffix(strings.TrimSpace(l), ":"); l != "" {
			parts = append(parts, l)
		}
	}
	return errtext.OneLine(strings.Join(parts, ": "))
}
