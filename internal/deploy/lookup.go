package deploy

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/errtext"
	"wookie.dev/wookie/internal/render"
)

// liveLookup answers the lookup calls of chart templates (render.Lookup)
// from one cluster, as Helm's lookup does on install or upgrade. It only
// reads: it gets or lists, through a client.Reader. It connects on the
// first call, so a cluster whose charts do not call lookup is not
// reached.
type liveLookup struct {
	cluster string
	connect func() (*conn, error)
}

var _ render.Lookup = (*liveLookup)(nil)

// Lookup returns the object apiVersion/kind namespace/name, or, when name
// is "", the list of those objects in namespace (every namespace when it
// is ""). An object that does not exist is an empty map; a kind the
// cluster does not serve is an error, as in Helm. The namespace of a
// cluster-scoped kind is ignored.
func (l *liveLookup) Lookup(ctx context.Context, apiVersion, kind, namespace, name string) (map[string]any, error) {
	c, err := l.connect()
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", l.cluster, err)
	}
	var r client.Reader = c.client // read-only from here on
	ctx, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	gvk := schema.FromAPIVersionAndKind(apiVersion, kind)
	mapping, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	switch {
	case meta.IsNoMatchError(err):
		return nil, fmt.Errorf("cluster %s does not serve %s %s", l.cluster, apiVersion, kind)
	case err != nil:
		return nil, fmt.Errorf("cluster %s: %s", l.cluster, errtext.OneLine(err.Error()))
	}
	namespaced := mapping.Scope.Name() == meta.RESTScopeNameNamespace
	if !namespaced {
		namespace = ""
	}
	if name == "" {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(gvk.GroupVersion().WithKind(kind + "List"))
		err := r.List(ctx, list, client.InNamespace(namespace))
		switch {
		case apierrors.IsNotFound(err):
			return map[string]any{}, nil
		case err != nil:
			return nil, fmt.Errorf("cluster %s: %s", l.cluster, errtext.OneLine(err.Error()))
		}
		return list.UnstructuredContent(), nil
	}
	if namespaced && namespace == "" {
		// Helm asks for the object at the cluster-wide path, where no
		// namespaced object is found.
		return map[string]any{}, nil
	}
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	err = r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, u)
	switch {
	case apierrors.IsNotFound(err):
		return map[string]any{}, nil
	case err != nil:
		return nil, fmt.Errorf("cluster %s: %s", l.cluster, errtext.OneLine(err.Error()))
	}
	return u.UnstructuredContent(), nil
}

// callsLookup reports whether a bundle of rc was rendered from a chart
// that calls lookup.
func callsLookup(rc *render.Cluster) bool {
	for _, b := range rc.Batches {
		for _, u := range b.Bundles {
			if len(u.Lookups) > 0 {
				return true
			}
		}
	}
	return false
}
