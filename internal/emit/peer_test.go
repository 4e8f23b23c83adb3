package emit

import (
	"testing"

	"wookie.dev/wookie/internal/peertest"
)

// peerBinary returns the path of a peer tool's CLI built by
// hack/peers/build.sh, or skips (fails under WOOKIE_PEERS_REQUIRED).
func peerBinary(t *testing.T, name string) string {
	t.Helper()
	return peertest.Binary(t, name)
}

// peerFile returns the path of a file hack/peers/build.sh keeps beside the
// binaries, like crds/flux/<file>.
func peerFile(t *testing.T, name string) string {
	t.Helper()
	return peertest.File(t, name)
}
