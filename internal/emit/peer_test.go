package emit

import (
	"os"
	"path/filepath"
	"testing"
)

// peerBinary returns the path of a peer tool's CLI (helmfile, fleet, flux,
// argocd) built by hack/peers/build.sh: in $WOOKIE_PEERS_BIN, else in
// ~/.cache/wookie-peers/bin. Without it the test is skipped, saying how to
// build it; with WOOKIE_PEERS_REQUIRED=1 (as .ci/run sets for the tools it
// builds) a missing binary fails the test instead.
func peerBinary(t *testing.T, name string) string {
	t.Helper()
	var dirs []string
	if d := os.Getenv("WOOKIE_PEERS_BIN"); d != "" {
		dirs = append(dirs, d)
	}
	if d, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(d, "wookie-peers", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	msg := name + " is not built: run 'bash hack/peers/build.sh' (helmfile, fleet) or 'bash hack/peers/build.sh --all' (also flux, argocd) to check wookie's output with it"
	if os.Getenv("WOOKIE_PEERS_REQUIRED") != "" && (name == "helmfile" || name == "fleet") {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
