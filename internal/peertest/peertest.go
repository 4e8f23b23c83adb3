// Package peertest finds the peer tools (helmfile, the Fleet CLI, flux,
// argocd, helm) that hack/peers/build.sh builds, for the tests that hand
// wookie's outputs to them.
package peertest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Binary returns the path of a peer tool's CLI: in $WOOKIE_PEERS_BIN, else
// in ~/.cache/wookie-peers/bin, and helm also on PATH. Without it the test
// is skipped, saying how to build it; with WOOKIE_PEERS_REQUIRED=1 (as
// .ci/run sets, after building them all) it fails instead.
func Binary(t testing.TB, name string) string {
	t.Helper()
	if p := find(func(bin string) string { return filepath.Join(bin, name) }); p != "" {
		return p
	}
	if name == "helm" {
		if p, err := exec.LookPath("helm"); err == nil {
			return p
		}
	}
	missing(t, name+" is not built: run 'bash hack/peers/build.sh --all' (and install the helm CLI, as .ci/run does) to check wookie's output with it")
	return ""
}

// File returns the path of a file that hack/peers/build.sh keeps next to
// the binaries' directory, like crds/flux/<file> (the CRDs of the peer's
// version), skipping or failing the test like Binary when it is missing.
func File(t testing.TB, name string) string {
	t.Helper()
	if p := find(func(bin string) string { return filepath.Join(filepath.Dir(bin), filepath.FromSlash(name)) }); p != "" {
		return p
	}
	missing(t, name+" is not there: run 'bash hack/peers/build.sh --all', which keeps the peers' CRDs beside their binaries")
	return ""
}

// find returns the first file at(dir) that exists, for dir
// $WOOKIE_PEERS_BIN and then ~/.cache/wookie-peers/bin, or "".
func find(at func(bin string) string) string {
	var dirs []string
	if d := os.Getenv("WOOKIE_PEERS_BIN"); d != "" {
		dirs = append(dirs, d)
	}
	if d, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(d, "wookie-peers", "bin"))
	}
	for _, d := range dirs {
		p := at(d)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// missing skips the test with msg, or fails it under
// WOOKIE_PEERS_REQUIRED or CI=true.
func missing(t testing.TB, msg string) {
	t.Helper()
	if Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Required reports whether the peer tools must be there: under
// WOOKIE_PEERS_REQUIRED or CI=true a check that needs one fails instead of
// skipping.
func Required() bool {
	return os.Getenv("WOOKIE_PEERS_REQUIRED") != "" || os.Getenv("CI") == "true"
}
