package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"wookie.dev/wookie/internal/render"
)

// A deploy with Options.Select applies only the batches and bundles it
// picks (render.Pick): the batches it picks nothing of are skipped, never
// waited for, and the bundles of a batch it does not pick are left out of
// the batch. Before anything is applied, the dependencies of what it
// picks (see plan.Selection) are read from the cluster: one that is not
// ready (or, for a bundle that is not waited for, does not exist) fails
// the deploy with a *DependencyError; Helm hooks deleted once they
// succeed are not looked for. Prune deletes only what left the
// part picked: the entries of the inventory of a picked bundle, or of a
// batch picked as a whole; every other entry stays as it was.

// DependencyError says that bundles the selected ones depend on are not
// ready in the cluster.
type DependencyError struct {
	Cluster string
	// NotReady are the bundles, in deploy order, each with its first
	// object that is not ready.
	NotReady []NotReadyBundle
}

// NotReadyBundle is a bundle that is not ready and the first object of
// it that is not.
type NotReadyBundle struct {
	Batch, Bundle string
	Object        ObjectState
}

func (e *DependencyError) Error() string {
	lines := make([]string, len(e.NotReady))
	for i, n := range e.NotReady {
		what := n.Object.Object + " " + n.Object.Status
		if n.Object.Message != "" {
			what += ": " + n.Object.Message
		}
		lines[i] = fmt.Sprintf("batch %s: bundle %s: not ready in the cluster (%s), and the selected bundles depend on it", n.Batch, n.Bundle, what)
	}
	return strings.Join(lines, "\n")
}

// checkDeps reads the dependencies of what is picked from the cluster and
// returns a *DependencyError naming those that are not ready.
func (d *clusterDeploy) checkDeps(ctx context.Context) error {
	if d.picked == nil || len(d.picked.Deps) == 0 {
		return nil
	}
	e := &DependencyError{Cluster: d.plan.Name}
	for _, ref := range d.picked.Deps {
		u := d.bundle(ref.Batch, ref.Bundle)
		if u == nil {
			continue
		}
		m, err := d.meta(u)
		if err != nil {
			return err
		}
		for _, o := range u.Objects {
			if o.Hook != "" && slices.Contains(hookPolicies(o.Unstructured), hookSucceeded) {
				continue // deleted once it succeeded
			}
			st, ready := liveState(ctx, d.conn.client, o.Unstructured, withJobRule(m.readiness))
			if ready || !m.wait && st.Status != "Missing" && st.Status != "Unreadable" {
				continue
			}
			e.NotReady = append(e.NotReady, NotReadyBundle{Batch: ref.Batch, Bundle: ref.Bundle, Object: st})
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(e.NotReady) > 0 {
		return e
	}
	return nil
}

// bundle finds a bundle of the rendered cluster.
func (d *clusterDeploy) bundle(batch, name string) *render.Bundle {
	for bi := range d.rendered.Batches {
		b := &d.rendered.Batches[bi]
		if b.Name != batch {
			continue
		}
		for ui := range b.Bundles {
			if b.Bundles[ui].Name == name {
				return &b.Bundles[ui]
			}
		}
	}
	return nil
}

// inScope reports whether prune may delete the object of e: it is of a
// picked bundle, or of a batch picked as a whole (by its priority, for
// entries without a batch). Without a selection every entry is.
func (d *clusterDeploy) inScope(e InventoryEntry) bool {
	p := d.picked
	if p == nil || p.Bundles[e.Bundle] {
		return true
	}
	if e.Batch != "" {
		return p.Batches[e.Batch]
	}
	for _, b := range d.rendered.Batches {
		if p.Batches[b.Name] && b.Priority == e.Priority {
			return true
		}
	}
	return false
}
