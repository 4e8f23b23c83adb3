// Package cluster creates, deletes and inspects the clusters of a Plan:
// k3d clusters, which wookie makes, and clusters reached through an
// existing kubeconfig context, which it only reaches.
//
// A k3d cluster (plan.Cluster.K3d) is created by writing a k3d config file
// (ConfigFile: apiVersion k3d.io/v1alpha5, kind Simple, with the key names
// k3d reads) and running k3d cluster create --config FILE; then Manager
// waits, bounded by its Timeout, until the API server is ready and every
// node (servers plus agents) is registered and Ready, through the
// kubeconfig context k3d-<name>. A cluster k3d lists is not created again:
// a stopped one is started, and a running one is only checked.
//
// k3d and docker are run through Runner, whose one implementation, Exec,
// runs the programs found on PATH. Before the first k3d call, Manager
// checks that k3d and docker are installed and that the Docker daemon
// answers; MissingToolError and DaemonError say what is wrong, and
// ExitError carries a program's output when it fails. The tests stand a
// fake k3d and docker (package clustertest) on PATH, which check what
// wookie asks of k3d, not k3d itself.
package cluster
