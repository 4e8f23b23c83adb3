package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/pkg/ssa"
	ssautils "github.com/fluxcd/pkg/ssa/utils"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/render"
)

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
	// The objects already as this deploy would make them are left alone:
	// no conflict probe, no apply (see uptodate.go).
	all := objs
	fresh, stale, err := d.upToDate(ctx, u, objs)
	if err != nil {
		return fail(err, nil)
	}
	if len(fresh) > 0 {
		sub := *u
		sub.Objects = nil
		objs = nil
		for _, i := range stale {
			sub.Objects = append(sub.Objects, u.Objects[i])
			objs = append(objs, all[i])
		}
		u = &sub
	}
	if !d.opts.ForceConflicts && len(objs) > 0 {
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
	} else if len(fresh) > 0 {
		var notReady []ObjectState
		if cs, notReady, err = d.applyFresh(ctx, rm, ev, u, objs, fresh, meta, b.Priority, start); err != nil {
			return fail(err, notReady)
		}
	} else {
		// applySteps applies the Helm hooks in Helm's order around the
		// other objects, records what it applies and waits for it.
		var notReady []ObjectState
		if cs, notReady, err = d.applySteps(ctx, rm, ev, u, objs, meta, b.Priority, start); err != nil {
			return fail(err, notReady)
		}
	}
	if d.opts.DryRun && len(fresh) > 0 {
		desired, _ := split(fresh)
		cs.Append(unchangedSet(desired).Entries)
	}
	ev.Created, ev.Configured, ev.Unchanged = countActions(cs)
	ev.Type, ev.Seconds = "done", time.Since(start).Seconds()
	d.emit(ev)
	d.mu.Lock()
	d.sum.Bundles++
	d.sum.Objects += len(all)
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
func (d *clusterDeploy) applyStaged(ctx context.Context, rm *ssa.ResourceManager, objs []*unstructured.Unstructured, interval, timeout time.Duration) (*ssa.ChangeSet, error) {
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
		// Objects that did not exist are created with one request each;
		// the others are read, dry-run and applied by ssa.
		var absent, present []*unstructured.Unstructured
		for _, o := range stage {
			if d.isAbsent(o) {
				absent = append(absent, o)
			} else {
				present = append(present, o)
			}
		}
		cs := ssa.NewChangeSet()
		if len(absent) > 0 {
			created, err := d.createAll(ctx, absent)
			all.Append(created.Entries)
			cs.Append(created.Entries)
			if err != nil {
				return all, err
			}
		}
		if len(present) > 0 {
			applied, err := rm.ApplyAll(ctx, present, opts)
			if applied != nil {
				all.Append(applied.Entries)
				cs.Append(applied.Entries)
			}
			if err != nil {
				return all, err
			}
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
	batch := d.batchOf(bundle)
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, o := range objs {
		e := entryFor(o, bundle, priority, prune)
		e.Batch = batch
		if applied[e.ID] {
			d.applied = append(d.applied, e)
		}
	}
}

// batchOf names the batch of the bundle of name, or "".
func (d *clusterDeploy) batchOf(name string) string {
	for _, b := range d.rendered.Batches {
		if slices.ContainsFunc(b.Bundles, func(u render.Bundle) bool { return u.Name == name }) {
			return b.Name
		}
	}
	return ""
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
