package render

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"helm.sh/helm/v4/pkg/chart/common"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	utiljson "k8s.io/apimachinery/pkg/util/json"

	"wookie.dev/wookie/internal/chart"
	"wookie.dev/wookie/internal/plan"
)

// ChartSource gives the archive of a Plan chart, verified against its pin.
type ChartSource interface {
	Archive(ctx context.Context, c *plan.Chart) ([]byte, error)
}

// Options configure Render.
type Options struct {
	// Charts gives chart archives; needed when the Plan has chart bundles.
	Charts ChartSource
	// Cache keeps rendered charts; nil renders every chart.
	Cache *Cache
	// Parallel bounds concurrent chart renders; 0 means the number of CPUs.
	// A large chart's documents are also parsed, and objects encoded, on
	// every core (parallelFor), whatever Parallel is.
	Parallel int
	// Version is wookie's version; it is part of the render cache key.
	Version string
	// AllowUnknownKinds keeps objects of kinds that the cluster does not
	// serve, no CRD of the Plan defines and nothing declares, as written,
	// instead of failing: for wookie check, which reports them.
	AllowUnknownKinds bool
	// IncludeSecrets renders the sensitive and generated bundles of the
	// Plan (plan.Bundle.IsSensitive), for a deploy or when the user asks
	// for them. Without it they are left out of the Result, listed in
	// Result.Omitted, and the dependsOn entries naming them are dropped;
	// so is every Secret with data or stringData that a chart or the
	// manifests of another bundle make, listed in Result.OmittedObjects.
	IncludeSecrets bool
	// LeaveOutInputRefs leaves out every object that still holds a
	// deploy-time input reference (plan.InputRef) in any string, listed in
	// Result.OmittedObjects: for outputs a GitOps engine applies, which
	// cannot read inputs. Deploy substitutes the inputs before it renders
	// and leaves this unset.
	LeaveOutInputRefs bool
	// Generator makes the objects of generated bundles when IncludeSecrets
	// is set; nil leaves them out, listed in Result.Omitted.
	Generator Generator
	// Lookup answers the lookup calls of chart templates from the live
	// cluster (deploy renders one cluster at a time with it). A bundle
	// whose chart calls lookup is then rendered anew, never taken from or
	// put in the cache. Nil answers every call with an empty map, as `helm
	// template` does, and warns once per bundle that calls it, unless
	// LookupLater is set.
	Lookup Lookup
	// LookupLater says the caller renders the bundles whose chart calls
	// lookup again with a Lookup before it uses them (deploy, diff and
	// status do): the offline render of them is not warned about.
	LookupLater bool
	// EncodeYAML says the caller writes the objects as YAML (MarshalYAML):
	// each chart's objects are encoded as soon as it is rendered, while
	// other charts render, instead of all at the end. (The render cache
	// keeps objects' YAML anyway.)
	EncodeYAML bool
}

// Result is a rendered Plan.
type Result struct {
	Clusters []Cluster
	// Omitted are the bundles of the Plan left out because they carry
	// secrets, in Plan order.
	Omitted []OmittedBundle
	// OmittedObjects are the objects left out of bundles that stay, in
	// deploy order: Secrets with data (without IncludeSecrets) and objects
	// holding input references (with LeaveOutInputRefs).
	OmittedObjects []OmittedObject
	// Warnings are notes for the user, in a stable order.
	Warnings []string
}

// Cluster is a rendered cluster: its batches in deploy order.
type Cluster struct {
	Name    string
	Batches []Batch
}

// Batch is a rendered batch: its bundles in deploy order.
type Batch struct {
	Name     string
	Priority int
	Bundles  []Bundle
}

// Bundle is a rendered bundle: its objects in apply order.
type Bundle struct {
	Name      string
	Namespace string
	DependsOn []string
	// Generated marks a bundle wookie made: the CRDs of a chart's crds/.
	Generated bool
	// Sensitive marks a bundle whose objects carry secrets: a sensitive or
	// generated bundle of the Plan, rendered with IncludeSecrets. Its
	// objects must not be written where they end up in Git.
	Sensitive bool
	// Lookups name the templates of the bundle's chart that called Helm's
	// lookup function (chart/templates/file.yaml; the chart's name when
	// no template names the call); empty when none did.
	Lookups []string
	Objects []*Object
	// Tests are the objects of the chart's Helm test hooks (helm.sh/hook:
	// test), Hook HookTest, in the chart's hook order: wookie test applies
	// them; deploy, diff, status and every output leave them out.
	Tests []*Object
}

// Render renders every bundle of p. Charts come from opts.Charts; p must be
// normalized. Sensitive and generated bundles are rendered only with
// opts.IncludeSecrets, generated ones by opts.Generator; the others are
// listed in Result.Omitted. Objects opts leaves out of the other bundles
// (Secrets with data, input references) are listed in
// Result.OmittedObjects. On error nothing is returned: the error names
// the cluster, bundle, chart and, where Helm says it, the template file and
// line.
func Render(ctx context.Context, p *plan.Plan, opts Options) (*Result, error) {
	res := &Result{}
	for i := range p.Clusters {
		pc, omitted := withoutSecrets(&p.Clusters[i], opts)
		c, warnings, err := renderCluster(ctx, pc, opts)
		if err != nil {
			return nil, prefixed("cluster "+p.Clusters[i].Name, err)
		}
		res.OmittedObjects = append(res.OmittedObjects, leaveOutObjects(c, opts)...)
		res.Clusters = append(res.Clusters, *c)
		res.Omitted = append(res.Omitted, omitted...)
		res.Warnings = append(res.Warnings, warnings...)
	}
	return res, nil
}

// work is one bundle being rendered.
type work struct {
	cluster string
	// live says the bundle's cluster has inputs and is rendered with
	// Options.Lookup: deploy filled the inputs' values in, and nothing of
	// it may be cached.
	live     bool
	bundle   *plan.Bundle
	out      *Bundle
	archive  []byte
	chart    *chartv2.Chart // loaded from archive when first needed
	digest   string         // of the chart archive
	crds     []*Object
	warnings []string
	// done says the bundle's chart is rendered (speculate).
	done bool
	// early is the render speculate got while the charts loaded, made
	// the bundle's once the batches are final.
	early *chartOutput
}

// load loads the bundle's chart from its archive, once.
func (w *work) load() error {
	if w.chart != nil {
		return nil
	}
	ch, err := chart.Load(w.archive, chart.DefaultLimits, w.bundle.Chart.Name, "")
	if err != nil {
		return fmt.Errorf("bundle %s: chart %s: %w", w.bundle.Name, w.bundle.Chart.Name, err)
	}
	w.chart = ch
	return nil
}

func renderCluster(ctx context.Context, pc *plan.Cluster, opts Options) (*Cluster, []string, error) {
	api, err := BuiltinAPI(pc.KubeVersion)
	if err != nil {
		return nil, nil, err
	}
	kube, err := common.ParseKubeVersion(pc.KubeVersion)
	if err != nil {
		return nil, nil, fmt.Errorf("kubeVersion %q: %w", pc.KubeVersion, err)
	}

	// The output skeleton, and the charts loaded up front: a chart's crds/
	// directory decides which bundles exist.
	out := &Cluster{Name: pc.Name}
	var all []*work
	for _, pb := range pc.Batches {
		b := Batch{Name: pb.Name, Priority: pb.Priority}
		for i := range pb.Bundles {
			u := &pb.Bundles[i]
			b.Bundles = append(b.Bundles, Bundle{Name: u.Name, Namespace: u.Namespace, DependsOn: slices.Clone(u.DependsOn), Sensitive: u.IsSensitive()})
		}
		out.Batches = append(out.Batches, b)
	}
	index := map[string]*work{}
	for bi := range out.Batches {
		for ui := range out.Batches[bi].Bundles {
			w := &work{cluster: pc.Name, live: len(pc.Inputs) > 0 && opts.Lookup != nil, bundle: &pc.Batches[bi].Bundles[ui], out: &out.Batches[bi].Bundles[ui]}
			all = append(all, w)
			index[w.bundle.Name] = w
		}
	}
	if err := loadCharts(ctx, all, newVersionSet(api), kube, opts); err != nil {
		return nil, nil, err
	}
	if err := separateCRDs(out, all, index); err != nil {
		return nil, nil, err
	}
	// The batches are final: point every bundle at its output, and make
	// the renders speculate got while the charts loaded theirs.
	for bi := range out.Batches {
		for ui := range out.Batches[bi].Bundles {
			if w := index[out.Batches[bi].Bundles[ui].Name]; w != nil {
				w.out = &out.Batches[bi].Bundles[ui]
			}
		}
	}
	for _, w := range all {
		if w.early != nil {
			w.use(w.early, opts)
			w.early = nil
		}
	}

	// Render batch by batch; inside a batch, a bundle waits for the
	// bundles it depends on, so it sees the API versions of their CRDs.
	known := newVersionSet(api)
	for bi := range out.Batches {
		batch := &out.Batches[bi]
		var ws []*work
		for ui := range batch.Bundles {
			if w := index[batch.Bundles[ui].Name]; w != nil {
				ws = append(ws, w)
			} else {
				known.addCRDs(batch.Bundles[ui].Objects) // a generated CRD bundle
			}
		}
		if err := renderBatch(ctx, ws, index, known, kube, opts); err != nil {
			return nil, nil, err
		}
		for _, w := range ws {
			known.addCRDs(w.out.Objects)
		}
	}

	if err := finish(out, pc, api, index, opts.AllowUnknownKinds); err != nil {
		return nil, nil, err
	}
	var warnings []string
	for _, w := range all {
		warnings = append(warnings, w.warnings...)
	}
	return out, warnings, nil
}

// loadCharts fetches the chart of every chart bundle and reads the
// objects of its crds/ directory, in parallel: from the render cache,
// whose entry says the archive loaded before, or by loading the chart.
// A chart found there is loaded only if a render of it misses the cache.
// Each chart is then rendered up front if its render does not depend on
// the API versions of others (speculate), with those of api.
func loadCharts(ctx context.Context, ws []*work, api *versionSet, kube *common.KubeVersion, opts Options) error {
	return each(ctx, ws, opts.Parallel, nil, func(ctx context.Context, w *work) error {
		if w.bundle.Chart == nil {
			return nil
		}
		if opts.Charts == nil {
			return fmt.Errorf("bundle %s: no chart source to read chart %s from", w.bundle.Name, w.bundle.Chart.Name)
		}
		data, err := opts.Charts.Archive(ctx, w.bundle.Chart)
		if err != nil {
			return fmt.Errorf("bundle %s: %w", w.bundle.Name, err)
		}
		w.archive, w.digest = data, chart.Digest(data)
		// A crds/ directory is the archive's, whatever the values: it is
		// cached for every bundle.
		key := crdsKey(opts.Version, w.digest, w.bundle.Chart.Name)
		co, ok := opts.Cache.get(key)
		if !ok {
			if err := w.load(); err != nil {
				return err
			}
			crds, err := crdFiles(w.chart)
			if err != nil {
				return fmt.Errorf("bundle %s: chart %s: crds: %w", w.bundle.Name, w.bundle.Chart.Name, err)
			}
			co = &chartOutput{Objects: crds}
			if opts.EncodeYAML {
				memoize(co.Objects)
			}
			opts.Cache.put(key, co)
		}
		if w.bundle.CRDs != plan.CRDsSkip {
			w.crds = co.Objects
		}
		w.early = speculate(ctx, w, api, kube, opts)
		return nil
	}, nil)
}

// separateCRDs moves the crds/ CRDs of every chart bundle that keeps them
// separate into a bundle <name>-crds: in the cluster's crds batch when it
// has one and that batch deploys no later than the bundle, else in the
// bundle's own batch. The bundle then depends on it.
func separateCRDs(out *Cluster, ws []*work, index map[string]*work) error {
	crdsBatch := slices.IndexFunc(out.Batches, func(b Batch) bool { return b.Name == "crds" })
	for _, w := range ws {
		if len(w.crds) == 0 || w.bundle.CRDs == plan.CRDsInline {
			continue
		}
		own := slices.IndexFunc(out.Batches, func(b Batch) bool {
			return slices.ContainsFunc(b.Bundles, func(u Bundle) bool { return u.Name == w.bundle.Name })
		})
		target := own
		if crdsBatch >= 0 && crdsBatch <= own {
			target = crdsBatch
		}
		name := w.bundle.Name + "-crds"
		if len(name) > 63 {
			return fmt.Errorf("bundle %s: the name of its CRD bundle, %s, is longer than 63 characters: shorten the bundle name or set crds: inline", w.bundle.Name, name)
		}
		if _, clash := index[name]; clash {
			return fmt.Errorf("bundle %s: its CRDs go to a bundle %s, but the Plan has a bundle of that name: rename it or set crds: inline", w.bundle.Name, name)
		}
		gen := Bundle{Name: name, Namespace: w.bundle.Namespace, Generated: true, Objects: w.crds}
		b := &out.Batches[target]
		// Generated bundles go first in their batch, by name.
		at := 0
		for at < len(b.Bundles) && b.Bundles[at].Generated && b.Bundles[at].Name < name {
			at++
		}
		b.Bundles = slices.Insert(b.Bundles, at, gen)
		w.crds = nil
		index[name] = nil
		// Pointers into the batches moved; renderCluster re-points w.out.
		if o := bundleIn(out, w.bundle.Name); o != nil {
			o.DependsOn = append(o.DependsOn, name)
			slices.Sort(o.DependsOn)
		}
	}
	for k, v := range index {
		if v == nil {
			delete(index, k)
		}
	}
	return nil
}

// bundleIn finds a bundle of a rendered cluster by name.
func bundleIn(c *Cluster, name string) *Bundle {
	for bi := range c.Batches {
		for ui := range c.Batches[bi].Bundles {
			if c.Batches[bi].Bundles[ui].Name == name {
				return &c.Batches[bi].Bundles[ui]
			}
		}
	}
	return nil
}

// renderBatch renders the bundles of one batch in parallel, each after the
// bundles of the batch it depends on.
func renderBatch(ctx context.Context, ws []*work, index map[string]*work, known *versionSet, kube *common.KubeVersion, opts Options) error {
	done := map[string]chan struct{}{}
	for _, w := range ws {
		done[w.bundle.Name] = make(chan struct{})
	}
	locals := map[*work]*versionSet{}
	failed := map[string]bool{}
	var mu sync.Mutex
	wait := func(ctx context.Context, w *work) error {
		// Wait for the in-batch dependencies; their CRDs count.
		local := known.clone()
		for _, d := range transitiveDeps(w.bundle.Name, index) {
			if ch, ok := done[d]; ok {
				select {
				case <-ch:
				case <-ctx.Done():
					return ctx.Err()
				}
				mu.Lock()
				bad := failed[d]
				mu.Unlock()
				if bad {
					return errSkipped
				}
				local.addCRDs(index[d].out.Objects)
			}
		}
		mu.Lock()
		locals[w] = local
		mu.Unlock()
		return nil
	}
	return each(ctx, ws, opts.Parallel, wait, func(ctx context.Context, w *work) error {
		mu.Lock()
		local := locals[w]
		mu.Unlock()
		return renderBundle(ctx, w, local, kube, opts)
	}, func(w *work, err error) {
		if err != nil {
			mu.Lock()
			failed[w.bundle.Name] = true
			mu.Unlock()
		}
		close(done[w.bundle.Name])
	})
}

// transitiveDeps lists every bundle name reachable through dependsOn.
func transitiveDeps(name string, index map[string]*work) []string {
	var out []string
	seen := map[string]bool{name: true}
	queue := []string{name}
	for len(queue) > 0 {
		w := index[queue[0]]
		queue = queue[1:]
		if w == nil {
			continue
		}
		for _, d := range w.bundle.DependsOn {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
				queue = append(queue, d)
			}
		}
	}
	slices.Sort(out)
	return out
}

// renderBundle renders one bundle: a chart through Helm (or the cache, but
// never for a sensitive bundle), the Plan's manifests, or the objects of a
// generated bundle from opts.Generator.
func renderBundle(ctx context.Context, w *work, known *versionSet, kube *common.KubeVersion, opts Options) error {
	u := w.bundle
	if u.Generate != nil {
		objs, err := generate(ctx, w.cluster, u, opts.Generator)
		if err != nil {
			return fmt.Errorf("bundle %s: %w", u.Name, err)
		}
		w.out.Objects = objs
		return nil
	}
	if u.Chart == nil {
		for i, m := range u.Manifests {
			js, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("bundle %s: manifests[%d]: %w", u.Name, i, err)
			}
			obj, err := objectFromJSON(js)
			if err == nil && obj != nil {
				err = checkObject(obj)
			}
			if err != nil {
				return fmt.Errorf("bundle %s: manifests[%d]: %w", u.Name, i, err)
			}
			w.out.Objects = append(w.out.Objects, &Object{Unstructured: obj, Source: fmt.Sprintf("manifests[%d]", i)})
		}
		return nil
	}
	if w.done {
		return nil // rendered up front (speculate)
	}
	rel, err := chartRelease(w, known, kube)
	if err != nil {
		return err
	}
	cache := bundleCache(w, opts)
	key := cacheKey(opts.Version, w.digest, rel)
	co, ok := cache.get(key)
	if ok && len(co.Lookups) > 0 && opts.Lookup != nil {
		ok = false // answered offline: render it with the live answers
	}
	if !ok {
		if err := w.load(); err != nil {
			return err
		}
		var err error
		co, err = renderChart(ctx, w.chart, rel, opts.Lookup)
		if err != nil {
			return fmt.Errorf("bundle %s: chart %s@%s: %w", u.Name, u.Chart.Name, w.chart.Metadata.Version, err)
		}
		if opts.EncodeYAML {
			memoize(co.Objects)
		}
		if len(co.Lookups) == 0 || opts.Lookup == nil {
			cache.put(key, co) // live answers are never cached
		}
	}
	w.use(co, opts)
	return nil
}

// chartRelease is the release a chart bundle renders as, with the API
// versions of known and of the chart's own crds/ CRDs.
func chartRelease(w *work, known *versionSet, kube *common.KubeVersion) (releaseSpec, error) {
	u := w.bundle
	local := known
	if len(w.crds) > 0 {
		local = known.clone()
		local.addCRDs(w.crds)
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kube
	caps.APIVersions = local.list()
	values := map[string]any{}
	if len(u.Chart.Values) > 0 {
		js, err := json.Marshal(u.Chart.Values)
		if err != nil {
			return releaseSpec{}, fmt.Errorf("bundle %s: values: %w", u.Name, err)
		}
		if err := utiljson.Unmarshal(js, &values); err != nil {
			return releaseSpec{}, fmt.Errorf("bundle %s: values: %w", u.Name, err)
		}
	}
	return releaseSpec{name: u.Name, namespace: u.Namespace, values: values, caps: caps, skipSchema: u.Chart.SkipSchemaValidation}, nil
}

// bundleCache is the render cache for w: none for a sensitive bundle or
// one rendered with live inputs, the cache being no place for secrets or
// inputs' values.
func bundleCache(w *work, opts Options) *Cache {
	if w.bundle.IsSensitive() || w.live {
		return nil
	}
	return opts.Cache
}

// use makes co, the render of w's chart, the bundle's output.
func (w *work) use(co *chartOutput, opts Options) {
	u := w.bundle
	w.done = true
	w.out.Objects = append(w.out.Objects, co.Objects...)
	w.out.Tests = append(w.out.Tests, co.Tests...)
	w.out.Lookups = slices.Clone(co.Lookups)
	if len(w.crds) > 0 { // crds: inline
		w.out.Objects = append(w.out.Objects, w.crds...)
	}
	if co.HooksApplied > 0 || co.HooksDropped > 0 || len(co.Tests) > 0 {
		w.warnings = append(w.warnings, fmt.Sprintf("bundle %s: chart %s has Helm hooks: %d kept, which wookie deploy runs as Helm does (pre-install/pre-upgrade before the bundle's objects, post-install/post-upgrade after, by weight) and rendered output lists as ordinary objects; %d test hook objects kept apart, which only wookie test applies; %d delete or rollback hooks dropped", u.Name, u.Chart.Name, co.HooksApplied, len(co.Tests), co.HooksDropped))
	}
	if len(co.Lookups) > 0 && opts.Lookup == nil && !opts.LookupLater {
		w.warnings = append(w.warnings, lookupWarning(u.Name, u.Chart.Name, co.Lookups))
	}
}

// each runs fn for every work item, at most par at once (0: CPUs), and
// returns the errors sorted, so the message does not depend on timing.
// before, when given, runs first without holding a slot (waiting for
// dependencies must not block the bundles waited for); after, when given,
// runs last whatever happened, with the item's error. Every item runs even
// when another fails, so the errors reported do not depend on timing.
func each(ctx context.Context, ws []*work, par int, before func(context.Context, *work) error, fn func(context.Context, *work) error, after func(*work, error)) error {
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	sem := make(chan struct{}, par)
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if after != nil {
				defer func() { after(w, errs[i]) }()
			}
			if before != nil {
				if errs[i] = before(ctx, w); errs[i] != nil {
					return
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			errs[i] = fn(ctx, w)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	var real []error
	for _, e := range errs {
		if e != nil && !errors.Is(e, errSkipped) {
			real = append(real, e)
		}
	}
	slices.SortFunc(real, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(real...)
}

// errSkipped marks a bundle not rendered because a bundle it depends on
// failed; that failure is the one reported.
var errSkipped = errors.New("skipped: a dependency failed")

// prefixed puts prefix before every error joined in err.
func prefixed(prefix string, err error) error {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return fmt.Errorf("%s: %w", prefix, err)
	}
	var out []error
	for _, e := range joined.Unwrap() {
		out = append(out, prefixed(prefix, e))
	}
	return errors.Join(out...)
}
