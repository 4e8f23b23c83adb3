package deploy

import (
	"context"
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/ssa"
	"github.com/pmezard/go-difflib/difflib"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// Change is one object an apply would change.
type Change struct {
	Cluster string `json:"cluster"`
	Bundle  string `json:"bundle,omitempty"`
	Object  string `json:"object"`
	// Action is create, configure, prune or keep (a protected object that
	// left the Plan).
	Action string `json:"action"`
	// Diff is a unified diff of the live object and the object after the
	// apply (a server-side dry run), Secret data masked.
	Diff string `json:"diff,omitempty"`
}

// Diff compares every object of r, rendered from p, with the live clusters
// through server-side dry runs, and lists what an apply (and, with
// opts.Prune, a prune) would change. It changes nothing.
//
// The inputs of a cluster are read once from the live clusters they come
// from, without waiting; an input without a value keeps its reference and
// is reported by a warning event to opts.OnEvent. Such a cluster is
// rendered with opts.Render, as are the clusters r lacks.
func Diff(ctx context.Context, p *plan.Plan, r *render.Result, opts Options) ([]Change, error) {
	f, err := newFleet(p, r, opts)
	if err != nil {
		return nil, err
	}
	var out []Change
	for _, sel := range f.selected() {
		pc, rc, err := f.prepare(ctx, sel, false)
		if err != nil {
			return nil, inCluster(sel.Name, err)
		}
		changes, err := diffCluster(ctx, pc, rc, f.targets[pc.Name], opts)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", pc.Name, err)
		}
		out = append(out, changes...)
	}
	return out, nil
}

func diffCluster(ctx context.Context, pc *plan.Cluster, rc *render.Cluster, t Target, opts Options) ([]Change, error) {
	c, err := connect(t)
	if err != nil {
		return nil, err
	}
	rm := c.manager(nil)
	var out []Change
	present := map[string]bool{}
	for _, b := range rc.Batches {
		for _, u := range b.Bundles {
			for _, o := range u.Objects {
				obj := o.Unstructured.DeepCopy()
				present[entryFor(obj, "", 0, false).ID] = true
				entry, live, merged, err := rm.Diff(ctx, obj, ssa.DefaultDiffOptions())
				if err != nil {
					return nil, fmt.Errorf("bundle %s: %s: %s", u.Name, subject(obj), strings.Join(strings.Fields(err.Error()), " "))
				}
				ch := Change{Cluster: pc.Name, Bundle: u.Name, Object: subject(obj)}
				switch entry.Action {
				case ssa.CreatedAction:
					ch.Action = "create"
					ch.Diff, err = unified(nil, masked(obj), ch.Object)
				case ssa.ConfiguredAction:
					ch.Action = "configure"
					ch.Diff, err = unified(live, merged, ch.Object)
				default:
					continue
				}
				if err != nil {
					return nil, err
				}
				out = append(out, ch)
			}
		}
	}
	if !opts.Prune {
		return out, nil
	}
	inv, err := loadInventory(ctx, c.client, pc.Name)
	if err != nil {
		return nil, err
	}
	for _, e := range inv.Entries {
		if present[e.ID] {
			continue
		}
		u, err := e.object()
		if err != nil {
			return nil, err
		}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(u.GroupVersionKind())
		if err := c.client.Get(ctx, client.ObjectKeyFromObject(u), live); err != nil {
			continue
		}
		gk := schema.FromAPIVersionAndKind(e.Version, u.GetKind()).GroupKind()
		action := "prune"
		if protected(gk.Kind, gk.Group) && !e.Prune {
			action = "keep"
		}
		out = append(out, Change{Cluster: pc.Name, Bundle: e.Bundle, Object: subject(u), Action: action})
	}
	return out, nil
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
