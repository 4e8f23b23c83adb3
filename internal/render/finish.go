package render

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wookie.dev/wookie/internal/plan"
)

func unstructuredString(o *Object, fields ...string) (string, bool, error) {
	return unstructured.NestedString(o.Object, fields...)
}

// finish gives every object of the cluster the bundle's namespace where it
// is namespaced and has none, wookie's labels, its place in apply order,
// and checks that no object comes from two bundles.
func finish(out *Cluster, pc *plan.Cluster, api *KubeAPI, index map[string]*work, allowUnknown bool) error {
	// Scopes of the kinds the Plan's CRDs define.
	crdScopes := map[string]bool{}
	for _, b := range out.Batches {
		for _, u := range b.Bundles {
			for _, o := range u.Objects {
				if gk, namespaced, ok := crdScope(o); ok {
					crdScopes[gk] = namespaced
				}
			}
		}
	}
	type origin struct {
		bundle string
		hook   bool
	}
	seen := map[string]origin{}
	for bi := range out.Batches {
		for ui := range out.Batches[bi].Bundles {
			u := &out.Batches[bi].Bundles[ui]
			var declared map[string]string
			if w := index[u.Name]; w != nil {
				declared = w.bundle.ResourceScopes
			}
			for _, o := range u.Objects {
				namespaced, err := scopeOf(o, api, crdScopes, pc, declared)
				switch {
				case errors.As(err, new(*unknownKindError)) && allowUnknown:
					// Kept as written, for wookie check to report.
					namespaced = o.GetNamespace() != ""
				case err != nil:
					return fmt.Errorf("bundle %s: %w", u.Name, err)
				}
				switch {
				case namespaced && o.GetNamespace() == "":
					o.SetNamespace(u.Namespace)
				case !namespaced && o.GetNamespace() != "":
					// Charts often template a namespace onto ClusterRoles;
					// the API server ignores it, and so must deploy's
					// inventory and namespace handling.
					o.SetNamespace("")
				}
				setLabels(o, out.Name, u.Name)
				id := o.ID()
				if !namespaced {
					id = idWithoutNamespace(o)
				}
				prev, dup := seen[id]
				switch {
				case dup && prev.bundle != u.Name:
					return fmt.Errorf("%s is produced by bundles %s and %s", id, prev.bundle, u.Name)
				case dup && !prev.hook && o.Hook == "":
					return fmt.Errorf("bundle %s: %s is produced twice (%s)", u.Name, id, o.Source)
				}
				// A hook and an ordinary template of one chart may make the
				// same object (a ServiceAccount for a pre-install Job, say):
				// both are applied, in order.
				seen[id] = origin{bundle: u.Name, hook: o.Hook != "" && (!dup || prev.hook)}
			}
			sortObjects(u.Objects)
			for _, o := range u.Tests {
				namespaced, err := scopeOf(o, api, crdScopes, pc, declared)
				if err != nil {
					namespaced = o.GetNamespace() != "" || o.GetKind() == "Pod"
				}
				if namespaced && o.GetNamespace() == "" {
					o.SetNamespace(u.Namespace)
				}
				setLabels(o, out.Name, u.Name)
			}
		}
	}
	return nil
}

// setLabels gives o wookie's labels: its cluster and bundle.
func setLabels(o *Object, cluster, bundle string) {
	labels := o.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelCluster] = cluster
	labels[LabelBundle] = bundle
	o.SetLabels(labels)
}

// idWithoutNamespace identifies a cluster-scoped object.
func idWithoutNamespace(o *Object) string {
	gvk := o.GroupVersionKind()
	id := gvk.Kind
	if gvk.Group != "" {
		id += "." + gvk.Group
	}
	return id + " " + o.GetName()
}

// unknownKindError is scopeOf's error for a kind nothing declares.
type unknownKindError struct{ msg string }

func (e *unknownKindError) Error() string { return e.msg }

// scopeOf tells whether o is namespaced: from the built-in kinds of the
// cluster's Kubernetes version, the CRDs of the Plan, the kinds the
// cluster provides, or the bundle's resourceScopes, in that order.
func scopeOf(o *Object, api *KubeAPI, crdScopes map[string]bool, pc *plan.Cluster, declared map[string]string) (bool, error) {
	if namespaced, known := api.Namespaced(o.GetAPIVersion(), o.GetKind()); known {
		return namespaced, nil
	}
	gvk := o.GroupVersionKind()
	gk := gvk.Kind + "." + gvk.Group
	if namespaced, ok := crdScopes[gk]; ok {
		return namespaced, nil
	}
	scope := declared[gk]
	if pc.Provides != nil && pc.Provides.Kinds[gk] != "" {
		scope = pc.Provides.Kinds[gk]
	}
	switch scope {
	case plan.ScopeNamespaced:
		return true, nil
	case plan.ScopeCluster:
		return false, nil
	}
	return false, &unknownKindError{fmt.Sprintf("%s %s (%s, from %s): unknown kind: Kubernetes %s does not serve %s and no CRD in the Plan defines it; declare it in the cluster's provides.kinds or the bundle's resourceScopes (%q: Namespaced or Cluster)",
		gvk.Kind, o.GetName(), o.GetAPIVersion(), o.Source, pc.KubeVersion, o.GetAPIVersion(), gk)}
}
