package fleet

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"wookie.dev/wookie/internal/deploy"
)

// apply applies every Bundle with server-side apply (field manager
// wookie, taking over conflicting fields: the Bundles are wookie's),
// creating the workspaces that do not exist; a Bundle that before holds
// as wookie would apply it is not sent.
func (s *session) apply(ctx context.Context, before *snapshot, res *Result) error {
	done := map[string]bool{}
	for _, b := range s.bundles {
		if !done[b.Workspace] {
			if err := ensureNamespace(ctx, s.cs, b.Workspace); err != nil {
				return fmt.Errorf("cluster %s: workspace %s: %w", s.mgmt.Name, b.Workspace, err)
			}
			done[b.Workspace] = true
		}
		live := before.bundles[b.Workspace+"/"+b.Name]
		verb := "unchanged"
		if live == nil || !deploy.Holds(b.obj.Object, live.Object) {
			after, err := strictApply(ctx, s.dyn.Resource(bundleGVR).Namespace(b.Workspace), b.obj)
			if err != nil {
				return fmt.Errorf("cluster %s: bundle %s: apply Bundle %s/%s to cluster %s: %w", b.Cluster, b.Bundle, b.Workspace, b.Name, s.mgmt.Name, err)
			}
			switch {
			case live == nil:
				verb = "created"
			case live.GetResourceVersion() != after.GetResourceVersion():
				verb = "configured"
			}
		}
		switch verb {
		case "created":
			res.Created++
		case "configured":
			res.Configured++
		default:
			res.Unchanged++
		}
		s.emit(deploy.Event{Type: "fleet-applied", Cluster: b.Cluster, Batch: b.batch, Bundle: b.Bundle,
			Object: "Bundle " + b.Workspace + "/" + b.Name, Message: verb})
	}
	return nil
}

// strictApply applies obj with server-side apply (field manager wookie,
// taking over conflicting fields) and strict field validation: a field
// that the installed Fleet's CRD schema does not declare is an error
// naming it, not silently pruned. So every deploy checks wookie's own
// Bundle and Cluster structs against the CRDs of the Fleet it talks to.
func strictApply(ctx context.Context, r dynamic.ResourceInterface, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	data, err := obj.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return r.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
		FieldManager: deploy.FieldManager, Force: ptr(true), FieldValidation: "Strict",
	})
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }
