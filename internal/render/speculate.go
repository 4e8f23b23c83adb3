package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"

	"github.com/mitchellh/copystructure"
	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
)

// A chart bundle sees the API versions of the CRDs of the bundles it
// depends on (and of earlier batches) in .Capabilities.APIVersions, so it
// cannot render, in general, before they have. Most charts never read
// them, though, and their render is the same whatever they are.
// speculate renders every chart bundle up front, all batches at once, as
// soon as its chart is loaded, with
// a Capabilities that notes whether the templates read the API versions
// (capsProbe); a render that did not is the bundle's render, one that did
// is dropped and the bundle renders in its turn, after its dependencies,
// as before. On two cores this lets Istio's large base chart render beside
// the charts of later batches instead of before them.
//
// The render cache learns which is which: a render that did not read the
// API versions is kept under a key without them (independentKey), and for
// one that did, an entry saying so, so a warm render looks the bundle up
// without waiting for its dependencies and renders nothing twice.

// speculate renders w's chart as described above, with the API versions
// of api, as soon as the chart is loaded (loadCharts): the render, or nil
// when the bundle is to render in its turn. Errors are not reported here:
// the bundle then renders in its turn, which reports them.
func speculate(ctx context.Context, w *work, api *versionSet, kube *common.KubeVersion, opts Options) *chartOutput {
	u := w.bundle
	if u.Chart == nil || u.Generate != nil || w.live {
		return nil
	}
	rel, err := chartRelease(w, api, kube)
	if err != nil {
		return nil
	}
	cache := bundleCache(w, opts)
	key := independentKey(opts.Version, w.digest, rel)
	if co, ok := cache.get(key); ok {
		if co.ReadsAPIVersions || (len(co.Lookups) > 0 && opts.Lookup != nil) {
			return nil
		}
		return co
	}
	if err := w.load(); err != nil {
		return nil
	}
	if !speculable(w.chart, rel.values) {
		cache.put(key, &chartOutput{ReadsAPIVersions: true})
		return nil
	}
	var read atomic.Bool
	rel.probe = &read
	co, err := renderChart(ctx, w.chart, rel, opts.Lookup)
	if err != nil || read.Load() {
		// Rendering changed the chart (Helm's ProcessDependencies drops
		// disabled subcharts and imports values in place), so the render
		// in turn loads it again from the archive.
		w.chart = nil
	}
	if err != nil {
		// It renders in its turn, which reports the error. No marker:
		// the error may pass (a lookup, a cancelled context).
		return nil
	}
	if read.Load() {
		cache.put(key, &chartOutput{ReadsAPIVersions: true})
		return nil
	}
	if opts.EncodeYAML {
		memoize(co.Objects)
	}
	if len(co.Lookups) == 0 || opts.Lookup == nil {
		cache.put(key, co) // live answers are never cached
	}
	return co
}

// independentKey is the cache key of a render that does not depend on the
// API versions: cacheKey without them.
func independentKey(version, digest string, rel releaseSpec) entryName {
	caps := *rel.caps
	caps.APIVersions = nil
	rel.caps = &caps
	return cacheKey(version, digest, rel)
}

// speculable is false for a chart whose templates, files or values could
// reach the API versions in a way capsProbe does not see: Capabilities
// named other than as .Capabilities.KubeVersion, .HelmVersion or
// .APIVersions (which capsProbe notes), or functions that read a value by
// reflection without calling its methods or tell capsProbe from Helm's
// Capabilities: toToml, toYamlPretty, deepEqual, typeOf, typeIs and
// typeIsLike. It errs on the side of rendering in turn. What it cannot
// see: a template that takes the Capabilities from the root context
// without naming them (ranging over $) and compares them with has,
// without or uniq, which read them by reflection too.
func speculable(ch *chartv2.Chart, values map[string]any) bool {
	js, err := json.Marshal(values)
	if err != nil || !speculableText(string(js)) {
		return false
	}
	var ok func(*chartv2.Chart) bool
	ok = func(ch *chartv2.Chart) bool {
		for _, f := range ch.Raw {
			if !speculableText(string(f.Data)) {
				return false
			}
		}
		for _, d := range ch.Dependencies() {
			if !ok(d) {
				return false
			}
		}
		return true
	}
	return ok(ch)
}

// speculableText is speculable for one text.
func speculableText(s string) bool {
	for _, fn := range []string{"toToml", "toYamlPretty", "deepEqual", "typeOf", "typeIs"} {
		if strings.Contains(s, fn) {
			return false
		}
	}
	for {
		i := strings.Index(s, "Capabilities")
		if i < 0 {
			return true
		}
		s = s[i+len("Capabilities"):]
		if !strings.HasPrefix(s, ".KubeVersion") && !strings.HasPrefix(s, ".HelmVersion") && !strings.HasPrefix(s, ".APIVersions") {
			return false
		}
	}
}

// capsProbe is the Capabilities templates see in a speculative render: the
// release's, with every way to their API versions noting the read — the
// APIVersions field and Copy, the Capabilities as JSON (toJson, toYaml)
// and as text (printing, print, toString: fmt). KubeVersion and
// HelmVersion are fields, as in Helm's Capabilities, holding the
// release's. A deep copy (sprig's deepCopy) is the same capsProbe
// (copystructure.ShallowCopiers).
type capsProbe struct {
	KubeVersion common.KubeVersion
	// HelmVersion holds Helm's version.BuildInfo, of an internal package.
	HelmVersion any
	caps        *common.Capabilities
	read        *atomic.Bool
}

// newCapsProbe returns a capsProbe of caps that sets read.
func newCapsProbe(caps *common.Capabilities, read *atomic.Bool) *capsProbe {
	return &capsProbe{KubeVersion: caps.KubeVersion, HelmVersion: caps.HelmVersion, caps: caps, read: read}
}

func init() {
	copystructure.ShallowCopiers[reflect.TypeFor[*capsProbe]()] = struct{}{}
}

// errProbeCopied is the error of a capsProbe that cannot note a read: one
// made other than by newCapsProbe.
var errProbeCopied = errors.New("capabilities copied in a speculative render")

// note notes a read.
func (c *capsProbe) note() error {
	if c.read == nil || c.caps == nil {
		return errProbeCopied
	}
	c.read.Store(true)
	return nil
}

// APIVersions returns the API versions, noting the read.
func (c *capsProbe) APIVersions() (common.VersionSet, error) {
	if err := c.note(); err != nil {
		return nil, err
	}
	return c.caps.APIVersions, nil
}

// Copy returns a copy of the Capabilities, noting a read.
func (c *capsProbe) Copy() (*common.Capabilities, error) {
	if err := c.note(); err != nil {
		return nil, err
	}
	return c.caps.Copy(), nil
}

// MarshalJSON encodes the Capabilities (toYaml, toJson), noting a read.
func (c *capsProbe) MarshalJSON() ([]byte, error) {
	if err := c.note(); err != nil {
		return nil, err
	}
	return json.Marshal(c.caps)
}

// String prints the Capabilities (a template printing them), noting a
// read.
func (c *capsProbe) String() string {
	_ = c.note()
	return fmt.Sprint(c.caps)
}

// Format prints the Capabilities (print, printf, toString), noting a
// read.
func (c *capsProbe) Format(f fmt.State, verb rune) {
	_ = c.note()
	fmt.Fprintf(f, fmt.FormatString(f, verb), c.caps)
}
