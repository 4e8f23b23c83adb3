package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Selection picks part of each cluster of a Plan: batches by name or
// priority, bundles by name. A bundle is picked when its batch is picked
// or it is named; a named chart bundle brings the bundle <name>-crds that
// rendering makes of its chart's crds/ directory. The zero Selection
// picks everything.
//
// The dependencies of what a Selection picks are the bundles a deploy of
// the whole cluster makes ready before it starts a picked bundle: every
// bundle of the batches before the picked bundle's batch, and the bundles
// of its own batch it depends on (dependsOn, directly or not). WithDeps
// picks them too; without it, a deploy fails before it applies anything
// when one of them is not ready in the cluster.
type Selection struct {
	// Batches names batches by name or priority ("operators", "300").
	Batches []string `json:"batches,omitempty"`
	// Bundles names bundles.
	Bundles []string `json:"bundles,omitempty"`
	// Until picks, in each cluster that has the batch it names (by name
	// or priority), that batch and every batch before it.
	Until string `json:"until,omitempty"`
	// WithDeps picks the dependencies of what the others pick.
	WithDeps bool `json:"withDeps,omitempty"`
}

// IsZero reports whether s picks everything.
func (s Selection) IsZero() bool {
	return len(s.Batches) == 0 && len(s.Bundles) == 0 && s.Until == ""
}

// String is s as the command line gives it ("--batch crds --bundle
// istiod"); "" for the zero Selection.
func (s Selection) String() string {
	var parts []string
	for _, b := range s.Batches {
		parts = append(parts, "--batch "+b)
	}
	for _, b := range s.Bundles {
		parts = append(parts, "--bundle "+b)
	}
	if s.Until != "" {
		parts = append(parts, "--until "+s.Until)
	}
	if s.WithDeps && !s.IsZero() {
		parts = append(parts, "--with-deps")
	}
	return strings.Join(parts, " ")
}

// SelectionError says that a batch or bundle named for selection is in
// none of the clusters it is looked for in: a mistake in how wookie was
// called.
type SelectionError struct {
	// What is "batch" or "bundle".
	What string
	Name string
	// Have are the names (for batches, "name (priority)") the clusters
	// have, sorted.
	Have []string
}

func (e *SelectionError) Error() string {
	if len(e.Have) == 0 {
		return fmt.Sprintf("%s %s: the selected clusters have no %ses", e.What, e.Name, e.What)
	}
	return fmt.Sprintf("%s %s: no such %s in the selected clusters (they have %s)", e.What, e.Name, e.What, strings.Join(e.Have, ", "))
}

// Check returns a *SelectionError for the first batch or bundle s names
// that none of clusters has. A bundle <name>-crds is known when <name> is
// a chart bundle that keeps its CRDs separate.
func (s Selection) Check(clusters []Cluster) error {
	var batches, bundles []string
	for _, c := range clusters {
		for _, b := range c.Batches {
			batches = append(batches, fmt.Sprintf("%s (%d)", b.Name, b.Priority))
			for _, u := range b.Bundles {
				bundles = append(bundles, u.Name)
			}
		}
	}
	slices.Sort(batches)
	batches = slices.Compact(batches)
	slices.Sort(bundles)
	bundles = slices.Compact(bundles)
	hasBatch := func(name string) bool {
		return slices.ContainsFunc(clusters, func(c Cluster) bool {
			return slices.ContainsFunc(c.Batches, func(b Batch) bool { return BatchNamed(b.Name, b.Priority, name) })
		})
	}
	for _, name := range append(slices.Clone(s.Batches), s.Until) {
		if name != "" && !hasBatch(name) {
			return &SelectionError{What: "batch", Name: name, Have: batches}
		}
	}
	for _, name := range s.Bundles {
		if !slices.ContainsFunc(clusters, func(c Cluster) bool { return c.HasBundle(name) }) {
			return &SelectionError{What: "bundle", Name: name, Have: bundles}
		}
	}
	return nil
}

// BatchNamed reports whether a batch of name and priority is the one
// sel names: by name, or by priority in decimal.
func BatchNamed(name string, priority int, sel string) bool {
	return sel == name || sel == strconv.Itoa(priority)
}

// HasBundle reports whether c has a bundle of name, counting the bundle
// <name>-crds that rendering makes of a chart bundle's crds/ directory
// when the bundle keeps its CRDs separate (whether the chart has any is
// known only once it is fetched).
func (c *Cluster) HasBundle(name string) bool {
	for _, b := range c.Batches {
		for _, u := range b.Bundles {
			if u.Name == name {
				return true
			}
			if u.Chart != nil && (u.CRDs == "" || u.CRDs == CRDsSeparate) && u.Name+"-crds" == name {
				return true
			}
		}
	}
	return false
}

// BatchPicked reports whether s picks the batch at index i of batches
// (given by name and priority, in deploy order) as a whole.
func (s Selection) BatchPicked(names []string, priorities []int, i int) bool {
	for _, sel := range s.Batches {
		if BatchNamed(names[i], priorities[i], sel) {
			return true
		}
	}
	if s.Until != "" {
		for j := i; j < len(names); j++ {
			if BatchNamed(names[j], priorities[j], s.Until) {
				return true
			}
		}
	}
	return false
}

// PicksAny reports whether s picks anything of c.
func (s Selection) PicksAny(c *Cluster) bool {
	if s.IsZero() {
		return true
	}
	names, prios := make([]string, len(c.Batches)), make([]int, len(c.Batches))
	for i, b := range c.Batches {
		names[i], prios[i] = b.Name, b.Priority
	}
	for i := range c.Batches {
		if s.BatchPicked(names, prios, i) {
			return true
		}
	}
	return slices.ContainsFunc(s.Bundles, c.HasBundle)
}
