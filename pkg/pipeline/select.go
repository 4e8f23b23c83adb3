package pipeline

import (
	"fmt"
	"slices"
	"strings"
)

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
