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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/render"
)

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
	d.picked = render.Pick(d.rendered, d.opts.Select)
	// The batches the selection picks nothing of are neither waited for
	// nor applied: they count as deployed at once for the clusters that
	// wait for them, which read what they need from the live cluster.
	firstAt := -1
	for bi := range d.rendered.Batches {
		if _, ok := d.picked.Batch(&d.rendered.Batches[bi]); ok {
			firstAt = bi
			break
		}
		if d.done != nil {
			d.done(bi)
		}
	}
	// What the picked bundles depend on is read first, before waiting for
	// other clusters or inputs.
	if d.picked != nil {
		if err := d.connect(t); err != nil {
			return err
		}
		if err := d.checkDeps(ctx); err != nil {
			return err
		}
	}
	var first *render.Batch
	if firstAt >= 0 {
		b, err := d.batch(ctx, firstAt)
		if err != nil {
			return err
		}
		first = b
	}
	if err := d.connect(t); err != nil {
		return err
	}
	c := d.conn
	if d.opts.DryRun {
		return d.runDry(ctx, firstAt, first)
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
		var b *render.Batch
		if b, failed = d.pickedBatch(ctx, bi, firstAt, first); failed != nil {
			break
		}
		if b == nil {
			continue
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
		failed = err
		// What prune deleted, or found gone, leaves the inventory, also
		// when it could not delete others; those, the entries it did not
		// get to and those outside the selection stay.
		stay := map[string]bool{}
		for _, e := range d.applied {
			stay[e.ID] = true
		}
		for _, e := range kept {
			stay[e.ID] = true
		}
		inv.Entries = slices.DeleteFunc(inv.Entries, func(e InventoryEntry) bool {
			return !stay[e.ID] && d.inScope(e)
		})
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

// connect connects to the cluster at t, once.
func (d *clusterDeploy) connect(t Target) error {
	if d.conn != nil {
		return nil
	}
	c, err := connect(t)
	if err != nil {
		return err
	}
	d.conn = c
	return nil
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

// pickedBatch returns batch bi to apply, cut to what the selection picks:
// first for bi == firstAt (already had), nil for a batch before it or
// one the selection leaves out (which counts as done).
func (d *clusterDeploy) pickedBatch(ctx context.Context, bi, firstAt int, first *render.Batch) (*render.Batch, error) {
	if firstAt < 0 || bi < firstAt {
		return nil, nil
	}
	b := first
	if bi > firstAt {
		if _, ok := d.picked.Batch(&d.rendered.Batches[bi]); !ok {
			if d.done != nil {
				d.done(bi)
			}
			return nil, nil
		}
		var err error
		if b, err = d.batch(ctx, bi); err != nil {
			return nil, err
		}
	}
	b, _ = d.picked.Batch(b)
	return b, nil
}

// runDry is run in a dry run: every batch picked sent as a server-side
// dry run (the first, at firstAt, given), then, with opts.Prune, what
// prune would do; no lock, no inventory written.
func (d *clusterDeploy) runDry(ctx context.Context, firstAt int, first *render.Batch) error {
	inv, err := loadInventory(ctx, d.conn.client, d.plan.Name)
	if err != nil {
		return err
	}
	for bi := range d.rendered.Batches {
		b, err := d.pickedBatch(ctx, bi, firstAt, first)
		if err != nil {
			return err
		}
		if b == nil {
			continue
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
			e := entryFor(o.Unstructured, u.Name, b.Priority, m.prune)
			e.Batch = b.Name
			out = append(out, e)
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
	// Not errgroup.SetLimit: a bundle takes its place only once the
	// bundles it depends on are done, so that those waiting hold none.
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
