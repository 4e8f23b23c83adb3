// Package fleet deploys a Plan through Rancher Fleet instead of applying
// it itself: it hands the Bundle resources that internal/emit builds (one
// per bundle of every cluster, targeted at the cluster's Fleet Cluster,
// their dependsOn keeping the batch order) to the Fleet management cluster
// with server-side apply, registers the Plan's downstream clusters with
// Fleet the way Fleet documents for clusters it manages (a Cluster with a
// kubeconfig Secret in the workspace), deletes with Prune the Bundles it
// made that left the Plan, and follows Fleet's own verdict (Bundle and
// BundleDeployment status) until every bundle is Ready, Fleet reports an
// error that does not clear, or the timeout passes.
//
// Bundles labelled wookie.dev/installs: fleet (the fleet project's: Fleet's
// CRDs, namespace and controller) are never handed to Fleet, which cannot
// install itself; wookie deploy applies them, and Deploy fails when
// Fleet's CRDs are missing from the management cluster.
//
// Files: fleet.go (options, results, Deploy and Status), apply.go (the
// Bundles applied, skipped when Fleet holds them already), snapshot.go
// (one read of Fleet's Bundles and BundleDeployments per look; stale
// Bundles and prune), register.go (downstream clusters registered),
// follow.go (Fleet's verdict followed until ready, failed or timed out).
package fleet
