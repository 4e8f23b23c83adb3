package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	ssautils "github.com/fluxcd/pkg/ssa/utils"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// A deploy that changes nothing should cost the API server a few lists,
// not a dry run and a read per object. Before a bundle is applied, its
// objects are read with one list per kind and namespace (selected by the
// labels wookie.dev/cluster and wookie.dev/bundle, which render puts on
// every object); an object is up to date, and is neither probed for
// conflicts nor applied, when
//
//   - every field it sets has that value in the live object (so the apply
//     would change no value; drift by another writer shows here), and
//   - every field wookie's field manager owns on the live object (its
//     Apply entry of managedFields, at the same apiVersion) is still one
//     it sets (so the apply would remove nothing).
//
// That is what a server-side apply of the same object would find, so the
// apply would change nothing. The comparison is strict: lists must have the
// same length, element by element; numbers compare by value; a value the
// server normalizes (a quantity "1000m" that reads back "1", stringData of
// a Secret) makes the object look changed, and it is applied as before.
// Anything that cannot be decided (a list fails, a field set cannot be
// read) falls back to applying.

// liveKey is how an object is found among listed ones.
type liveKey struct {
	gk        schema.GroupKind
	namespace string
	name      string
}

func keyOf(u *unstructured.Unstructured) liveKey {
	return liveKey{gk: u.GroupVersionKind().GroupKind(), namespace: u.GetNamespace(), name: u.GetName()}
}

// listLive reads the live objects of objs with one list per kind and
// namespace, selected by the labels the objects carry; objects without
// both labels are not read. A list that fails leaves its objects out
// (they are applied); ctx's end is an error. absent are the objects that
// do not exist at all: where the labelled list misses some, a list of
// the names of every object of that kind and namespace (metadata only)
// tells those that exist without wookie's labels (made by someone else,
// or the namespace deploy created for a chart) from those that do not.
func (d *clusterDeploy) listLive(ctx context.Context, objs []*unstructured.Unstructured) (live map[liveKey]*unstructured.Unstructured, absent map[liveKey]bool, err error) {
	type group struct {
		gvk       schema.GroupVersionKind
		namespace string
		labels    client.MatchingLabels
		objs      []*unstructured.Unstructured
	}
	groups := map[string]*group{}
	var order []string
	for _, o := range objs {
		l := o.GetLabels()
		if l[render.LabelCluster] == "" || l[render.LabelBundle] == "" {
			continue
		}
		id := o.GroupVersionKind().String() + "|" + o.GetNamespace() + "|" + l[render.LabelCluster] + "|" + l[render.LabelBundle]
		g := groups[id]
		if g == nil {
			g = &group{gvk: o.GroupVersionKind(), namespace: o.GetNamespace(), labels: client.MatchingLabels{render.LabelCluster: l[render.LabelCluster], render.LabelBundle: l[render.LabelBundle]}}
			groups[id] = g
			order = append(order, id)
		}
		g.objs = append(g.objs, o)
	}
	live = map[liveKey]*unstructured.Unstructured{}
	absent = map[liveKey]bool{}
	for _, id := range order {
		g := groups[id]
		var opts []client.ListOption
		if g.namespace != "" {
			opts = append(opts, client.InNamespace(g.namespace))
		}
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(g.gvk.GroupVersion().WithKind(g.gvk.Kind + "List"))
		if err := d.conn.client.List(ctx, list, append(opts, g.labels)...); err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			continue
		}
		for i := range list.Items {
			u := &list.Items[i]
			u.SetGroupVersionKind(g.gvk)
			live[keyOf(u)] = u
		}
		var missing []liveKey
		for _, o := range g.objs {
			if k := keyOf(o); live[k] == nil {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			continue
		}
		names := &metav1.PartialObjectMetadataList{}
		names.SetGroupVersionKind(g.gvk.GroupVersion().WithKind(g.gvk.Kind + "List"))
		if err := d.conn.client.List(ctx, names, opts...); err != nil {
			if ctx.Err() != nil {
				return nil, nil, ctx.Err()
			}
			continue
		}
		exists := map[string]bool{}
		for _, m := range names.Items {
			exists[m.Name] = true
		}
		for _, k := range missing {
			if !exists[k.name] {
				absent[k] = true
			}
		}
	}
	return live, absent, nil
}

// markAbsent notes that the object of k did not exist when its bundle
// started: no other field manager can own its fields, so it is neither
// probed for conflicts nor read before it is applied (createAll).
func (d *clusterDeploy) markAbsent(k liveKey) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.absent == nil {
		d.absent = map[liveKey]bool{}
	}
	d.absent[k] = true
}

// isAbsent tells whether o was marked absent.
func (d *clusterDeploy) isAbsent(o *unstructured.Unstructured) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.absent[keyOf(o)]
}

// createAll applies objects that did not exist when their bundle started,
// with a server-side apply each that takes fields over only with
// ForceConflicts (another writer that created one since then makes a
// conflict, as a probe would have found), at most 16 at once. It returns a change set of the objects
// created.
func (d *clusterDeploy) createAll(ctx context.Context, objs []*unstructured.Unstructured) (*ssa.ChangeSet, error) {
	entries := make([]ssa.ChangeSetEntry, len(objs))
	errs := make([]error, len(objs))
	var g errgroup.Group
	g.SetLimit(16)
	for i, o := range objs {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			ssautils.RemoveCABundleFromCRD(o)
			opts := []client.PatchOption{client.FieldOwner(FieldManager)}
			if d.opts.ForceConflicts {
				opts = append(opts, client.ForceOwnership)
			}
			if err := d.conn.client.Patch(ctx, o, client.Apply, opts...); err != nil {
				errs[i] = fmt.Errorf("%s: %w", subject(o), err)
				return nil
			}
			entries[i] = ssa.ChangeSetEntry{ObjMetadata: object.UnstructuredToObjMetadata(o), GroupVersion: o.GetAPIVersion(), Subject: subject(o), Action: ssa.CreatedAction}
			return nil
		})
	}
	g.Wait()
	cs := ssa.NewChangeSet()
	for i, e := range entries {
		if errs[i] == nil && e.Subject != "" {
			cs.Add(e)
		}
	}
	if err := ctx.Err(); err != nil {
		return cs, err
	}
	return cs, errors.Join(errs...)
}

// upToDate tells whether applying desired would leave live as it is (see
// above). live nil is an object that does not exist.
func upToDate(desired, live *unstructured.Unstructured) bool {
	if live == nil || live.GetDeletionTimestamp() != nil {
		return false
	}
	owned, ok := ownedFields(live, desired.GetAPIVersion())
	if !ok {
		return false
	}
	return subset(desired.Object, live.Object, true) && covered(owned, desired.Object)
}

// ownedFields returns the fields wookie's Apply entry of live's
// managedFields owns, when it has one at apiVersion.
func ownedFields(live *unstructured.Unstructured, apiVersion string) (map[string]any, bool) {
	var found map[string]any
	for _, m := range live.GetManagedFields() {
		if m.Manager != FieldManager || m.Subresource != "" {
			continue
		}
		if m.Operation != metav1.ManagedFieldsOperationApply || m.APIVersion != apiVersion || m.FieldsV1 == nil || found != nil {
			return nil, false
		}
		if err := json.Unmarshal(m.FieldsV1.Raw, &found); err != nil {
			return nil, false
		}
	}
	return found, found != nil
}

// Holds tells whether the live object have already holds every field of
// the object want, as subset compares them: applying want again would
// change no value. (deploy --via fleet uses it to leave a Bundle that
// Fleet filled in alone.)
func Holds(want, have map[string]any) bool {
	return subset(want, have, true)
}

// subset tells whether every field want sets has the same value in have:
// maps by key, lists by position and length, scalars by value. A null in
// want matches a field that is absent or null; top says want is the whole
// object, whose metadata.creationTimestamp null (which charts often
// carry) the server ignores.
func subset(want, have any, top bool) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			hv, present := h[k]
			if wv == nil {
				if present && hv != nil {
					return false
				}
				continue
			}
			if top && k == "metadata" {
				if !subsetMeta(wv, hv) {
					return false
				}
				continue
			}
			if !present && isEmpty(wv) {
				continue // the server leaves empty maps and lists out
			}
			if !present || !subset(wv, hv, false) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !subset(w[i], h[i], false) {
				return false
			}
		}
		return true
	default:
		return scalarEqual(want, have)
	}
}

// isEmpty tells whether v is an empty map or list.
func isEmpty(v any) bool {
	switch c := v.(type) {
	case map[string]any:
		return len(c) == 0
	case []any:
		return len(c) == 0
	}
	return false
}

// subsetMeta is subset for metadata, where a null creationTimestamp is
// no field.
func subsetMeta(want, have any) bool {
	w, ok := want.(map[string]any)
	if !ok {
		return subset(want, have, false)
	}
	if ts, ok := w["creationTimestamp"]; ok && ts == nil {
		c := make(map[string]any, len(w))
		for k, v := range w {
			if k != "creationTimestamp" {
				c[k] = v
			}
		}
		w = c
	}
	return subset(w, have, false)
}

// scalarEqual compares two scalars; numbers by value, whatever their Go
// type (YAML gives int64 and float64, JSON int64 and float64 too).
func scalarEqual(a, b any) bool {
	if fa, ok := number(a); ok {
		fb, ok := number(b)
		return ok && fa == fb
	}
	return a == b
}

// number returns a numeric value as float64.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, !math.IsNaN(n)
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// covered tells whether every field of the managed field set fields (the
// fieldsV1 format: f:<name>, k:<key JSON>, v:<value JSON>, i:<index>, and
// "." for the node itself) is set in want.
func covered(fields map[string]any, want any) bool {
	for k, sub := range fields {
		if k == "." {
			continue
		}
		subFields, _ := sub.(map[string]any)
		var next any
		switch {
		case strings.HasPrefix(k, "f:"):
			m, ok := want.(map[string]any)
			if !ok {
				return false
			}
			v, present := m[k[2:]]
			if !present {
				return false
			}
			next = v
		case strings.HasPrefix(k, "k:"):
			var key map[string]any
			if err := json.Unmarshal([]byte(k[2:]), &key); err != nil {
				return false
			}
			next = findElement(want, func(e any) bool { return keyMatch(key, e) })
		case strings.HasPrefix(k, "v:"):
			var val any
			if err := json.Unmarshal([]byte(k[2:]), &val); err != nil {
				return false
			}
			next = findElement(want, func(e any) bool { return subset(val, e, false) && subset(e, val, false) })
		case strings.HasPrefix(k, "i:"):
			i, err := strconv.Atoi(k[2:])
			l, ok := want.([]any)
			if err != nil || !ok || i < 0 || i >= len(l) {
				return false
			}
			next = l[i]
		default:
			return false
		}
		if next == nil {
			return false
		}
		if len(subFields) > 0 && !covered(subFields, next) {
			return false
		}
	}
	return true
}

// keyMatch tells whether the list element e is the one the key of a
// managed field set names: every key field e sets has the key's value,
// and at least one is set. A key field e leaves out is one the server
// defaulted (a port's protocol TCP).
func keyMatch(key map[string]any, e any) bool {
	m, ok := e.(map[string]any)
	if !ok {
		return false
	}
	set := 0
	for k, v := range key {
		ev, present := m[k]
		if !present {
			continue
		}
		if !subset(v, ev, false) || !subset(ev, v, false) {
			return false
		}
		set++
	}
	return set > 0
}

// findElement returns the first element of the list want that match
// accepts, or nil.
func findElement(want any, match func(any) bool) any {
	l, ok := want.([]any)
	if !ok {
		return nil
	}
	for _, e := range l {
		if e != nil && match(e) {
			return e
		}
	}
	return nil
}

// readyFromList judges the readiness of the listed objects as the wait
// would, without reading them again; it reports whether every one is
// ready.
func readyFromList(ctx context.Context, live []*unstructured.Unstructured, rules []plan.Readiness) bool {
	for _, u := range live {
		res, _, err := evaluate(ctx, u, rules)
		if err != nil || res.Status != status.CurrentStatus {
			return false
		}
	}
	return true
}

// freshObject is an object of a bundle that is up to date in the cluster:
// what would be applied, and what was listed.
type freshObject struct {
	desired, live *unstructured.Unstructured
}

// split returns the desired and the live objects of fresh, in order.
func split(fresh []freshObject) (desired, live []*unstructured.Unstructured) {
	desired = make([]*unstructured.Unstructured, len(fresh))
	live = make([]*unstructured.Unstructured, len(fresh))
	for i, f := range fresh {
		desired[i], live[i] = f.desired, f.live
	}
	return desired, live
}

// upToDate splits objs, the copies of u's objects, into those up to date
// in the cluster and the indices of the others. A bundle with Helm hooks
// is not split: whether its hooks run depends on whether any of its
// objects changes, which steps decides by probing them all.
func (d *clusterDeploy) upToDate(ctx context.Context, u *render.Bundle, objs []*unstructured.Unstructured) ([]freshObject, []int, error) {
	all := make([]int, len(objs))
	for i := range objs {
		all[i] = i
	}
	if slices.ContainsFunc(u.Objects, func(o *render.Object) bool { return o.Hook != "" }) {
		return nil, all, nil
	}
	live, absent, err := d.listLive(ctx, objs)
	if err != nil {
		return nil, nil, err
	}
	var fresh []freshObject
	var stale []int
	for i, o := range objs {
		k := keyOf(o)
		l := live[k]
		switch {
		case upToDate(o, l):
			fresh = append(fresh, freshObject{desired: o, live: l})
		case absent[k]:
			d.markAbsent(k)
			stale = append(stale, i)
		default:
			stale = append(stale, i)
		}
	}
	return fresh, stale, nil
}

// applyFresh deploys a bundle some of whose objects are up to date: it
// records those as unchanged, applies the others (objs, the objects of u,
// which lacks the fresh ones) as applySteps does, and waits for the fresh
// ones only when their listed state is not ready.
func (d *clusterDeploy) applyFresh(ctx context.Context, rm *ssa.ResourceManager, ev Event, u *render.Bundle, objs []*unstructured.Unstructured, fresh []freshObject, meta bundleMeta, priority int, start time.Time) (*ssa.ChangeSet, []ObjectState, error) {
	desired, live := split(fresh)
	unchanged := unchangedSet(desired)
	d.record(unchanged, desired, u.Name, priority, meta.prune)
	all := ssa.NewChangeSet()
	all.Append(unchanged.Entries)
	if len(objs) > 0 {
		cs, notReady, err := d.applySteps(ctx, rm, ev, u, objs, meta, priority, start)
		if cs != nil {
			all.Append(cs.Entries)
		}
		if err != nil {
			return all, notReady, err
		}
	}
	rules := withJobRule(meta.readiness)
	if !meta.wait || readyFromList(ctx, live, rules) {
		return all, nil, nil
	}
	err := d.waitReady(ctx, desired, rules, meta.timeout)
	if ctx.Err() != nil {
		return all, nil, ctx.Err()
	}
	if err != nil {
		notReady := d.notReady(ctx, desired, rules)
		return all, notReady, fmt.Errorf("not ready after %s: %s", time.Since(start).Round(100*time.Millisecond), describe(notReady, err))
	}
	return all, nil, nil
}
