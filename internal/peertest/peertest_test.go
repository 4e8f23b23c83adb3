package peertest

import "testing"

// TestRequired: under CI=true, or WOOKIE_PEERS_REQUIRED, a check that
// needs a peer tool fails instead of skipping; elsewhere it skips.
func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		name, ci, required string
		want               bool
	}{
		{"neither", "", "", false},
		{"CI=true", "true", "", true},
		{"CI=false", "false", "", false},
		{"WOOKIE_PEERS_REQUIRED", "", "1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			t.Setenv("WOOKIE_PEERS_REQUIRED", tc.required)
			if got := Required(); got != tc.want {
				t.Errorf("Required() = %v, want %v", got, tc.want)
			}
		})
	}
}
