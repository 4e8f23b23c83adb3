package fleet

import (
	"context"
	"fmt"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/emit"
)

// stale lists the Bundles of snap that are not among s.bundles: with
// --cluster, those of the clusters named; without, those of any cluster,
// including clusters that left the Plan or Fleet's downstream.
func (s *session) stale(snap *snapshot) []*unstructured.Unstructured {
	keep := map[string]bool{}
	for _, b := range s.bundles {
		keep[b.Workspace+"/"+b.Name] = true
	}
	var out []*unstructured.Unstructured
	for _, k := range sortedKeys(snap.bundles) {
		o := snap.bundles[k]
		if keep[k] || len(s.opts.Clusters) > 0 && !slices.Contains(s.scope, o.GetLabels()[clusterLabel]) {
			continue
		}
		out = append(out, o)
	}
	return out
}

// snapshot is what the management cluster holds of this configuration's
// Bundles at one moment.
type snapshot struct {
	// bundles are the Bundles by workspace/name.
	bundles map[string]*unstructured.Unstructured
	// deployments are the BundleDeployments by their Bundle's
	// workspace/name; nil when not read.
	deployments map[string][]*unstructured.Unstructured
}

// look reads a snapshot with one list of Bundles per workspace of the
// Plan (wookie's labels: managed-by and wookie.dev/gitrepo, so another
// configuration's Bundles are not among them) and, with deployments, one
// list of BundleDeployments across namespaces (which carry their Bundle's
// labels).
func (s *session) look(ctx context.Context, deployments bool) (*snapshot, error) {
	sel := labels.Set{ManagedBy: deploy.FieldManager, gitRepoLabel: emit.FleetSettings(s.p).GitRepo}.String()
	snap := &snapshot{bundles: map[string]*unstructured.Unstructured{}}
	workspaces := map[string]bool{}
	for i := range s.p.Clusters {
		workspaces[emit.FleetWorkspace(s.p, &s.p.Clusters[i])] = true
	}
	for _, ws := range sortedKeys(workspaces) {
		list, err := s.dyn.Resource(bundleGVR).Namespace(ws).List(ctx, metav1.ListOptions{LabelSelector: sel})
		if err != nil {
			return nil, fmt.Errorf("cluster %s: list Bundles in %s: %w", s.mgmt.Name, ws, err)
		}
		for i := range list.Items {
			snap.bundles[ws+"/"+list.Items[i].GetName()] = &list.Items[i]
		}
	}
	if !deployments {
		return snap, nil
	}
	list, err := s.dyn.Resource(bundleDeploymentGVR).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: list BundleDeployments: %w", s.mgmt.Name, err)
	}
	snap.deployments = map[string][]*unstructured.Unstructured{}
	for i := range list.Items {
		l := list.Items[i].GetLabels()
		k := l["fleet.cattle.io/bundle-namespace"] + "/" + l["fleet.cattle.io/bundle-name"]
		snap.deployments[k] = append(snap.deployments[k], &list.Items[i])
	}
	return snap, nil
}

// prune deletes the stale Bundles of snap; Fleet then removes what they
// deployed.
func (s *session) prune(ctx context.Context, snap *snapshot) (int, error) {
	stale := s.stale(snap)
	for _, o := range stale {
		err := s.dyn.Resource(bundleGVR).Namespace(o.GetNamespace()).Delete(ctx, o.GetName(), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, fmt.Errorf("cluster %s: delete Bundle %s/%s: %w", s.mgmt.Name, o.GetNamespace(), o.GetName(), err)
		}
		l := o.GetLabels()
		s.emit(deploy.Event{Type: "pruned", Cluster: l[clusterLabel], Batch: l[batchLabel], Bundle: l[bundleLabel],
			Object: "Bundle " + o.GetNamespace() + "/" + o.GetName(), Message: "Fleet removes what it deployed"})
	}
	return len(stale), nil
}
