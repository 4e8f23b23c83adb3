package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// clusterRun is the deploy of one selected cluster.
type clusterRun struct {
	pc *plan.Cluster
	// rendered is the cluster rendered with its input references in
	// place, nil when that failed (renderErr says why): then its batches
	// are not known, and it is deployed as one unit, after its inputs'
	// clusters.
	rendered  *render.Cluster
	renderErr error
	// warnings are those of rendered, emitted when the cluster starts.
	warnings []string
	// batches are closed as each batch of rendered is deployed.
	batches []chan struct{}
	// done is closed when the cluster's deploy has ended.
	done chan struct{}

	// Set before done is closed: why the cluster failed, or was not
	// deployed (the text after "not deployed: ").
	failed  error
	skipped string
}

// ok reports whether the cluster was deployed; only once done is closed.
func (x *clusterRun) ok() bool { return x.failed == nil && x.skipped == "" }

// outcome says how a cluster that did not deploy ended: "failed" or "was
// skipped".
func (x *clusterRun) outcome() string {
	if x.failed != nil {
		return "failed"
	}
	return "was skipped"
}

// slot is a cluster's hold on one of the places of the clusters deploying
// at once. One goroutine uses it. Not errgroup.SetLimit: a cluster gives
// its place up while it waits for other clusters' batches, and takes one
// again after.
type slot struct {
	sem  chan struct{}
	held bool
}

// acquire takes a place, waiting for one.
func (s *slot) acquire(ctx context.Context) error {
	if s.held {
		return nil
	}
	select {
	case s.sem <- struct{}{}:
		s.held = true
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release gives the place back, if held.
func (s *slot) release() {
	if s.held {
		<-s.sem
		s.held = false
	}
}

// deploy deploys the selected clusters batch by batch, in the order of
// the schedule (see newSchedule): every cluster starts at once, each
// batch when what it waits for is deployed, up to opts.ParallelClusters
// clusters applying at once; a cluster waiting for another gives its
// place up. A failed cluster skips the clusters that depend on it; the
// others go on, and a cluster that waits for a batch of a cluster that
// failed before it stops there.
func (f *fleet) deploy(ctx context.Context) (*Summary, error) {
	clusters := f.selected()
	if err := dependsOnCycle(clusters, f.targets); err != nil {
		return &Summary{}, err
	}
	par := f.opts.ParallelClusters
	if par <= 0 {
		par = 4
	}
	runs := f.renderAll(ctx, clusters, par)
	rendered := map[string]*render.Cluster{}
	for name, x := range runs {
		rendered[name] = x.rendered
	}
	s := newSchedule(clusters, rendered)
	if cycle := s.cycle(); cycle != nil {
		if err := renderErrors(cycle, runs); err != nil {
			return &Summary{}, err
		}
		return &Summary{}, fmt.Errorf("clusters depend on each other: %s", s.describe(cycle))
	}
	// Places handed out by slot, not errgroup.SetLimit: see slot.
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for _, pc := range clusters {
		wg.Go(func() {
			x := runs[pc.Name]
			defer close(x.done)
			f.runCluster(ctx, s, runs, x, &slot{sem: sem})
		})
	}
	wg.Wait()
	sum := f.sum
	if err := ctx.Err(); err != nil {
		return &sum, err
	}
	var errs []error
	for _, pc := range clusters {
		x := runs[pc.Name]
		switch {
		case x.failed != nil:
			errs = append(errs, inCluster(pc.Name, x.failed))
		case x.skipped != "":
			errs = append(errs, fmt.Errorf("cluster %s: not deployed: %s", pc.Name, x.skipped))
		}
	}
	return &sum, errors.Join(errs...)
}

// dependsOnCycle fails when the dependsOn of the selected clusters make a
// cycle (Normalize refuses such a Plan too).
func dependsOnCycle(clusters []*plan.Cluster, targets map[string]Target) error {
	deps := map[string][]string{}
	var names []string
	for _, pc := range clusters {
		names = append(names, pc.Name)
		for _, d := range pc.DependsOn {
			if _, ok := targets[d]; ok {
				deps[pc.Name] = append(deps[pc.Name], d)
			}
		}
		slices.Sort(deps[pc.Name])
	}
	slices.Sort(names)
	if cycle := findCycle(names, func(n string) []string { return deps[n] }); cycle != nil {
		return fmt.Errorf("clusters depend on each other (dependsOn): %s", strings.Join(cycle, " -> "))
	}
	return nil
}

// renderAll returns the deploy of every cluster with its rendering: the
// one the render.Result given to Deploy holds for a cluster without
// inputs, else one made now, with the input references in place, which
// says which objects each batch applies; par clusters at once. It applies
// nothing.
func (f *fleet) renderAll(ctx context.Context, clusters []*plan.Cluster, par int) map[string]*clusterRun {
	runs := map[string]*clusterRun{}
	var g errgroup.Group
	g.SetLimit(max(par, 1))
	for _, pc := range clusters {
		x := &clusterRun{pc: pc, done: make(chan struct{})}
		runs[pc.Name] = x
		if x.rendered = f.given(pc); x.rendered != nil {
			continue
		}
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				x.renderErr = err
				return nil
			}
			rc, warnings, err := f.render(ctx, pc)
			if err != nil {
				// The cluster deploys as a whole, rendered once its inputs
				// are read; if that rendering fails too, its error is the
				// cluster's.
				x.renderErr = err
				return nil
			}
			x.rendered, x.warnings = rc, warnings
			return nil
		})
	}
	g.Wait()
	for _, x := range runs {
		if x.rendered != nil {
			for range x.rendered.Batches {
				x.batches = append(x.batches, make(chan struct{}))
			}
		}
	}
	return runs
}

// renderErrors returns the errors of the clusters of a cycle of units
// that could not be rendered with their input references in place, or
// nil when there are none. Such a cluster waits for all of the clusters
// its inputs come from, which is what made the cycle: its render error,
// naming cluster and bundle, is what to fix.
func renderErrors(cycle []unit, runs map[string]*clusterRun) error {
	var errs []error
	seen := map[string]bool{}
	for _, u := range cycle {
		x := runs[u.cluster]
		if x.renderErr == nil || seen[u.cluster] {
			continue
		}
		seen[u.cluster] = true
		errs = append(errs, inCluster(u.cluster, x.renderErr), fmt.Errorf(
			"cluster %s: deploy renders it with its input references in place, before anything is applied, to know which batch waits for which input; as it cannot, it would wait for all of the clusters its inputs come from, and they wait for it", u.cluster))
	}
	return errors.Join(errs...)
}

// runCluster deploys the cluster of x once the clusters of its dependsOn
// (and, when its batches are not known, those of its inputs) are deployed,
// holding a place of sl while it applies, and records how it ended in x.
func (f *fleet) runCluster(ctx context.Context, s *schedule, runs map[string]*clusterRun, x *clusterRun, sl *slot) {
	first := s.first(x.pc.Name)
	for _, l := range s.links[first] {
		if l.input != "" && first.batch >= 0 {
			continue // the batch waits for it itself
		}
		y := runs[l.to.cluster]
		select {
		case <-y.done:
		case <-ctx.Done():
			x.failed = ctx.Err()
			return
		}
		if y.ok() {
			continue
		}
		why := "depends on cluster " + y.pc.Name + ", which failed"
		if y.failed == nil {
			why = "depends on cluster " + y.pc.Name + ", which was not deployed"
		}
		f.emit(Event{Type: "skipped", Cluster: x.pc.Name, Message: why})
		x.skipped = "it " + why
		return
	}
	if err := sl.acquire(ctx); err != nil {
		x.failed = err
		return
	}
	defer sl.release()
	var feed *batchFeed
	if x.rendered != nil {
		feed = &batchFeed{f: f, s: s, runs: runs, x: x, slot: sl, current: x.rendered}
	}
	err := f.deployCluster(ctx, x, feed)
	var up *upstreamError
	switch {
	case err == nil:
	case errors.As(err, &up) && up.first:
		f.emit(Event{Type: "skipped", Cluster: x.pc.Name, Batch: up.batch, Message: err.Error()})
		x.skipped = err.Error()
	default:
		x.failed = err
	}
}

// deployCluster deploys the cluster of x: batch by batch through feed, or,
// when feed is nil, once its inputs are read and it is rendered with them.
// It emits the failed event of the cluster, unless the cluster stops
// before its first batch because of another cluster.
func (f *fleet) deployCluster(ctx context.Context, x *clusterRun, feed *batchFeed) error {
	pc := x.pc
	start := time.Now()
	for _, d := range plan.ClusterDependencies(pc) {
		if _, ok := f.targets[d]; ok {
			continue
		}
		what := "depends on cluster " + d + ", which is not selected: it is not deployed, and not waited for"
		if slices.ContainsFunc(pc.Inputs, func(in plan.Input) bool { return in.From.Cluster == d }) {
			what = "reads inputs from cluster " + d + ", which is not selected: from its live state, without deploying it"
		}
		f.emit(Event{Type: "note", Cluster: pc.Name, Message: what})
	}
	f.warn(pc.Name, x.warnings)
	sum := &Summary{}
	defer func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.sum.add(sum)
	}()
	fail := func(err error) error {
		var up *upstreamError
		if errors.As(err, &up) && up.first {
			return err
		}
		f.emit(Event{Type: "failed", Cluster: pc.Name, Batch: batchOf(err), Message: err.Error(), Seconds: time.Since(start).Seconds()})
		return err
	}
	d := &clusterDeploy{plan: pc, opts: f.opts, emit: f.emit, sum: sum}
	if feed == nil {
		// A dry run applies nothing, so the clusters inputs come from may
		// not have their values: read them as diff does.
		ready, rc, err := f.prepare(ctx, pc, !f.opts.DryRun)
		if err != nil {
			return fail(err)
		}
		d.plan, d.rendered = ready, rc
	} else {
		rc := *x.rendered
		rc.Batches = slices.Clone(rc.Batches)
		d.rendered, d.next, d.done = &rc, feed.next, feed.done
	}
	if err := d.run(ctx, f.targets[pc.Name]); err != nil {
		return fail(err)
	}
	return nil
}

// batchOf returns the batch an upstreamError names, or "".
func batchOf(err error) string {
	var up *upstreamError
	if errors.As(err, &up) {
		return up.batch
	}
	return ""
}
