package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/runtime/cel"
	"github.com/fluxcd/pkg/ssa"
	ssautils "github.com/fluxcd/pkg/ssa/utils"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// DefaultTimeout bounds the wait for one bundle unless the bundle or the
// caller says otherwise.
const DefaultTimeout = 5 * time.Minute

// Options configure Deploy.
type Options struct {
	// Clusters selects clusters by name; empty means all.
	Clusters []string
	// Kubeconfig replaces every cluster's kubeconfig file when set.
	Kubeconfig string
	// Context replaces the kubeconfig context; only with one cluster.
	Context string
	// Timeout replaces every bundle's timeout when set.
	Timeout time.Duration
	// DryRun sends every object as a server-side dry run and changes
	// nothing.
	DryRun bool
	// Prune deletes objects wookie applied before that left the Plan.
	Prune bool
	// ForceConflicts takes over fields other field managers own.
	ForceConflicts bool
	// Parallel bounds the bundles of a cluster deployed at once; 0 means 4.
	Parallel int
	// ParallelClusters bounds the clusters applying at once; 0 means 4. A
	// cluster waiting for another cluster's batch does not count.
	ParallelClusters int
	// Render renders the clusters that have inputs, once their values are
	// read and substituted (and, in Deploy, first with the references in
	// place, to know which objects each batch makes), and the clusters
	// that the render.Result given to Deploy, Diff or Status lacks or
	// rendered with a chart calling lookup (render.Bundle.Lookups). Its
	// Charts are needed when those clusters have chart bundles. Its Lookup
	// is replaced: each cluster answers its own charts' lookup calls,
	// read-only, when it is rendered, and those renders are never cached.
	// Its IncludeSecrets and LeaveOutInputRefs are replaced too: what is
	// applied keeps every Secret, and no reference is left in it. The
	// render.Result given should be rendered with IncludeSecrets as well.
	Render render.Options
	// LockWait is how long a deploy waits for another deploy that holds a
	// cluster's lock; 0 refuses at once with a *LockError.
	LockWait time.Duration
	// LockDuration is how long the lock lasts unless renewed; 0 means
	// DefaultLockDuration.
	LockDuration time.Duration
	// Interval is how often readiness is polled; 0 means 1s.
	Interval time.Duration
	// OnEvent receives progress; nil drops it. It is called from several
	// goroutines, one call at a time.
	OnEvent func(Event)

	// diff, set by Diff, records the changes of the dry run.
	diff *changeLog
}

// Event is one step of a deploy, for progress lines and JSON output.
type Event struct {
	Time time.Time `json:"time"`
	// Type is start, done, failed, skipped, namespace, pruned or kept for
	// a bundle or object; hook when the Helm hooks of one phase and weight
	// of a bundle are ready (Message: "pre-install hooks of weight -5
	// ready (Job/ns/name, ...)"); cluster when a cluster is deployed, failed or
	// skipped without a bundle for a cluster that failed or was not
	// deployed (with Batch when it stopped before that batch); input when
	// an input has its value, input-wait when deploy waits for it (with
	// the Batch that needs it, unless the cluster deploys as a whole); note
	// and warning for messages. A note with Batch and Input says that the
	// batch waits for a batch of another cluster, or all of it, because of
	// the input: "batch operators waits for cluster east batch services
	// (input east-ewgw)".
	Type    string `json:"type"`
	Cluster string `json:"cluster"`
	Batch   string `json:"batch,omitempty"`
	Bundle  string `json:"bundle,omitempty"`
	// Input names the input of an input, input-wait or warning event.
	Input      string        `json:"input,omitempty"`
	Objects    int           `json:"objects,omitempty"`
	Created    int           `json:"created,omitempty"`
	Configured int           `json:"configured,omitempty"`
	Unchanged  int           `json:"unchanged,omitempty"`
	Seconds    float64       `json:"seconds,omitempty"`
	Object     string        `json:"object,omitempty"`
	Message    string        `json:"message,omitempty"`
	NotReady   []ObjectState `json:"notReady,omitempty"`
	DryRun     bool          `json:"dryRun,omitempty"`
	// Unvalidated lists, on the done event of a bundle in a dry run, the
	// objects the server could not check because their namespace or kind
	// does not exist before the deploy creates it.
	Unvalidated []string `json:"unvalidated,omitempty"`
}

// ObjectState is the readiness of one live object.
type ObjectState struct {
	Object     string   `json:"object"`
	Status     string   `json:"status"`
	Message    string   `json:"message,omitempty"`
	Conditions []string `json:"conditions,omitempty"`
	// Causes say, one line each, why a workload is not ready, as far as
	// the API server knows (see causes).
	Causes []string `json:"causes,omitempty"`
}

// Summary totals a deploy.
type Summary struct {
	Bundles, Objects, Created, Configured, Unchanged, Pruned, Kept int
}

// Deploy applies r, rendered from p, to the selected clusters of p.
//
// Deploy schedules batches of clusters. All selected clusters start at
// once, up to opts.ParallelClusters applying at a time (a cluster waiting
// for another gives its place up), and each deploys its batches in order.
// A cluster's first batch waits until every selected cluster of its
// dependsOn is deployed. A batch whose bundles refer to inputs waits, for
// each input of a selected cluster, until the batch of that cluster that
// makes the input's object (the first whose rendered objects include one
// of the same API group, kind, namespace and name) is deployed, every
// bundle ready, or, when none makes it, until that whole cluster is; it
// then reads the inputs from the live clusters (waiting for each up to its
// timeout; once, without waiting, in a dry run), substitutes them with
// those read for earlier batches into the cluster, renders the cluster
// with opts.Render and applies the batch from that rendering. Which
// objects a batch makes is known from a rendering with the input
// references in place, made before anything is applied; a cluster that
// cannot be rendered so deploys as a whole, after every selected cluster
// its inputs come from. Inputs from clusters that are not selected are
// read from their live state. Batches that wait for each other are an
// error, naming the chain, before anything is applied.
//
// After a cluster fails, the clusters that depend on it are skipped, and
// a cluster stops before a batch that waits for what the failed cluster
// did not make; the others go on. The error names every cluster that
// failed or was skipped.
func Deploy(ctx context.Context, p *plan.Plan, r *render.Result, opts Options) (*Summary, error) {
	f, err := newFleet(p, r, opts)
	if err != nil {
		return nil, err
	}
	return f.deploy(ctx)
}

// selectClusters returns the target of every selected cluster.
func selectClusters(p *plan.Plan, opts Options) (map[string]Target, error) {
	out := map[string]Target{}
	for _, name := range opts.Clusters {
		if !slices.ContainsFunc(p.Clusters, func(c plan.Cluster) bool { return c.Name == name }) {
			var names []string
			for _, c := range p.Clusters {
				names = append(names, c.Name)
			}
			return nil, fmt.Errorf("--cluster %s: no such cluster in the Plan (it has %s)", name, strings.Join(names, ", "))
		}
	}
	for _, c := range p.Clusters {
		if len(opts.Clusters) > 0 && !slices.Contains(opts.Clusters, c.Name) {
			continue
		}
		t := Target{Kubeconfig: c.Kubeconfig, Context: c.Context}
		if opts.Kubeconfig != "" {
			t.Kubeconfig = opts.Kubeconfig
		}
		if opts.Context != "" {
			t.Context = opts.Context
		}
		out[c.Name] = t
	}
	if opts.Context != "" && len(out) > 1 {
		return nil, fmt.Errorf("--context applies to one cluster, and %d are selected: add --cluster", len(out))
	}
	return out, nil
}

// clusterDeploy deploys one cluster.
type clusterDeploy struct {
	plan     *plan.Cluster
	rendered *render.Cluster
	opts     Options
	emit     func(Event)
	sum      *Summary
	conn     *conn
	// next, when set, gives batch i of rendered once it may be applied,
	// perhaps rendered anew: run applies what it returns. done, when set,
	// learns that batch i is deployed.
	next func(ctx context.Context, i int) (*render.Batch, error)
	done func(i int)

	mu      sync.Mutex
	applied []InventoryEntry

	nsMu      sync.Mutex
	nsChecked map[string]bool // namespaces known to exist or created

	dry dryState // in a dry run, what the deploy would have created
}

// bundleMeta is what the Plan says about a rendered bundle.
type bundleMeta struct {
	wait      bool
	timeout   time.Duration
	readiness []plan.Readiness
	prune     bool
}

func (d *clusterDeploy) meta(b *render.Bundle) (bundleMeta, error) {
	name := b.Name
	if b.Generated {
		name = strings.TrimSuffix(name, "-crds")
	}
	m := bundleMeta{wait: true, timeout: DefaultTimeout}
	for _, pb := range d.plan.Batches {
		for _, u := range pb.Bundles {
			if u.Name != name {
				continue
			}
			m.prune = u.Prune
			if b.Generated {
				break
			}
			m.wait = u.Wait == nil || *u.Wait
			m.readiness = u.Readiness
			if u.Timeout != "" {
				t, err := time.ParseDuration(u.Timeout)
				if err != nil {
					return m, fmt.Errorf("bundle %s: timeout %q: %w", b.Name, u.Timeout, err)
				}
				m.timeout = t
			}
		}
	}
	if d.opts.Timeout > 0 {
		m.timeout = d.opts.Timeout
	}
	return m, nil
}

func (d *clusterDeploy) interval() time.Duration {
	if d.opts.Interval > 0 {
		return d.opts.Interval
	}
	return time.Second
}

// batch returns batch i to apply, from next when it is set.
func (d *clusterDeploy) batch(ctx context.Context, i int) (*render.Batch, error) {
	if d.next == nil {
		return &d.rendered.Batches[i], nil
	}
	b, err := d.next(ctx, i)
	if err != nil {
		return nil, err
	}
	d.rendered.Batches[i] = *b
	return b, nil
}

// run deploys the cluster to t batch by batch, then, with opts.Prune,
// prunes. It touches the cluster only once its first batch may be
// applied. Unless in a dry run it holds the cluster's lock throughout, and
// it records each batch's objects in the inventory before applying them
// (pending) and after (applied): whatever ends the run, a cancelled ctx
// included, the inventory lists at least what was applied, written with
// a context of its own.
func (d *clusterDeploy) run(ctx context.Context, t Target) (failed error) {
	start := time.Now()
	if err := checkCRDOrder(d.rendered); err != nil {
		return err
	}
	var first *render.Batch
	if len(d.rendered.Batches) > 0 {
		b, err := d.batch(ctx, 0)
		if err != nil {
			return err
		}
		first = b
	}
	c, err := connect(t)
	if err != nil {
		return err
	}
	d.conn = c
	if d.opts.DryRun {
		return d.runDry(ctx, first)
	}
	ctx, lose := context.WithCancelCause(ctx)
	defer lose(nil)
	note := func(msg string) { d.emit(Event{Type: "note", Cluster: d.plan.Name, Message: msg}) }
	lk, err := acquireLock(ctx, c.client, d.plan.Name, d.opts.LockDuration, d.opts.LockWait, note, func(err error) {
		lose(fmt.Errorf("lost the lock of cluster %s: %w", d.plan.Name, err))
	})
	if err != nil {
		return err
	}
	defer func() {
		failed = errors.Join(failed, lk.release(ctx))
	}()
	inv, err := loadInventory(ctx, c.client, d.plan.Name)
	if err != nil {
		return err
	}
	// record writes the inventory; after ctx ended, with a context of its
	// own, so that what was applied is not lost.
	record := func() error {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		d.mu.Lock()
		inv.merge(d.applied)
		d.mu.Unlock()
		return saveInventory(wctx, c.client, inv)
	}
	for bi := range d.rendered.Batches {
		b := first
		if bi > 0 {
			if b, failed = d.batch(ctx, bi); failed != nil {
				break
			}
		}
		if err := ctx.Err(); err != nil {
			failed = context.Cause(ctx)
			break
		}
		if inv.intend(d.entries(b)) {
			if failed = record(); failed != nil {
				break
			}
		}
		if failed = d.runBatch(ctx, b); failed != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
				failed = cause
			}
			break
		}
		if d.done != nil {
			d.done(bi)
		}
	}
	if failed == nil && d.opts.Prune {
		d.mu.Lock()
		inv.merge(d.applied)
		d.mu.Unlock()
		kept, err := d.prune(ctx, inv, false)
		if err != nil {
			failed = err
		} else {
			inv.Entries = append(slices.Clone(d.applied), kept...)
		}
	}
	if failed != nil {
		d.dropUnapplied(ctx, inv)
	}
	if err := record(); err != nil {
		failed = errors.Join(failed, err)
	}
	if failed == nil {
		d.emit(Event{Type: "cluster", Cluster: d.plan.Name, Seconds: time.Since(start).Seconds()})
	}
	return failed
}

// dropUnapplied removes from inv the entries still pending after a run
// that failed or was stopped, whose object the cluster does not have: the
// apply never reached them. An entry whose object cannot be read stays.
func (d *clusterDeploy) dropUnapplied(ctx context.Context, inv *Inventory) {
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	d.mu.Lock()
	applied := map[string]bool{}
	for _, e := range d.applied {
		applied[e.ID] = true
	}
	d.mu.Unlock()
	inv.Entries = slices.DeleteFunc(inv.Entries, func(e InventoryEntry) bool {
		if !e.Pending || applied[e.ID] {
			return false
		}
		u, err := e.object()
		if err != nil {
			return false
		}
		err = d.conn.client.Get(gctx, client.ObjectKeyFromObject(u), u)
		return apierrors.IsNotFound(err)
	})
}

// runDry is run in a dry run: every batch sent as a server-side dry run,
// then, with opts.Prune, what prune would do; no lock, no inventory
// written.
func (d *clusterDeploy) runDry(ctx context.Context, first *render.Batch) error {
	inv, err := loadInventory(ctx, d.conn.client, d.plan.Name)
	if err != nil {
		return err
	}
	for bi := range d.rendered.Batches {
		b := first
		if bi > 0 {
			if b, err = d.batch(ctx, bi); err != nil {
				return err
			}
		}
		if err := d.runBatch(ctx, b); err != nil {
			return err
		}
		if d.done != nil {
			d.done(bi)
		}
	}
	if d.opts.Prune {
		if _, err := d.prune(ctx, inv, true); err != nil {
			return err
		}
	}
	return nil
}

// entries are the inventory entries of the objects of b.
func (d *clusterDeploy) entries(b *render.Batch) []InventoryEntry {
	var out []InventoryEntry
	for i := range b.Bundles {
		u := &b.Bundles[i]
		m, err := d.meta(u)
		if err != nil {
			continue // runBundle reports it
		}
		for _, o := range u.Objects {
			out = append(out, entryFor(o.Unstructured, u.Name, b.Priority, m.prune))
		}
	}
	return out
}

// checkCRDOrder fails, before anything is applied, when a bundle applies
// custom resources whose CRD another bundle of the same batch applies and
// the bundle does not depend on it: the two would run at once, and whether
// the kind is served in time would be luck.
func checkCRDOrder(rc *render.Cluster) error {
	var problems []string
	for _, b := range rc.Batches {
		owner := map[schema.GroupKind]string{}
		deps := map[string][]string{}
		for _, u := range b.Bundles {
			deps[u.Name] = u.DependsOn
			for _, o := range u.Objects {
				if o.GetKind() != "CustomResourceDefinition" || o.GroupVersionKind().Group != "apiextensions.k8s.io" {
					continue
				}
				group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
				kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
				owner[schema.GroupKind{Group: group, Kind: kind}] = u.Name
			}
		}
		for _, u := range b.Bundles {
			for _, o := range u.Objects {
				gk := o.GroupVersionKind().GroupKind()
				crdBundle, ok := owner[gk]
				if !ok || crdBundle == u.Name || reaches(deps, u.Name, crdBundle) {
					continue
				}
				problems = append(problems, fmt.Sprintf("batch %s: bundle %s applies %s %s, whose CRD bundle %s applies in the same batch: add dependsOn: [%q] to %s, or move the CRD to an earlier batch",
					b.Name, u.Name, gk.Kind, o.GetName(), crdBundle, crdBundle, u.Name))
				break
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// reaches reports whether from depends, directly or not, on to.
func reaches(deps map[string][]string, from, to string) bool {
	seen := map[string]bool{}
	stack := []string{from}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range deps[n] {
			if d == to {
				return true
			}
			if !seen[d] {
				seen[d] = true
				stack = append(stack, d)
			}
		}
	}
	return false
}

// runBatch deploys the bundles of one batch: each starts when the bundles
// of the batch it depends on are ready. After a failure no bundle starts;
// those already running finish.
func (d *clusterDeploy) runBatch(ctx context.Context, b *render.Batch) error {
	par := d.opts.Parallel
	if par <= 0 {
		par = 4
	}
	sem := make(chan struct{}, par)
	done := map[string]chan struct{}{}
	for _, u := range b.Bundles {
		done[u.Name] = make(chan struct{})
	}
	var (
		mu      sync.Mutex
		errs    []error
		ok      = map[string]bool{}
		stopped bool
		wg      sync.WaitGroup
	)
	for i := range b.Bundles {
		u := &b.Bundles[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[u.Name])
			for _, dep := range u.DependsOn {
				if ch, in := done[dep]; in {
					select {
					case <-ch:
					case <-ctx.Done():
						return
					}
					mu.Lock()
					depOK := ok[dep]
					mu.Unlock()
					if !depOK {
						d.emit(Event{Type: "skipped", Cluster: d.plan.Name, Batch: b.Name, Bundle: u.Name, Message: "depends on " + dep + ", which is not ready"})
						return
					}
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			mu.Lock()
			stop := stopped
			mu.Unlock()
			if stop {
				d.emit(Event{Type: "skipped", Cluster: d.plan.Name, Batch: b.Name, Bundle: u.Name, Message: "an earlier bundle failed"})
				return
			}
			err := d.runBundle(ctx, b, u)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				stopped = true
				errs = append(errs, prefixLines(fmt.Sprintf("batch %s: bundle %s: ", b.Name, u.Name), err))
				return
			}
			ok[u.Name] = true
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errors.Join(errs...)
}

// runBundle applies one bundle and waits until it is ready: its Helm
// hooks in Helm's order around its other objects (see steps).
func (d *clusterDeploy) runBundle(ctx context.Context, b *render.Batch, u *render.Bundle) error {
	start := time.Now()
	ev := Event{Cluster: d.plan.Name, Batch: b.Name, Bundle: u.Name, Objects: len(u.Objects)}
	fail := func(err error, notReady []ObjectState) error {
		e := ev
		e.Type, e.Message, e.NotReady, e.Seconds = "failed", err.Error(), notReady, time.Since(start).Seconds()
		d.emit(e)
		return err
	}
	start0 := ev
	start0.Type = "start"
	d.emit(start0)
	meta, err := d.meta(u)
	if err != nil {
		return fail(err, nil)
	}
	readers, err := statusReaders(meta.readiness)
	if err != nil {
		return fail(err, nil)
	}
	rm := d.conn.manager(readers)
	objs := make([]*unstructured.Unstructured, 0, len(u.Objects))
	for _, o := range u.Objects {
		objs = append(objs, o.Unstructured.DeepCopy())
	}
	if err := d.ensureNamespaces(ctx, ev, objs); err != nil {
		return fail(err, nil)
	}
	if !d.opts.ForceConflicts {
		if err := d.refuseConflicts(ctx, b, u, objs); err != nil {
			return fail(err, nil)
		}
	}
	var cs *ssa.ChangeSet
	if d.opts.DryRun {
		cs, ev.Unvalidated, err = d.preview(ctx, rm, b, u, objs)
		if err != nil {
			return fail(applyError(err), nil)
		}
	} else {
		// applySteps applies the Helm hooks in Helm's order around the
		// other objects, records what it applies and waits for it.
		var notReady []ObjectState
		if cs, notReady, err = d.applySteps(ctx, rm, ev, u, objs, meta, b.Priority, start); err != nil {
			return fail(err, notReady)
		}
	}
	ev.Created, ev.Configured, ev.Unchanged = countActions(cs)
	ev.Type, ev.Seconds = "done", time.Since(start).Seconds()
	d.emit(ev)
	d.mu.Lock()
	d.sum.Bundles++
	d.sum.Objects += len(objs)
	d.sum.Created += ev.Created
	d.sum.Configured += ev.Configured
	d.sum.Unchanged += ev.Unchanged
	d.mu.Unlock()
	return nil
}

// applyStaged applies CRDs, Namespaces and ClusterRoles first and waits
// for them, then class definitions (StorageClass, IngressClass, ...) and
// waits, then the rest — as ssa's ApplyAllStaged does, but its waits stop
// when ctx is cancelled.
func applyStaged(ctx context.Context, rm *ssa.ResourceManager, objs []*unstructured.Unstructured, interval, timeout time.Duration) (*ssa.ChangeSet, error) {
	var defs, classes, rest []*unstructured.Unstructured
	for _, o := range objs {
		switch {
		case ssautils.IsClusterDefinition(o):
			defs = append(defs, o)
		case ssautils.IsClassDefinition(o):
			classes = append(classes, o)
		default:
			rest = append(rest, o)
		}
	}
	all := ssa.NewChangeSet()
	opts := ssa.DefaultApplyOptions()
	for i, stage := range [][]*unstructured.Unstructured{defs, classes, rest} {
		if len(stage) == 0 {
			continue
		}
		cs, err := rm.ApplyAll(ctx, stage, opts)
		if cs != nil {
			all.Append(cs.Entries)
		}
		if err != nil {
			return all, err
		}
		if i < 2 {
			wctx, cancel := context.WithTimeout(ctx, timeout)
			err := rm.WaitForSetWithContext(wctx, cs.ToObjMetadataSet(), ssa.WaitOptions{Interval: interval, Timeout: timeout})
			cancel()
			if ctx.Err() != nil {
				return all, ctx.Err()
			}
			if err != nil {
				return all, err
			}
		}
	}
	return all, nil
}

// record adds the objects of a change set to the inventory.
func (d *clusterDeploy) record(cs *ssa.ChangeSet, objs []*unstructured.Unstructured, bundle string, priority int, prune bool) {
	applied := map[string]bool{}
	for _, e := range cs.Entries {
		applied[e.ObjMetadata.String()] = true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, o := range objs {
		e := entryFor(o, bundle, priority, prune)
		if applied[e.ID] {
			d.applied = append(d.applied, e)
		}
	}
}

// ensureNamespaces creates the namespaces the bundle's objects go to when
// they do not exist and the bundle does not create them, as helm install
// --create-namespace would: a chart may put objects into its release
// namespace before the Plan's namespaces batch runs.
func (d *clusterDeploy) ensureNamespaces(ctx context.Context, ev Event, objs []*unstructured.Unstructured) error {
	want := map[string]bool{}
	for _, o := range objs {
		if ns := o.GetNamespace(); ns != "" {
			want[ns] = true
		}
	}
	for _, o := range objs {
		if o.GetKind() == "Namespace" && o.GroupVersionKind().Group == "" {
			delete(want, o.GetName())
		}
	}
	for _, ns := range slices.Sorted(func(yield func(string) bool) {
		for k := range want {
			if !yield(k) {
				return
			}
		}
	}) {
		d.nsMu.Lock()
		if d.nsChecked[ns] {
			d.nsMu.Unlock()
			continue
		}
		created, err := d.ensureNamespace(ctx, ns)
		if err == nil {
			if d.nsChecked == nil {
				d.nsChecked = map[string]bool{}
			}
			d.nsChecked[ns] = true
		}
		d.nsMu.Unlock()
		if err != nil {
			return err
		}
		if created {
			e := ev
			e.Type, e.Object, e.Objects = "namespace", "Namespace/"+ns, 0
			d.emit(e)
		}
	}
	return nil
}

// ensureNamespace creates a namespace unless it exists (or in a dry run);
// it reports whether it created it.
func (d *clusterDeploy) ensureNamespace(ctx context.Context, ns string) (bool, error) {
	{
		var got corev1.Namespace
		err := d.conn.client.Get(ctx, client.ObjectKey{Name: ns}, &got)
		if err == nil {
			return false, nil
		}
		if !apierrors.IsNotFound(err) {
			return false, fmt.Errorf("namespace %s: %w", ns, err)
		}
		if d.opts.DryRun {
			// The deploy would create it, unless a Namespace object of
			// an earlier bundle has.
			return d.dry.makeNamespace(ns), nil
		}
		create := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		if err := d.conn.client.Create(ctx, create, client.FieldOwner(FieldManager)); err != nil {
			if apierrors.IsAlreadyExists(err) {
				return false, nil
			}
			return false, fmt.Errorf("create namespace %s: %w", ns, err)
		}
		return true, nil
	}
}

// conflicts applies every object as a dry run without taking over fields:
// fields another field manager owns are a *ConflictError naming each
// object, manager and field. Any other error fails too, naming the object
// (the apply would not be reached). An object whose namespace or kind does
// not exist yet (the apply creates it first) cannot conflict.
func (d *clusterDeploy) conflicts(ctx context.Context, objs []*unstructured.Unstructured) error {
	msgs := make([]string, len(objs))
	errs := make([]error, len(objs))
	var g errgroup.Group
	g.SetLimit(8)
	for i, o := range objs {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			msgs[i], errs[i] = d.conflict(ctx, o)
			return nil
		})
	}
	g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var ce ConflictError
	for i, m := range msgs {
		if m != "" {
			ce.Conflicts = append(ce.Conflicts, subject(objs[i])+": "+m)
		}
	}
	if len(ce.Conflicts) == 0 {
		return nil
	}
	slices.Sort(ce.Conflicts)
	return &ce
}

// conflict applies o as a dry run without taking over fields, and
// returns the conflicts it meets, or "".
func (d *clusterDeploy) conflict(ctx context.Context, o *unstructured.Unstructured) (string, error) {
	err := d.conn.client.Patch(ctx, o.DeepCopy(), client.Apply, client.FieldOwner(FieldManager), client.DryRunAll)
	switch {
	case err == nil:
		return "", nil
	case apierrors.IsConflict(err):
		return strings.TrimPrefix(err.Error(), "Apply failed with "), nil
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		if why, _, gerr := d.gap(ctx, o); gerr == nil && why != "" {
			return "", nil // it does not exist yet
		}
	}
	return "", fmt.Errorf("%s: check for fields of other managers: %w", subject(o), applyError(err))
}

// ConflictError reports fields other field managers own.
type ConflictError struct {
	// Conflicts name each object, manager and field.
	Conflicts []string
}

func (e *ConflictError) Error() string {
	return "field conflicts with other managers: " + strings.Join(e.Conflicts, "; ")
}

// subject names an object: Kind/namespace/name.
func subject(o *unstructured.Unstructured) string {
	if ns := o.GetNamespace(); ns != "" {
		return o.GetKind() + "/" + ns + "/" + o.GetName()
	}
	return o.GetKind() + "/" + o.GetName()
}

// applyError makes ssa's apply errors one line.
func applyError(err error) error {
	return errors.New(strings.Join(strings.Fields(err.Error()), " "))
}

// notReady reads every object and reports those that are not ready.
func (d *clusterDeploy) notReady(ctx context.Context, objs []*unstructured.Unstructured, rules []plan.Readiness) []ObjectState {
	var out []ObjectState
	for _, o := range objs {
		if st, ready := liveState(ctx, d.conn.client, o, rules); !ready {
			out = append(out, st)
		}
	}
	return out
}

// liveState reads one object and judges its readiness by the rule for its
// kind, or else kstatus: Missing when it does not exist, Unreadable when
// it cannot be read (its kind is not served, reading it is forbidden, the
// cluster does not answer) with the reason, Unknown when it cannot be
// judged, else kstatus's status with the message and the object's
// conditions.
func liveState(ctx context.Context, c client.Client, o *unstructured.Unstructured, rules []plan.Readiness) (ObjectState, bool) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(o.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
		if apierrors.IsNotFound(err) {
			return ObjectState{Object: subject(o), Status: "Missing"}, false
		}
		return ObjectState{Object: subject(o), Status: "Unreadable", Message: readError(o, err)}, false
	}
	st := ObjectState{Object: subject(o), Conditions: conditions(live)}
	res, rule, err := evaluate(ctx, live, rules)
	switch {
	case err != nil:
		st.Status, st.Message = "Unknown", err.Error()
	case res.Status == status.CurrentStatus:
		return st, true
	default:
		st.Status, st.Message = res.Status.String(), res.Message
		if rule != "" && st.Message == "" {
			st.Message = "readiness rule not met: " + rule
		}
		st.Causes = causes(ctx, c, live)
	}
	return st, false
}

// readError says, on one line, why o could not be read.
func readError(o *unstructured.Unstructured, err error) string {
	if meta.IsNoMatchError(err) {
		return "the cluster does not serve " + o.GetAPIVersion() + " " + o.GetKind()
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// evaluate computes an object's readiness by the rule for its kind, or
// kstatus when there is none; it returns the rule's Current expression.
func evaluate(ctx context.Context, u *unstructured.Unstructured, rules []plan.Readiness) (*status.Result, string, error) {
	gk := u.GroupVersionKind().GroupKind()
	for _, r := range rules {
		rgk := schema.FromAPIVersionAndKind(r.APIVersion, r.Kind).GroupKind()
		if rgk.Group != gk.Group || r.Kind != "" && rgk.Kind != gk.Kind {
			continue
		}
		ev, err := cel.NewStatusEvaluator(&kustomize.HealthCheckExpressions{Current: r.Current, Failed: r.Failed, InProgress: r.InProgress})
		if err != nil {
			return nil, r.Current, err
		}
		res, err := ev.Evaluate(ctx, u)
		if err != nil && strings.Contains(err.Error(), "no such attribute") {
			// The fields the rule reads are not there yet: not ready.
			return &status.Result{Status: status.InProgressStatus, Message: "readiness rule not met yet (" + r.Current + "): " + unsetFields(err)}, r.Current, nil
		}
		return res, r.Current, err
	}
	res, err := status.Compute(u)
	return res, "", err
}

// conditions lists an object's status conditions as Type=Status Reason.
func conditions(u *unstructured.Unstructured) []string {
	raw, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	var out []string
	for _, c := range raw {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		s := fmt.Sprintf("%v=%v", m["type"], m["status"])
		if r, ok := m["reason"].(string); ok && r != "" {
			s += " " + r
		}
		out = append(out, s)
	}
	return out
}

// describe says which objects are not ready, or repeats the wait error:
// on one line, each object with its status, message and conditions, then
// a line per cause (see ObjectState.Describe).
func describe(states []ObjectState, err error) string {
	if len(states) == 0 {
		return strings.Join(strings.Fields(err.Error()), " ")
	}
	var parts, causes []string
	for _, s := range states {
		lines := s.Describe()
		parts = append(parts, lines[0])
		causes = append(causes, lines[1:]...)
	}
	return strings.Join(append([]string{strings.Join(parts, "; ")}, causes...), "\n")
}

// Describe describes s in lines: the object, its status, message and
// conditions ("Deployment/ns/web InProgress: Available: 0/1
// (Available=False MinimumReplicasUnavailable)"), then a line per cause
// ("Deployment/ns/web: FailedScheduling: 0/1 nodes are available: ...").
func (s ObjectState) Describe() []string {
	first := s.Object + " " + s.Status
	if s.Message != "" {
		first += ": " + s.Message
	}
	if len(s.Conditions) > 0 {
		first += " (" + strings.Join(s.Conditions, ", ") + ")"
	}
	out := []string{first}
	for _, c := range s.Causes {
		out = append(out, s.Object+": "+c)
	}
	return out
}
