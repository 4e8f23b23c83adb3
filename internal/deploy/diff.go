package deploy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	ssautils "github.com/fluxcd/pkg/ssa/utils"
	"github.com/pmezard/go-difflib/difflib"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// Change is one thing a deploy would do to one object.
type Change struct {
	Cluster string `json:"cluster"`
	Batch   string `json:"batch,omitempty"`
	Bundle  string `json:"bundle,omitempty"`
	Object  string `json:"object"`
	// Action is what the deploy would do: create or configure an object
	// of the Plan; namespace, create a namespace that objects go to and no
	// bundle creates (as helm install --create-namespace does); conflict,
	// refuse the bundle because another field manager owns fields of the
	// object (unless Options.ForceConflicts); prune, delete an object
	// that left the Plan; or keep one that left the Plan, which is no
	// change: the deploy leaves it alone.
	Action string `json:"action"`
	// Message says more: the managers and fields of a conflict, why an
	// object is kept, the custom resources that go with a pruned CRD, why
	// the server could not check an object.
	Message string `json:"message,omitempty"`
	// Unvalidated is set on an object to create that the server could not
	// check: its namespace or its kind does not exist until the deploy
	// creates it. Its Diff is then the object as rendered, without the
	// defaults the server would add.
	Unvalidated bool `json:"unvalidated,omitempty"`
	// Diff is a unified diff of the live object and the object after the
	// apply (a server-side dry run), Secret data masked.
	Diff string `json:"diff,omitempty"`
}

// Diff says what Deploy of r, rendered from p, with opts (and
// opts.DryRun, which it implies) would do, without doing it: it is that
// dry run, through the same code, and lists every change, cluster by
// cluster in Plan order, each cluster's objects in batch order and then
// what it would prune (with opts.Prune) in the order it would. A cluster
// that has nothing yet is previewed as its first deploy: objects whose
// namespace or CRD the deploy creates first cannot be checked by the
// server and are marked Unvalidated.
//
// Conflicts with other field managers are changes, not errors: after one,
// Diff goes on as a deploy with opts.ForceConflicts would, where the
// deploy stops. The inputs of a cluster are read once from the live
// clusters they come from, without waiting; an input without a value
// keeps its reference and is reported by a warning event to
// opts.OnEvent. Any error (an object the server refuses, an object to
// prune that cannot be read) is returned with the changes found.
func Diff(ctx context.Context, p *plan.Plan, r *render.Result, opts Options) ([]Change, error) {
	log := &changeLog{p: p}
	opts.DryRun = true
	opts.diff = log
	next := opts.OnEvent
	opts.OnEvent = func(e Event) {
		log.event(e)
		if next != nil {
			next(e)
		}
	}
	f, err := newFleet(p, r, opts)
	if err != nil {
		return nil, err
	}
	_, err = f.deploy(ctx)
	return log.sorted(), err
}

// changeLog collects the changes of a dry run for Diff.
type changeLog struct {
	p *plan.Plan

	mu      sync.Mutex
	changes []logged
}

// logged is a change and its place in Diff's order.
type logged struct {
	Change
	// cluster and batch are positions in the Plan; phase is 0 for apply,
	// 1 for prune; object is the position in the bundle (-1 for the
	// bundle's namespace); seq is the order of arrival.
	cluster, phase, batch, object, seq int
}

// add records c, the change of object (its position in its bundle, -1
// for none) in the apply phase or, with prune, in the prune phase.
func (l *changeLog) add(c Change, object int, prune bool) {
	if l == nil {
		return
	}
	e := logged{Change: c, object: object}
	e.cluster = slices.IndexFunc(l.p.Clusters, func(pc plan.Cluster) bool { return pc.Name == c.Cluster })
	if e.cluster >= 0 {
		e.batch = slices.IndexFunc(l.p.Clusters[e.cluster].Batches, func(b plan.Batch) bool { return b.Name == c.Batch })
	}
	if prune {
		e.phase = 1
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e.seq = len(l.changes)
	l.changes = append(l.changes, e)
}

// event records the changes that deploy reports as events: the
// namespaces it creates, and what it prunes and keeps.
func (l *changeLog) event(e Event) {
	c := Change{Cluster: e.Cluster, Batch: e.Batch, Bundle: e.Bundle, Object: e.Object, Message: e.Message}
	switch e.Type {
	case "namespace":
		c.Action = "namespace"
		l.add(c, -1, false)
	case "pruned":
		c.Action = "prune"
		l.add(c, 0, true)
	case "kept":
		c.Action = "keep"
		l.add(c, 0, true)
	}
}

// sorted returns the changes in Diff's order.
func (l *changeLog) sorted() []Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.SortFunc(l.changes, func(a, b logged) int {
		if c := cmp.Or(cmp.Compare(a.cluster, b.cluster), cmp.Compare(a.phase, b.phase)); c != 0 || a.phase == 1 {
			return cmp.Or(c, cmp.Compare(a.seq, b.seq))
		}
		return cmp.Or(cmp.Compare(a.batch, b.batch), strings.Compare(a.Bundle, b.Bundle), cmp.Compare(a.object, b.object), cmp.Compare(a.seq, b.seq))
	})
	var out []Change
	for _, e := range l.changes {
		out = append(out, e.Change)
	}
	return out
}

// preview is the dry run of bundle u of batch b: it sends its objects as
// server-side dry runs, in the order applyStaged applies them, and
// returns what the apply would do and the objects the server could not
// check, those whose namespace or kind (CRD) this deploy creates first,
// which count as created. An object of a kind that neither the cluster
// serves nor a CRD applied before it defines is an error, as it is for
// the apply. In Diff, it records each change.
func (d *clusterDeploy) preview(ctx context.Context, rm *ssa.ResourceManager, b *render.Batch, u *render.Bundle, objs []*unstructured.Unstructured) (*ssa.ChangeSet, []string, error) {
	cs := ssa.NewChangeSet()
	var unvalidated []string
	for _, i := range stagedOrder(objs) {
		o := objs[i]
		why, kindMissing, err := d.gap(ctx, o)
		if err != nil {
			return cs, unvalidated, err
		}
		if kindMissing && !d.dry.hasKind(o.GroupVersionKind().GroupKind()) {
			return cs, unvalidated, fmt.Errorf("%s: %s, and no CRD applied before it defines it", subject(o), why)
		}
		var e *ssa.ChangeSetEntry
		var live, merged *unstructured.Unstructured
		if why != "" {
			e = &ssa.ChangeSetEntry{ObjMetadata: object.UnstructuredToObjMetadata(o), GroupVersion: o.GetAPIVersion(), Subject: subject(o), Action: ssa.CreatedAction}
		} else if e, live, merged, err = rm.Diff(ctx, o, ssa.DefaultDiffOptions()); err != nil {
			return cs, unvalidated, err
		}
		ch := Change{Cluster: d.plan.Name, Batch: b.Name, Bundle: u.Name, Object: subject(o)}
		if e.Action == ssa.CreatedAction && !d.dry.made(o) {
			// A Namespace that the deploy has created by then, for the
			// objects of an earlier bundle: the apply configures it.
			e.Action = ssa.ConfiguredAction
			ch.Message = "created earlier by this deploy as a missing release namespace"
			live, merged = nil, masked(o)
		}
		cs.Add(*e)
		switch {
		case why != "":
			unvalidated = append(unvalidated, subject(o))
			ch.Action, ch.Message, ch.Unvalidated = "create", "not validated by the server: "+why, true
			ch.Diff, err = unified(nil, masked(o), ch.Object)
		case e.Action == ssa.CreatedAction:
			ch.Action = "create"
			ch.Diff, err = unified(nil, masked(o), ch.Object)
		case e.Action == ssa.ConfiguredAction:
			ch.Action = "configure"
			ch.Diff, err = unified(live, merged, ch.Object)
		default:
			continue
		}
		if err != nil {
			return cs, unvalidated, err
		}
		d.opts.diff.add(ch, i, false)
	}
	return cs, unvalidated, nil
}

// stagedOrder returns the positions of objs in the order applyStaged
// applies them: CRDs, Namespaces and ClusterRoles, then class
// definitions, then the rest.
func stagedOrder(objs []*unstructured.Unstructured) []int {
	var stages [3][]int
	for i, o := range objs {
		switch {
		case ssautils.IsClusterDefinition(o):
			stages[0] = append(stages[0], i)
		case ssautils.IsClassDefinition(o):
			stages[1] = append(stages[1], i)
		default:
			stages[2] = append(stages[2], i)
		}
	}
	return slices.Concat(stages[:]...)
}

// gap says why the server cannot check o now, or "" when it can: its kind
// is not served (kindMissing), or it is namespaced and its namespace does
// not exist. In a dry run, a namespace or kind that the deploy would have
// created by then says so.
func (d *clusterDeploy) gap(ctx context.Context, o *unstructured.Unstructured) (why string, kindMissing bool, err error) {
	gvk := o.GroupVersionKind()
	mapping, err := d.conn.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	switch {
	case meta.IsNoMatchError(err):
		if d.dry.hasKind(gvk.GroupKind()) {
			return "its CRD is created by this deploy first", true, nil
		}
		return "the cluster does not serve " + o.GetAPIVersion() + " " + o.GetKind(), true, nil
	case err != nil:
		return "", false, fmt.Errorf("%s: %w", subject(o), err)
	}
	ns := o.GetNamespace()
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace || ns == "" {
		return "", false, nil
	}
	if d.dry.hasNamespace(ns) {
		return "namespace " + ns + " is created by this deploy first", false, nil
	}
	var live corev1.Namespace
	err = d.conn.client.Get(ctx, client.ObjectKey{Name: ns}, &live)
	switch {
	case err == nil:
		return "", false, nil
	case apierrors.IsNotFound(err):
		return "namespace " + ns + " does not exist", false, nil
	default:
		return "", false, fmt.Errorf("%s: namespace %s: %w", subject(o), ns, err)
	}
}

// dryState is what a dry run would have created by now that the cluster
// does not have: namespaces, and the kinds of CRDs. The server cannot
// check objects in them. The zero value is empty.
type dryState struct {
	mu         sync.Mutex
	namespaces map[string]bool
	kinds      map[schema.GroupKind]bool
}

// made records o, created by the dry run, when it is a Namespace or a
// CRD; it reports false when the dry run had created that namespace
// already.
func (s *dryState) made(o *unstructured.Unstructured) bool {
	gk := o.GroupVersionKind().GroupKind()
	switch {
	case gk == schema.GroupKind{Kind: "Namespace"}:
		return s.makeNamespace(o.GetName())
	case gk == schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.kinds == nil {
			s.kinds = map[schema.GroupKind]bool{}
		}
		s.kinds[schema.GroupKind{Group: group, Kind: kind}] = true
	}
	return true
}

// makeNamespace records that the dry run creates namespace ns; it reports
// false when it had already.
func (s *dryState) makeNamespace(ns string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.namespaces[ns] {
		return false
	}
	if s.namespaces == nil {
		s.namespaces = map[string]bool{}
	}
	s.namespaces[ns] = true
	return true
}

func (s *dryState) hasNamespace(ns string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.namespaces[ns]
}

func (s *dryState) hasKind(gk schema.GroupKind) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kinds[gk]
}

// refuseConflicts fails when another field manager owns fields of objs,
// bundle u of batch b (see conflicts). In Diff a conflict is a change
// instead: it is recorded, and the deploy goes on.
func (d *clusterDeploy) refuseConflicts(ctx context.Context, b *render.Batch, u *render.Bundle, objs []*unstructured.Unstructured) error {
	err := d.conflicts(ctx, objs)
	var ce *ConflictError
	if d.opts.diff == nil || !errors.As(err, &ce) {
		return err
	}
	for _, c := range ce.Conflicts {
		name, msg, _ := strings.Cut(c, ": ")
		i := slices.IndexFunc(objs, func(o *unstructured.Unstructured) bool { return subject(o) == name })
		d.opts.diff.add(Change{Cluster: d.plan.Name, Batch: b.Name, Bundle: u.Name, Object: name, Action: "conflict", Message: msg}, i, false)
	}
	return nil
}

// masked returns a copy of a new object with Secret values hidden.
func masked(o *unstructured.Unstructured) *unstructured.Unstructured {
	if o.GetKind() != "Secret" || o.GroupVersionKind().Group != "" {
		return o
	}
	m := o.DeepCopy()
	for _, field := range []string{"data", "stringData"} {
		values, ok, _ := unstructured.NestedMap(m.Object, field)
		if !ok {
			continue
		}
		for k := range values {
			values[k] = "*** (masked)"
		}
		_ = unstructured.SetNestedMap(m.Object, values, field)
	}
	return m
}

// unified diffs two objects as YAML.
func unified(a, b *unstructured.Unstructured, name string) (string, error) {
	text := func(u *unstructured.Unstructured) (string, error) {
		if u == nil {
			return "", nil
		}
		c := u.DeepCopy()
		unstructured.RemoveNestedField(c.Object, "metadata", "managedFields")
		data, err := yaml.Marshal(c.Object)
		return string(data), err
	}
	at, err := text(a)
	if err != nil {
		return "", err
	}
	bt, err := text(b)
	if err != nil {
		return "", err
	}
	return difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: difflib.SplitLines(at), B: difflib.SplitLines(bt),
		FromFile: "live/" + name, ToFile: "wookie/" + name, Context: 3,
	})
}
