package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// fleet is the work on the selected clusters of one Plan: deploy, diff or
// status.
type fleet struct {
	p    *plan.Plan
	r    *render.Result
	opts Options
	// targets are the selected clusters' targets, by name.
	targets map[string]Target
	emit    func(Event)
	inputs  *inputReader

	mu  sync.Mutex
	sum Summary
}

// newFleet selects the clusters of p that opts names. r is p rendered, or
// nil, or a rendering of some of its clusters.
func newFleet(p *plan.Plan, r *render.Result, opts Options) (*fleet, error) {
	targets, err := selectClusters(p, opts)
	if err != nil {
		return nil, err
	}
	f := &fleet{p: p, r: r, opts: opts, targets: targets}
	var mu sync.Mutex
	f.emit = func(e Event) {
		if opts.OnEvent == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		e.Time = time.Now()
		e.DryRun = opts.DryRun
		opts.OnEvent(e)
	}
	f.inputs = &inputReader{p: p, opts: opts, selected: targets}
	return f, nil
}

// selected returns the selected clusters in Plan order.
func (f *fleet) selected() []*plan.Cluster {
	var out []*plan.Cluster
	for i := range f.p.Clusters {
		if _, ok := f.targets[f.p.Clusters[i].Name]; ok {
			out = append(out, &f.p.Clusters[i])
		}
	}
	return out
}

// prepare returns pc and its rendering, ready to apply, diff or read. A
// cluster without inputs that r holds is taken from r. Otherwise its
// inputs are read (waiting for them with wait), substituted, and the
// cluster is rendered with opts.Render.
func (f *fleet) prepare(ctx context.Context, pc *plan.Cluster, wait bool) (*plan.Cluster, *render.Cluster, error) {
	if len(pc.Inputs) == 0 && f.r != nil {
		for i := range f.r.Clusters {
			if f.r.Clusters[i].Name == pc.Name {
				return pc, &f.r.Clusters[i], nil
			}
		}
	}
	if len(pc.Inputs) > 0 {
		values, err := f.inputs.read(ctx, pc, wait, f.emit)
		if err != nil {
			return nil, nil, err
		}
		if pc, err = plan.SubstituteInputs(pc, values); err != nil {
			return nil, nil, err
		}
	}
	one := &plan.Plan{APIVersion: f.p.APIVersion, Kind: f.p.Kind, GitOps: f.p.GitOps, Clusters: []plan.Cluster{*pc}}
	res, err := render.Render(ctx, one, f.opts.Render)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range res.Warnings {
		f.emit(Event{Type: "warning", Cluster: pc.Name, Message: w})
	}
	return pc, &res.Clusters[0], nil
}

// deploy deploys the selected clusters: each once every selected cluster
// it depends on (by dependsOn or an input) is deployed, independent ones in
// parallel, up to opts.ParallelClusters at once. A failed cluster skips
// the clusters that depend on it; the others go on.
func (f *fleet) deploy(ctx context.Context) (*Summary, error) {
	clusters := f.selected()
	deps := map[string][]string{}
	for _, pc := range clusters {
		for _, d := range plan.ClusterDependencies(pc) {
			if _, ok := f.targets[d]; ok {
				deps[pc.Name] = append(deps[pc.Name], d)
			}
		}
	}
	if cycle := findCycle(deps); cycle != nil {
		return &Summary{}, fmt.Errorf("clusters depend on each other (dependsOn and inputs): %s", strings.Join(cycle, " -> "))
	}
	par := f.opts.ParallelClusters
	if par <= 0 {
		par = 4
	}
	sem := make(chan struct{}, par)
	done := map[string]chan struct{}{}
	for _, pc := range clusters {
		done[pc.Name] = make(chan struct{})
	}
	var (
		mu      sync.Mutex
		failed  = map[string]error{}
		skipped = map[string]string{} // cluster -> why
		wg      sync.WaitGroup
	)
	for _, pc := range clusters {
		wg.Go(func() {
			defer close(done[pc.Name])
			for _, d := range deps[pc.Name] {
				select {
				case <-done[d]:
				case <-ctx.Done():
					return
				}
				mu.Lock()
				_, bad := failed[d]
				_, skip := skipped[d]
				mu.Unlock()
				if bad || skip {
					why := "depends on cluster " + d + ", which failed"
					if skip {
						why = "depends on cluster " + d + ", which was not deployed"
					}
					f.emit(Event{Type: "skipped", Cluster: pc.Name, Message: why})
					mu.Lock()
					skipped[pc.Name] = why
					mu.Unlock()
					return
				}
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			defer func() { <-sem }()
			if err := f.deployCluster(ctx, pc); err != nil {
				mu.Lock()
				failed[pc.Name] = err
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	sum := f.sum
	if err := ctx.Err(); err != nil {
		return &sum, err
	}
	var errs []error
	for _, pc := range clusters {
		if err, ok := failed[pc.Name]; ok {
			errs = append(errs, inCluster(pc.Name, err))
		}
		if why, ok := skipped[pc.Name]; ok {
			errs = append(errs, fmt.Errorf("cluster %s: not deployed: it %s", pc.Name, why))
		}
	}
	return &sum, errors.Join(errs...)
}

// inCluster puts "cluster NAME: " before err unless it starts with it, as
// render's errors do.
func inCluster(name string, err error) error {
	if strings.HasPrefix(err.Error(), "cluster "+name+": ") {
		return err
	}
	return fmt.Errorf("cluster %s: %w", name, err)
}

// deployCluster reads pc's inputs, renders it when it must and deploys it.
func (f *fleet) deployCluster(ctx context.Context, pc *plan.Cluster) error {
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
	sum := &Summary{}
	defer func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.sum.add(sum)
	}()
	fail := func(err error) error {
		f.emit(Event{Type: "failed", Cluster: pc.Name, Message: err.Error(), Seconds: time.Since(start).Seconds()})
		return err
	}
	// A dry run applies nothing, so the clusters inputs come from may not
	// have their values: read them as diff does.
	ready, rc, err := f.prepare(ctx, pc, !f.opts.DryRun)
	if err != nil {
		return fail(err)
	}
	d := &clusterDeploy{plan: ready, rendered: rc, opts: f.opts, emit: f.emit, sum: sum}
	if err := d.run(ctx, f.targets[pc.Name]); err != nil {
		return fail(err)
	}
	return nil
}

// add adds the counts of o to s.
func (s *Summary) add(o *Summary) {
	s.Bundles += o.Bundles
	s.Objects += o.Objects
	s.Created += o.Created
	s.Configured += o.Configured
	s.Unchanged += o.Unchanged
	s.Pruned += o.Pruned
	s.Kept += o.Kept
}

// findCycle returns a cycle of graph as its names, the first at both ends,
// or nil. It visits names in sorted order, so the answer is stable.
func findCycle(graph map[string][]string) []string {
	const (
		unseen = iota
		active
		finished
	)
	state := map[string]int{}
	var stack []string
	var visit func(n string) []string
	visit = func(n string) []string {
		state[n] = active
		stack = append(stack, n)
		for _, m := range slices.Sorted(slices.Values(graph[n])) {
			switch state[m] {
			case active:
				i := slices.Index(stack, m)
				return append(slices.Clone(stack[i:]), m)
			case unseen:
				if c := visit(m); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = finished
		return nil
	}
	names := make([]string, 0, len(graph))
	for n := range graph {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if state[n] == unseen {
			if c := visit(n); c != nil {
				return c
			}
		}
	}
	return nil
}
