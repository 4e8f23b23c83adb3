package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestViaFleetUsage: what --via fleet does not take is a usage error (exit
// 2) naming the flag, found before anything is loaded.
func TestViaFleetUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown engine", []string{"deploy", "--via", "argocd"}, "wookie: --via argocd: want fleet"},
		{"batch", []string{"deploy", "--via", "fleet", "--batch", "crds"}, "wookie: --via fleet hands every bundle to Fleet, which keeps the batch order itself: --batch, --bundle, --until and --with-deps do not apply"},
		{"until", []string{"deploy", "--via", "fleet", "--until", "fleet"}, "wookie: --via fleet hands every bundle to Fleet, which keeps the batch order itself: --batch, --bundle, --until and --with-deps do not apply"},
		{"dry run", []string{"deploy", "--via", "fleet", "--dry-run"}, "wookie: --via fleet: --dry-run does not apply (Fleet applies the objects)"},
		{"force conflicts", []string{"deploy", "--via", "fleet", "--force-conflicts"}, "wookie: --via fleet: --force-conflicts does not apply (Fleet applies the objects)"},
		{"secrets without fleet", []string{"deploy", "--include-secrets"}, "wookie: --include-secrets goes with --via fleet: a deploy applies secrets anyway"},
		{"status bundle", []string{"status", "--via", "fleet", "--bundle", "istiod"}, "wookie: --via fleet hands every bundle to Fleet, which keeps the batch order itself: --batch, --bundle, --until and --with-deps do not apply"},
		{"status html", []string{"status", "--via", "fleet", "-o", "html"}, "wookie: --via fleet: -o html is not supported; use table or json"},
		{"status unknown engine", []string{"status", "--via", "flux"}, "wookie: --via flux: want fleet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := Run(tt.args, bytes.NewReader(nil), &out, &errOut)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			first, _, _ := strings.Cut(errOut.String(), "\n")
			if diff := cmp.Diff(tt.want, first); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}
