package deploy

import (
	"context"
	"fmt"
	"slices"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// upstreamError stops a cluster before one of its batches: a cluster the
// batch waits for failed, or was skipped, before it made what the batch
// needs.
type upstreamError struct {
	batch string
	// first is set when the batch is the cluster's first: nothing of the
	// cluster was applied, and the cluster counts as skipped.
	first bool
	msg   string
}

func (e *upstreamError) Error() string { return e.msg }

// batchFeed gives the deploy of a cluster whose rendering is known its
// batches one by one (clusterDeploy.next): each once the batches of other
// clusters it waits for are deployed, with the inputs it refers to read,
// substituted and the cluster rendered anew.
type batchFeed struct {
	f    *fleet
	s    *schedule
	runs map[string]*clusterRun
	x    *clusterRun
	// slot is the cluster's place among those applying at once; it is
	// given up while the cluster waits.
	slot *slot
	// values are the inputs read so far, by name.
	values map[string]string
	// current is the cluster's latest rendering: with the input references
	// in place, then with the values read so far.
	current *render.Cluster
}

// next returns batch i of the cluster once it may be applied.
func (bf *batchFeed) next(ctx context.Context, i int) (*render.Batch, error) {
	pc := bf.x.pc
	name := bf.x.rendered.Batches[i].Name
	u := unit{pc.Name, i}
	var fresh []plan.Input
	for _, n := range bf.s.needs[u] {
		if _, ok := bf.values[n]; ok {
			continue
		}
		if j := slices.IndexFunc(pc.Inputs, func(in plan.Input) bool { return in.Name == n }); j >= 0 {
			fresh = append(fresh, pc.Inputs[j])
		}
	}
	var links []link
	for _, l := range bf.s.links[u] {
		if l.input != "" {
			links = append(links, l) // dependsOn was waited for before the cluster started
		}
	}
	if len(links) > 0 || len(fresh) > 0 && !bf.f.opts.DryRun {
		bf.slot.release()
	}
	for _, l := range links {
		if err := bf.wait(ctx, i, name, l); err != nil {
			return nil, err
		}
	}
	if len(fresh) > 0 {
		// A dry run applies nothing, so the clusters inputs come from may
		// not have their values: read them as diff does.
		sub := *pc
		sub.Inputs = fresh
		emit := func(e Event) {
			e.Batch = name
			bf.f.emit(e)
		}
		values, err := bf.f.inputs.read(ctx, &sub, !bf.f.opts.DryRun, emit)
		if err != nil {
			return nil, err
		}
		if bf.values == nil {
			bf.values = map[string]string{}
		}
		for k, v := range values {
			bf.values[k] = v
		}
	}
	if err := bf.slot.acquire(ctx); err != nil {
		return nil, err
	}
	if len(fresh) > 0 {
		ready, err := plan.SubstituteKnownInputs(pc, bf.values)
		if err != nil {
			return nil, err
		}
		rc, warnings, err := bf.f.render(ctx, ready)
		if err != nil {
			return nil, err
		}
		bf.f.warn(pc.Name, warnings)
		bf.current = rc
	}
	if i >= len(bf.current.Batches) || bf.current.Batches[i].Name != name {
		return nil, fmt.Errorf("batch %s: not in the cluster rendered with its inputs", name)
	}
	return &bf.current.Batches[i], nil
}

// done records that batch i of the cluster is deployed.
func (bf *batchFeed) done(i int) {
	close(bf.x.batches[i])
}

// wait waits until what l names is deployed: a batch of another cluster,
// or all of it. It fails when that cluster ends without deploying it.
func (bf *batchFeed) wait(ctx context.Context, i int, batch string, l link) error {
	y := bf.runs[l.to.cluster]
	ch := y.done
	if !l.whole {
		ch = y.batches[l.to.batch]
	}
	if !closed(ch) {
		what := "all of cluster " + l.to.cluster
		if !l.whole {
			what = "cluster " + bf.s.name(l.to)
		}
		bf.f.emit(Event{Type: "note", Cluster: bf.x.pc.Name, Batch: batch, Input: l.input, Object: l.object,
			Message: fmt.Sprintf("batch %s waits for %s (input %s)", batch, what, l.input)})
	}
	select {
	case <-ch:
	case <-y.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if l.whole && y.ok() || !l.whole && closed(ch) {
		return nil
	}
	msg := fmt.Sprintf("batch %s: input %s: cluster %s %s", batch, l.input, l.to.cluster, y.outcome())
	if !l.whole {
		msg += fmt.Sprintf(" before its batch %s made %s", bf.s.batches[l.to.cluster][l.to.batch], l.object)
	}
	return &upstreamError{batch: batch, first: i == 0, msg: msg}
}

// closed reports whether ch is closed, without waiting.
func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
