// Package testenv runs a real Kubernetes control plane on 127.0.0.1 for
// tests: etcd, kube-apiserver and, as asked, kube-controller-manager,
// kube-scheduler and kwok (a fake Node on which Pods "run" without
// containers, so Deployments become Available).
//
// The binaries are built from the Go module proxy by hack/testenv/build.sh
// into ${WOOKIE_TESTENV_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wookie-testenv}/<versions>/,
// outside the repository:
//
//	hack/testenv/build.sh   # about 12 minutes cold, seconds when built
//
// A test starts an Env and talks to it with client-go or its kubeconfig:
//
//	env := testenv.Start(t, testenv.Options{Kwok: true})
//	cs := kubernetes.NewForConfigOrDie(env.RESTConfig())
//
// Start skips the test when the binaries are not built, and fails it
// instead when WOOKIE_TESTENV_REQUIRED=1, as in CI. Every process listens
// on 127.0.0.1 only, logs to a file in the test's temporary directory (the
// ends of the logs are printed when the test fails) and is killed by its
// PID in t.Cleanup, or by the kernel when the test binary dies.
//
// For development, start one by hand and use kubectl or wookie against it:
//
//	go run ./internal/testenv/cmd/testenv            # with controllers, scheduler and kwok
//	go run ./internal/testenv/cmd/testenv -name one  # context "one"
//	go run ./internal/testenv/cmd/testenv -bare      # etcd and kube-apiserver only
//
// It prints `export KUBECONFIG=...` on stdout and runs until Ctrl-C, then
// removes its temporary directory.
package testenv
