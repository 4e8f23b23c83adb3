package deploy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/render"
)

// Helm's hook annotations, which rendered hooks keep.
const (
	hookAnnotation       = "helm.sh/hook"
	hookDeleteAnnotation = "helm.sh/hook-delete-policy"
)

// Helm's hook delete policies.
const (
	beforeHookCreation = "before-hook-creation"
	hookSucceeded      = "hook-succeeded"
	hookFailed         = "hook-failed"
)

// step is one part of the apply of a bundle: the hooks of one phase and
// weight, or the bundle's other objects.
type step struct {
	// hook says which hooks the step applies, "pre-install hooks of weight
	// -5"; "" for the bundle's other objects.
	hook string
	objs []*unstructured.Unstructured
	// wait says whether the step waits for its objects to be ready before
	// the next starts (hooks always do, as Helm waits for them).
	wait bool
}

// steps orders the apply of the objects of u (objs are their copies, in
// the same order) as Helm orders an install or upgrade: the pre hooks of
// each weight, lowest first, then the bundle's other objects, then the
// post hooks of each weight. It returns the hooks this deploy leaves
// alone too.
//
// Which hooks run is decided as helmfile apply decides whether a release
// is upgraded: when a server-side dry run of the bundle's objects (hooks
// aside, except those that are not deleted when they succeed) shows no
// change, no hook runs. Otherwise the deploy is an install when none of
// the bundle's other objects exists yet (for a bundle of hooks only, none
// of those probed) and an upgrade else, and the hooks whose helm.sh/hook
// names pre- or post-install (or -upgrade) run. A bundle of nothing but
// hooks deleted when they succeed is an install every time.
func (d *clusterDeploy) steps(ctx context.Context, rm *ssa.ResourceManager, u *render.Bundle, objs []*unstructured.Unstructured, wait bool) (steps []step, alone []*unstructured.Unstructured) {
	var others []*unstructured.Unstructured
	var probe []int // the objects that say whether the bundle changes
	for i, o := range u.Objects {
		if o.Hook == "" {
			others = append(others, objs[i])
		}
		if o.Hook == "" || !slices.Contains(hookPolicies(objs[i]), hookSucceeded) {
			probe = append(probe, i)
		}
	}
	if len(others) == len(objs) {
		return []step{{objs: objs, wait: wait}}, nil
	}
	changed, install := len(probe) == 0, true
	for _, i := range probe {
		exists, changes := d.probe(ctx, rm, objs[i])
		changed = changed || changes
		if exists && (u.Objects[i].Hook == "" || len(others) == 0) {
			install = false
		}
	}
	event := "upgrade"
	if install {
		event = "install"
	}
	var pre, post []step
	for i, o := range u.Objects {
		if o.Hook == "" {
			continue
		}
		name := o.Hook + "-" + event
		if !changed || !slices.Contains(hookEvents(objs[i]), name) {
			alone = append(alone, objs[i])
			continue
		}
		what := fmt.Sprintf("%s hooks of weight %d", name, o.HookWeight)
		list := &pre
		if o.Hook == "post" {
			list = &post
		}
		if n := len(*list); n > 0 && (*list)[n-1].hook == what {
			(*list)[n-1].objs = append((*list)[n-1].objs, objs[i])
		} else {
			*list = append(*list, step{hook: what, objs: []*unstructured.Unstructured{objs[i]}, wait: true})
		}
	}
	steps = pre
	if len(others) > 0 {
		steps = append(steps, step{objs: others, wait: wait})
	}
	return append(steps, post...), alone
}

// applySteps applies objs, the copies of the objects of u, step by step
// (see steps), recording what it applies in the inventory; a step that
// waits is ready before the next starts. Before the hooks of a step are
// applied, those of them that exist and whose delete policy is
// before-hook-creation are deleted, and the deploy waits until they are
// gone; once the hooks are ready, a hook event is emitted and those whose
// policy is hook-succeeded are deleted; when they are not ready, those
// whose policy is hook-failed are. It returns the change set of every
// object of the bundle (the hooks left alone as unchanged) and, when a
// step is not ready, what is not.
func (d *clusterDeploy) applySteps(ctx context.Context, rm *ssa.ResourceManager, ev Event, u *render.Bundle, objs []*unstructured.Unstructured, meta bundleMeta, priority int, start time.Time) (*ssa.ChangeSet, []ObjectState, error) {
	steps, alone := d.steps(ctx, rm, u, objs, meta.wait)
	all := unchangedSet(alone)
	d.record(all, objs, u.Name, priority, meta.prune)
	for _, st := range steps {
		began := time.Now()
		where := ""
		if st.hook != "" {
			where = st.hook + ": "
			if err := d.deleteHooks(ctx, st.objs, beforeHookCreation, true, meta.timeout); err != nil {
				return all, nil, fmt.Errorf("%s%w", where, err)
			}
		}
		cs, err := d.applyStaged(ctx, rm, st.objs, d.interval(), meta.timeout)
		if cs != nil {
			all.Append(cs.Entries)
			d.record(cs, objs, u.Name, priority, meta.prune)
		}
		if err != nil {
			return all, nil, fmt.Errorf("%s%w", where, applyError(err))
		}
		if st.wait {
			err := d.waitReady(ctx, st.objs, withJobRule(meta.readiness), meta.timeout)
			if ctx.Err() != nil {
				return all, nil, ctx.Err()
			}
			if err != nil {
				notReady := d.notReady(ctx, st.objs, withJobRule(meta.readiness))
				err = fmt.Errorf("%snot ready after %s: %s", where, time.Since(start).Round(100*time.Millisecond), describe(notReady, err))
				if st.hook != "" {
					err = errors.Join(err, d.deleteHooks(ctx, st.objs, hookFailed, false, 0))
				}
				return all, notReady, err
			}
		}
		if st.hook == "" {
			continue
		}
		var names []string
		for _, o := range st.objs {
			names = append(names, subject(o))
		}
		e := ev
		e.Type, e.Objects, e.Seconds = "hook", len(st.objs), time.Since(began).Seconds()
		e.Message = st.hook + " ready (" + strings.Join(names, ", ") + ")"
		e.Created, e.Configured, e.Unchanged = countActions(cs)
		d.emit(e)
		if err := d.deleteHooks(ctx, st.objs, hookSucceeded, false, 0); err != nil {
			return all, nil, fmt.Errorf("%s%w", where, err)
		}
	}
	return all, nil, nil
}

// countActions counts the objects of cs created, configured and unchanged.
func countActions(cs *ssa.ChangeSet) (created, configured, unchanged int) {
	for _, e := range cs.Entries {
		switch e.Action {
		case ssa.CreatedAction:
			created++
		case ssa.ConfiguredAction:
			configured++
		case ssa.UnchangedAction:
			unchanged++
		}
	}
	return created, configured, unchanged
}

// probe says whether o exists and whether applying it would change it,
// by a server-side dry run. When the dry run fails, o exists unless
// reading it says it does not (its namespace or kind may not exist yet),
// and it changes.
func (d *clusterDeploy) probe(ctx context.Context, rm *ssa.ResourceManager, o *unstructured.Unstructured) (exists, changes bool) {
	e, _, _, err := rm.Diff(ctx, o.DeepCopy(), ssa.DefaultDiffOptions())
	if err == nil {
		return e.Action != ssa.CreatedAction, e.Action != ssa.UnchangedAction && e.Action != ssa.SkippedAction
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(o.GroupVersionKind())
	err = d.conn.client.Get(ctx, client.ObjectKeyFromObject(o), live)
	return !apierrors.IsNotFound(err) && !meta.IsNoMatchError(err), true
}

// hookEvents returns the events of a hook (helm.sh/hook).
func hookEvents(o *unstructured.Unstructured) []string {
	return annotationList(o, hookAnnotation)
}

// hookPolicies returns the delete policies of a hook
// (helm.sh/hook-delete-policy); before-hook-creation when it names none,
// as in Helm.
func hookPolicies(o *unstructured.Unstructured) []string {
	if p := annotationList(o, hookDeleteAnnotation); len(p) > 0 {
		return p
	}
	return []string{beforeHookCreation}
}

// annotationList splits a comma-separated annotation of o.
func annotationList(o *unstructured.Unstructured, key string) []string {
	var out []string
	for _, s := range strings.Split(o.GetAnnotations()[key], ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// deleteHooks deletes the hooks of objs whose delete policies include
// policy, with background propagation, as Helm does; with wait, until
// they are gone, for at most timeout.
func (d *clusterDeploy) deleteHooks(ctx context.Context, objs []*unstructured.Unstructured, policy string, wait bool, timeout time.Duration) error {
	for _, o := range objs {
		if !slices.Contains(hookPolicies(o), policy) {
			continue
		}
		err := d.conn.client.Delete(ctx, o.DeepCopy(), client.PropagationPolicy(metav1.DeletePropagationBackground))
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return fmt.Errorf("delete hook %s (%s): %w", subject(o), policy, err)
		}
		if !wait {
			continue
		}
		deadline := time.Now().Add(timeout)
		for {
			live := &unstructured.Unstructured{}
			live.SetGroupVersionKind(o.GroupVersionKind())
			err := d.conn.client.Get(ctx, client.ObjectKeyFromObject(o), live)
			if apierrors.IsNotFound(err) {
				break
			}
			if err != nil {
				return fmt.Errorf("delete hook %s (%s): %w", subject(o), policy, err)
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("delete hook %s (%s): still there after %s", subject(o), policy, timeout)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d.interval()):
			}
		}
	}
	return nil
}

// unchangedSet is a change set that lists objs as unchanged.
func unchangedSet(objs []*unstructured.Unstructured) *ssa.ChangeSet {
	cs := ssa.NewChangeSet()
	for _, o := range objs {
		cs.Add(ssa.ChangeSetEntry{ObjMetadata: object.UnstructuredToObjMetadata(o), GroupVersion: o.GetAPIVersion(), Subject: subject(o), Action: ssa.UnchangedAction})
	}
	return cs
}
