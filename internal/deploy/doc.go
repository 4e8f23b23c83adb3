// Package deploy applies a rendered Plan to its clusters with server-side
// apply (field manager "wookie", through fluxcd/pkg/ssa): clusters in
// parallel, each batch by batch in priority order, a cluster after the
// clusters of its dependsOn and a batch that refers to inputs after the
// batches of other clusters that make the inputs' objects; bundles inside
// a batch in parallel as soon as the bundles they depend on are ready,
// each bundle waited for with kstatus plus the bundle's own CEL readiness
// rules. A batch's inputs are read from the live clusters they come from
// and substituted into the cluster's bundles before it is rendered again
// and the batch applied. It records what it applied in an
// inventory per cluster, prunes what left the Plan, diffs against the live
// cluster and reports the status of every bundle.
package deploy

// The files, by verb: deploy.go (options, events, Deploy), clusters*.go and
// batch_feed.go (several clusters, their order and inputs), run.go (one
// cluster batch by batch), apply.go (one bundle: namespaces, server-side
// apply), uptodate.go (objects already as the deploy would make them are
// skipped, those that do not exist created with one apply), hooks.go (Helm hooks in order), conflicts.go (the field-conflict
// probe), wait.go and readiness.go (readiness and its causes), inventory.go
// (what was applied), lock.go (one deploy per cluster at a time), prune.go,
// diff.go, status.go, lookup.go (Helm lookup answered live), select.go
// (a selection of batches and bundles: its dependencies, what it prunes).
