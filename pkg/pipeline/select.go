package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/plan"
)

// Selection picks batches (by name or priority) and bundles of the
// selected clusters, for Deploy, Diff, Status and the output of a render:
// a bundle is picked when its batch is or it is named (with the CRD
// bundle rendering makes of its chart); Until picks a batch and every
// batch before it. The dependencies of what is picked are every bundle
// of the batches before a picked bundle's batch and the bundles of its
// own batch it depends on; WithDeps picks them too, and without it Deploy
// and Diff fail up front, with a *DependencyError, when one is not ready
// in the cluster.
type Selection = plan.Selection

// SelectionError says that a batch or bundle named for selection is in
// none of the selected clusters: a mistake in how wookie was called (the
// command exits 2).
type SelectionError = plan.SelectionError

// DependencyError says that bundles the selected ones depend on are not
// ready in the cluster.
type DependencyError = deploy.DependencyError

// Part is the part of a Plan a command works on: the clusters named (all
// when none) and, in them, what Select picks. The zero Part is all of it.
type Part struct {
	Clusters []string  `json:"clusters,omitempty"`
	Select   Selection `json:"select,omitempty"`
}

// IsZero reports whether p is all of the Plan.
func (p Part) IsZero() bool { return len(p.Clusters) == 0 && p.Select.IsZero() }

// CheckPart checks that pl has what p names: a *ClusterError for a
// cluster it lacks, a *SelectionError for a batch or bundle that none of
// the selected clusters has.
func CheckPart(pl *Plan, p Part) error {
	sel, err := SelectClusters(pl, p.Clusters)
	if err != nil {
		return err
	}
	return p.Select.Check(sel)
}

// SelectPart returns the part p of res, a rendering of every cluster: its
// clusters and, in them, the bundles p picks, with the omitted bundles
// and objects that belong to them.
func SelectPart(res *Result, p Part) *Result {
	if p.IsZero() {
		return res
	}
	return res.Part(p.Clusters, p.Select)
}

// ClusterError says that a cluster named for selection is not in the
// Plan: a mistake in how wookie was called (the command exits 2).
type ClusterError struct {
	Name string
	// Have are the Plan's clusters.
	Have []string
}

func (e *ClusterError) Error() string {
	if len(e.Have) == 0 {
		return fmt.Sprintf("cluster %s: the Plan has no clusters", e.Name)
	}
	return fmt.Sprintf("cluster %s: no such cluster in the Plan (it has %s)", e.Name, strings.Join(e.Have, ", "))
}

// SelectClusters returns the clusters of pl that names select, in Plan
// order; no names select all. A name the Plan does not have is a
// *ClusterError.
func SelectClusters(pl *Plan, names []string) ([]Cluster, error) {
	for _, n := range names {
		if !slices.ContainsFunc(pl.Clusters, func(c Cluster) bool { return c.Name == n }) {
			var have []string
			for _, c := range pl.Clusters {
				have = append(have, c.Name)
			}
			return nil, &ClusterError{Name: n, Have: have}
		}
	}
	var out []Cluster
	for _, c := range pl.Clusters {
		if len(names) == 0 || slices.Contains(names, c.Name) {
			out = append(out, c)
		}
	}
	return out, nil
}

// K3dClusters returns the clusters of cs that wookie creates with k3d.
func K3dClusters(cs []Cluster) []Cluster {
	var out []Cluster
	for _, c := range cs {
		if c.K3d != nil {
			out = append(out, c)
		}
	}
	return out
}

// SelectK3d returns the k3d clusters names select: by default every k3d
// cluster of pl; a named cluster that is not one is an error naming verb
// (what the caller does to k3d clusters, e.g. "creates").
func SelectK3d(pl *Plan, names []string, verb string) ([]Cluster, error) {
	sel, err := SelectClusters(pl, names)
	if err != nil {
		return nil, err
	}
	if len(names) > 0 {
		for _, c := range sel {
			if c.K3d == nil {
				return nil, fmt.Errorf("cluster %s: not a k3d cluster (target %s): wookie %s only k3d clusters", c.Name, c.Target, verb)
			}
		}
	}
	return K3dClusters(sel), nil
}
