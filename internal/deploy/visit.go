package deploy

import (
	"context"
	"fmt"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// Live is one selected cluster, deployed, as Visit hands it over.
type Live struct {
	// Plan is the cluster of the Plan, its inputs substituted.
	Plan *plan.Cluster
	// Render is its rendering (test hooks in Bundle.Tests).
	Render *render.Cluster
	// Picked is the part of Render that Options.Select picks; nil picks
	// all of it (see render.Picked.Batch).
	Picked *render.Picked
	// Client and Config reach the cluster.
	Client client.Client
	Config *rest.Config
}

// Visit prepares each selected cluster of p as Status does (its inputs read
// once, without waiting, from the live clusters; rendered with
// opts.Render unless r holds it), connects to it and calls fn, cluster by
// cluster in Plan order. It stops at the first error, fn's included.
func Visit(ctx context.Context, p *plan.Plan, r *render.Result, opts Options, fn func(context.Context, *Live) error) error {
	f, err := newFleet(p, r, opts)
	if err != nil {
		return err
	}
	for _, sel := range f.selected() {
		pc, rc, err := f.prepare(ctx, sel, false)
		if err != nil {
			return inCluster(sel.Name, err)
		}
		c, err := connect(f.targets[pc.Name])
		if err != nil {
			return fmt.Errorf("cluster %s: %w", pc.Name, err)
		}
		if err := fn(ctx, &Live{Plan: pc, Render: rc, Picked: render.Pick(rc, opts.Select), Client: c.client, Config: c.cfg}); err != nil {
			return err
		}
	}
	return nil
}

// UnsetFields words an error of evaluating the CEL expression expr over
// obj as readiness rules report it: "status.state is not set" for a field
// the expression read that the object lacks; the error's own words
// otherwise.
func UnsetFields(err error, expr string, obj map[string]any) string {
	return unsetFields(err, expr, obj)
}
