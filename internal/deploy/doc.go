// Package deploy applies a rendered Plan to its clusters with server-side
// apply (field manager "wookie", through fluxcd/pkg/ssa): clusters in the
// order of their dependencies (dependsOn and the clusters their inputs
// come from), independent ones in parallel; inside a cluster batch by batch
// in priority order, bundles inside a batch in parallel as soon as the
// bundles they depend on are ready, each bundle waited for with kstatus
// plus the bundle's own CEL readiness rules. A cluster's inputs are read
// from the live clusters they come from and substituted into its bundles
// before it is rendered and applied. It records what it applied in an
// inventory per cluster, prunes what left the Plan, diffs against the live
// cluster and reports the status of every bundle.
package deploy
