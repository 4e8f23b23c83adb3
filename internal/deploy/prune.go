package deploy

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/render"
)

// prune deletes the objects of the inventory that this deploy did not
// apply: in reverse batch order, only objects that still carry wookie's
// cluster label, keeping CRDs, Namespaces and PersistentVolumeClaims unless
// their bundle allowed it. It returns the entries it kept. With dryRun it
// only reports.
func (d *clusterDeploy) prune(ctx context.Context, inv *Inventory, dryRun bool) ([]InventoryEntry, error) {
	current := map[string]bool{}
	for _, e := range d.applied {
		current[e.ID] = true
	}
	if dryRun {
		for _, b := range d.rendered.Batches {
			for _, u := range b.Bundles {
				for _, o := range u.Objects {
					current[entryFor(o.Unstructured, "", 0, false).ID] = true
				}
			}
		}
	}
	var stale []InventoryEntry
	for _, e := range inv.Entries {
		if !current[e.ID] {
			stale = append(stale, e)
		}
	}
	slices.SortStableFunc(stale, func(a, b InventoryEntry) int { return b.Priority - a.Priority })
	var kept []InventoryEntry
	for _, e := range stale {
		u, err := e.object()
		if err != nil {
			return nil, err
		}
		ev := Event{Cluster: d.plan.Name, Bundle: e.Bundle, Object: subject(u)}
		gk := schema.FromAPIVersionAndKind(e.Version, u.GetKind()).GroupKind()
		if protected(gk.Kind, gk.Group) && !e.Prune {
			ev.Type, ev.Message = "kept", "CRDs, Namespaces and PersistentVolumeClaims are kept unless their bundle says prune: true"
			d.emit(ev)
			kept = append(kept, e)
			d.count(func(s *Summary) { s.Kept++ })
			continue
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		err = d.conn.client.Get(ctx, client.ObjectKeyFromObject(u), live)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case meta.IsNoMatchError(err):
			continue // its kind is gone with its CRD
		case err != nil:
			return nil, fmt.Errorf("prune %s: %w", subject(u), err)
		}
		if live.GetLabels()[render.LabelCluster] != d.plan.Name {
			// Someone took it over: it is not wookie's to delete, and it
			// leaves the inventory.
			ev.Type, ev.Message = "kept", "it no longer carries "+render.LabelCluster+"="+d.plan.Name
			d.emit(ev)
			d.count(func(s *Summary) { s.Kept++ })
			continue
		}
		ev.Type = "pruned"
		if !dryRun {
			if err := d.conn.client.Delete(ctx, live, client.PropagationPolicy("Background")); err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("prune %s: %w", subject(u), err)
			}
		}
		d.emit(ev)
		d.count(func(s *Summary) { s.Pruned++ })
	}
	return kept, nil
}

// count updates the summary.
func (d *clusterDeploy) count(fn func(*Summary)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(d.sum)
}
