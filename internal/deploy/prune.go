package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/render"
)

// keptMessage says why prune keeps a protected kind.
const keptMessage = "CRDs, Namespaces and PersistentVolumeClaims are kept unless their bundle says prune: true"

// prune deletes the objects of the inventory that this deploy did not
// apply (with dryRun, that the Plan does not have): in reverse batch
// order, only objects that exist and still carry wookie's cluster label,
// keeping CRDs, Namespaces and PersistentVolumeClaims unless their bundle
// allowed it. Deleting a CRD deletes its custom resources; its pruned
// event names them. It emits a pruned or kept event per object and
// returns the entries it kept, which stay in the inventory; an object
// that no longer exists, or no longer carries the label, leaves it. With
// dryRun it deletes nothing. With a selection it looks only at the
// entries of the part picked (inScope).
//
// An object that cannot be read or deleted does not stop the others; the
// error names each, with its bundle, and its entry is kept. When ctx ends,
// the entries not looked at yet are kept too.
func (d *clusterDeploy) prune(ctx context.Context, inv *Inventory, dryRun bool) ([]InventoryEntry, error) {
	current := map[string]bool{}
	for _, e := range d.applied {
		current[e.ID] = true
	}
	// What the Plan still has is never pruned: in a dry run nothing was
	// applied, and a selection applies only part of it.
	if dryRun || d.picked != nil {
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
		if !current[e.ID] && d.inScope(e) {
			stale = append(stale, e)
		}
	}
	slices.SortStableFunc(stale, func(a, b InventoryEntry) int { return b.Priority - a.Priority })
	var kept []InventoryEntry
	var errs []error
	pruned := map[string]bool{} // IDs, for the custom resources of a CRD
	for i, e := range stale {
		if err := ctx.Err(); err != nil {
			// What was not looked at stays too.
			return append(kept, stale[i:]...), err
		}
		u, err := e.object()
		if err != nil {
			errs = append(errs, fmt.Errorf("prune: bundle %s: %w", e.Bundle, err))
			kept = append(kept, e)
			continue
		}
		fail := func(err error) {
			errs = append(errs, fmt.Errorf("prune: bundle %s: %s: %w", e.Bundle, subject(u), err))
			kept = append(kept, e)
		}
		ev := Event{Cluster: d.plan.Name, Bundle: e.Bundle, Object: subject(u)}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		err = d.conn.client.Get(ctx, client.ObjectKeyFromObject(u), live)
		switch {
		case apierrors.IsNotFound(err):
			continue // gone already
		case meta.IsNoMatchError(err):
			continue // its kind is gone with its CRD
		case err != nil:
			fail(err)
			continue
		}
		gk := schema.FromAPIVersionAndKind(e.Version, u.GetKind()).GroupKind()
		if protected(gk.Kind, gk.Group) && !e.Prune {
			ev.Type, ev.Message = "kept", keptMessage
			d.emit(ev)
			kept = append(kept, e)
			d.count(func(s *Summary) { s.Kept++ })
			continue
		}
		if live.GetLabels()[render.LabelCluster] != d.plan.Name {
			// Someone took it over: it is not wookie's to delete, and it
			// leaves the inventory.
			ev.Type, ev.Message = "kept", "it no longer carries "+render.LabelCluster+"="+d.plan.Name
			d.emit(ev)
			d.count(func(s *Summary) { s.Kept++ })
			continue
		}
		if gk == (schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}) {
			if ev.Message, err = d.cascade(ctx, live, pruned); err != nil {
				fail(err)
				continue
			}
		}
		if !dryRun {
			if err := d.conn.client.Delete(ctx, live, client.PropagationPolicy("Background")); err != nil && !apierrors.IsNotFound(err) {
				fail(err)
				continue
			}
		}
		pruned[e.ID] = true
		ev.Type = "pruned"
		d.emit(ev)
		d.count(func(s *Summary) { s.Pruned++ })
	}
	return kept, errors.Join(errs...)
}

// cascadeNames bounds the custom resources a pruned CRD's event names.
const cascadeNames = 10

// cascade says which custom resources deleting crd deletes with it,
// leaving out those this prune deleted before (IDs in pruned); "" when
// none.
func (d *clusterDeploy) cascade(ctx context.Context, crd *unstructured.Unstructured, pruned map[string]bool) (string, error) {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	version := ""
	for _, v := range versions {
		m, _ := v.(map[string]any)
		if name, _ := m["name"].(string); name != "" && (version == "" || m["storage"] == true) {
			version = name
		}
	}
	if kind == "" || version == "" {
		return "", nil
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(schema.GroupVersionKind{Group: group, Version: version, Kind: kind + "List"})
	err := d.conn.client.List(ctx, list)
	if meta.IsNoMatchError(err) {
		return "", nil // not served: there are none
	}
	if err != nil {
		return "", fmt.Errorf("list its custom resources: %w", err)
	}
	var names []string
	for i := range list.Items {
		o := &list.Items[i]
		o.SetGroupVersionKind(schema.GroupVersionKind{Group: group, Version: version, Kind: kind})
		if !pruned[entryFor(o, "", 0, false).ID] {
			names = append(names, subject(o))
		}
	}
	if len(names) == 0 {
		return "", nil
	}
	slices.Sort(names)
	n := len(names)
	if n > cascadeNames {
		names = append(names[:cascadeNames], fmt.Sprintf("and %d more", n-cascadeNames))
	}
	return fmt.Sprintf("deleting it deletes its %d custom resources (%s) too: %s", n, kind, strings.Join(names, ", ")), nil
}

// count updates the summary.
func (d *clusterDeploy) count(fn func(*Summary)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fn(d.sum)
}
