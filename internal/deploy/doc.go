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

// The files, by verb: deploy.go (options, events, Deploy), client.go (the
// connection to a cluster, Target, RESTConfig), clusters.go (the selected
// clusters of a Plan, each prepared: inputs substituted, rendered),
// clusters_run.go (several clusters at once, each after those it depends
// on), units.go (the schedule: each batch of each cluster and what it
// waits for), batch_feed.go (a cluster's batches handed out when what
// they wait for is deployed), inputs.go (inputs read from the live
// clusters they come from), run.go (one cluster batch by batch), apply.go
// (one bundle: namespaces, server-side apply), uptodate.go (objects
// already as the deploy would make them are skipped, those that do not
// exist created with one apply), hooks.go (Helm hooks in order),
// conflicts.go (the field-conflict probe), wait.go and readiness.go
// (readiness and its causes), inventory.go (what was applied), lock.go,
// lock_unix.go and lock_other.go (one deploy per cluster at a time; a
// holder process that is gone), prune.go, diff.go, status.go, visit.go
// (each selected cluster prepared and connected, for callers such as
// verify), lookup.go (Helm lookup answered live), select.go (a selection
// of batches and bundles: its dependencies, what it prunes).
