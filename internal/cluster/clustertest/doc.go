// Package clustertest provides stand-ins for the k3d and docker programs,
// for tests that put them on PATH (testscript.Main's commands map makes
// the test binary answer to those names).
//
// They check what wookie asks of k3d, not k3d itself: the fake k3d records
// every call, reads the config file strictly with the key names of k3d's
// v1alpha5 Simple config (so a key k3d would not read is an error here
// too), keeps the clusters it "has" in a JSON file, answers cluster list -o
// json in k3d's shape, and on create adds the context k3d-<name> to the
// kubeconfig, pointing at the API server of a kubeconfig a test names (the
// test control plane), or at 127.0.0.1:1, where nothing answers.
//
// The environment configures them:
//
//	FAKEK3D_DIR         directory of calls.log (one line per call of either
//	                    program) and clusters.json (the clusters k3d has);
//	                    required
//	FAKEK3D_APISERVER   kubeconfig whose current context a created cluster's
//	                    context copies; unset: https://127.0.0.1:1
//	FAKEK3D_FAIL        "create": cluster create fails with k3d's output of
//	                    a port clash, after the config file was read
//	FAKEDOCKER_DOWN     "1": docker info fails as without a daemon
package clustertest
