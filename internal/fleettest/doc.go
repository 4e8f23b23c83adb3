// Package fleettest runs Rancher Fleet's real controller and agent as local
// processes against the test control plane of internal/testenv, so tests can
// hand Bundles to Fleet and read Fleet's verdict.
//
// The binaries are built from the Go module proxy by hack/peers/build.sh
// (fleetcontroller and fleetagent of github.com/rancher/fleet, the version
// of the Fleet CLI), and Fleet's CRDs come from crds/fleet/crds.yaml beside
// them; Start skips the test without them, or fails it under CI=true or
// WOOKIE_PEERS_REQUIRED (see peertest.Required).
//
//	mgmt := testenv.Start(t, testenv.Options{Kwok: true, Name: "mgmt"})
//	down := testenv.Start(t, testenv.Options{Kwok: true, Name: "down"})
//	f := fleettest.Start(t, mgmt, down) // clusters "local" and "down" in fleet-local
//
// Start registers the management cluster as Cluster "local" in workspace
// fleet-local, as Rancher does, and each downstream Env as a Cluster named
// after its context in the same workspace; docs/fleet-testing.md has the
// recipe and why each step is there. A cluster registered the way Fleet
// documents for downstream clusters (a Cluster with a kubeconfig Secret, as
// wookie will make them) gets its agent from RunImportedAgent. Every process
// logs to a file in the test's temporary directory (the ends are printed
// when the test fails) and is killed in t.Cleanup, before the control planes
// stop.
//
// The agent binds :8080 and :8081 (metrics and health probes, fixed in
// Fleet v0.12.0's code) on all interfaces, so every agent runs in a network
// namespace of its own, where the API servers' 127.0.0.1 ports are forwarded
// to the host's; nothing of an agent listens on the host. That needs Linux
// and CAP_SYS_ADMIN (root, as in CI); without them Start skips the test, or
// fails it like a missing binary.
package fleettest
