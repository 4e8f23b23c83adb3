package plan

import (
	"cmp"
	"slices"
	"strings"
)

// Error is one problem found in a Plan by Normalize.
//
// Names that are empty in the Plan are given by index instead, as "#2" for
// the third entry, so Error prints "cluster #2". Cluster is empty for
// plan-level problems (apiVersion, kind).
type Error struct {
	// Cluster is the cluster's name, "#<index>" if it has none, and empty for
	// plan-level problems.
	Cluster string
	// Batch is the batch's name, "#<index>" if it has none, where known.
	Batch string
	// Bundle is the bundle's name, "#<index>" if it has none, where known.
	Bundle string
	// Field names the offending field relative to the cluster, batch or
	// bundle, e.g. "dependsOn", "namespace", "chart.version" or
	// "manifests[2]". It is empty when the problem concerns the whole entry.
	Field string
	// Msg says what is wrong.
	Msg string
}

// Error returns the problem on one line, from the outside in, e.g.
// `cluster wookie-local: bundle istiod: dependsOn: no bundle "foo" in cluster
// wookie-local`. Empty parts are left out. A bundle's name identifies it in
// its cluster, so the batch is named only for a problem that is not about a
// bundle, or when the bundle has no name ("batch crds: bundle #1").
func (e *Error) Error() string {
	var parts []string
	if e.Cluster != "" {
		parts = append(parts, "cluster "+e.Cluster)
	}
	if e.Batch != "" && (e.Bundle == "" || strings.HasPrefix(e.Bundle, "#")) {
		parts = append(parts, "batch "+e.Batch)
	}
	if e.Bundle != "" {
		parts = append(parts, "bundle "+e.Bundle)
	}
	if e.Field != "" {
		parts = append(parts, e.Field)
	}
	parts = append(parts, e.Msg)
	return strings.Join(parts, ": ")
}

// Errors is every problem found in a Plan, in a deterministic order: sorted
// by cluster, batch, bundle, field and message.
type Errors []*Error

// Error returns one problem per line.
func (e Errors) Error() string {
	lines := make([]string, len(e))
	for i, err := range e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// sortErrors puts errs into the documented order.
func sortErrors(errs Errors) {
	slices.SortStableFunc(errs, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Cluster, b.Cluster),
			cmp.Compare(a.Batch, b.Batch),
			cmp.Compare(a.Bundle, b.Bundle),
			cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
}
