package deploy

import (
	"context"
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

	mu     sync.Mutex
	sum    Summary
	warned map[string]bool // cluster and warning already emitted
}

// newFleet selects the clusters of p that opts names. r is p rendered, or
// nil, or a rendering of some of its clusters.
func newFleet(p *plan.Plan, r *render.Result, opts Options) (*fleet, error) {
	targets, err := selectClusters(p, opts)
	if err != nil {
		return nil, err
	}
	f := &fleet{p: p, r: r, opts: opts, targets: targets, warned: map[string]bool{}}
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
// cluster without inputs that r holds is taken from r, unless a chart of
// it calls lookup (see given). Otherwise its
// inputs are read (waiting for them with wait), substituted, and the
// cluster is rendered with opts.Render.
func (f *fleet) prepare(ctx context.Context, pc *plan.Cluster, wait bool) (*plan.Cluster, *render.Cluster, error) {
	if rc := f.given(pc); rc != nil {
		return pc, rc, nil
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
	rc, warnings, err := f.render(ctx, pc)
	if err != nil {
		return nil, nil, err
	}
	f.warn(pc.Name, warnings)
	return pc, rc, nil
}

// given returns the rendering of pc that r holds when pc has no inputs,
// or nil. It is nil too when a chart of pc calls lookup: r answered it
// offline, and pc is rendered again with lookup answered by the cluster.
func (f *fleet) given(pc *plan.Cluster) *render.Cluster {
	if len(pc.Inputs) > 0 || f.r == nil {
		return nil
	}
	for i := range f.r.Clusters {
		if f.r.Clusters[i].Name == pc.Name {
			if callsLookup(&f.r.Clusters[i]) {
				return nil
			}
			return &f.r.Clusters[i]
		}
	}
	return nil
}

// render renders pc alone with opts.Render, its charts' lookup calls
// answered by pc's cluster, read-only and never cached, and the Secrets
// of its charts and manifests kept (what is applied needs them); it
// returns the warnings.
func (f *fleet) render(ctx context.Context, pc *plan.Cluster) (*render.Cluster, []string, error) {
	one := &plan.Plan{APIVersion: f.p.APIVersion, Kind: f.p.Kind, GitOps: f.p.GitOps, Clusters: []plan.Cluster{*pc}}
	opts := f.opts.Render
	opts.IncludeSecrets = true
	opts.LeaveOutInputRefs = false
	opts.Lookup = &liveLookup{cluster: pc.Name, connect: func() (*conn, error) { return f.inputs.conn(pc.Name) }}
	res, err := render.Render(ctx, one, opts)
	if err != nil {
		return nil, nil, err
	}
	return &res.Clusters[0], res.Warnings, nil
}

// warn emits the rendering warnings of a cluster that it has not emitted
// before: a cluster with inputs may be rendered several times.
func (f *fleet) warn(cluster string, warnings []string) {
	for _, w := range warnings {
		key := cluster + "\x00" + w
		f.mu.Lock()
		seen := f.warned[key]
		f.warned[key] = true
		f.mu.Unlock()
		if !seen {
			f.emit(Event{Type: "warning", Cluster: cluster, Message: w})
		}
	}
}

// inCluster puts "cluster NAME: " before every line of err that does not
// start with it (render's errors do).
func inCluster(name string, err error) error {
	return prefixLines("cluster "+name+": ", err)
}

// prefixLines returns err with prefix before every line of its message
// that does not start with it: the CLI prints each line of an error on
// its own, and each must say where it comes from. errors.Is and errors.As
// see err.
func prefixLines(prefix string, err error) error {
	if err == nil {
		return nil
	}
	return &linesError{prefix: prefix, err: err}
}

// linesError is err with a prefix on each line.
type linesError struct {
	prefix string
	err    error
}

func (e *linesError) Error() string {
	lines := strings.Split(e.err.Error(), "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, e.prefix) {
			lines[i] = e.prefix + l
		}
	}
	return strings.Join(lines, "\n")
}

func (e *linesError) Unwrap() error { return e.err }

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
