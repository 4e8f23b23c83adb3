package chart

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadCredentialsErrors: a credentials file that is not valid YAML is
// reported at FILE:LINE:COL, like a user's configuration file; other
// problems name the file.
func TestLoadCredentialsErrors(t *testing.T) {
	head := "apiVersion: wookie.dev/v1alpha1\nkind: Credentials\n"
	for _, tc := range []struct{ name, in, want string }{
		{"mapping in a scalar", head + "repositories:\n- url: https://charts.example.com\n  username: ci: x\n", "$F:5:15: YAML syntax error: mapping values are not allowed in this context"},
		{"tab indentation", head + "repositories:\n\t- url: x\n", "$F:4:1: YAML syntax error: found character that cannot start any token"},
		{"unknown field", head + "repositories:\n- url: https://charts.example.com\n  usernme: ci\n", `credentials $F: unknown field "usernme"`},
		{"wrong kind", "apiVersion: wookie.dev/v1alpha1\nkind: Plan\n", "credentials $F: want apiVersion wookie.dev/v1alpha1 and kind Credentials"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "credentials.yaml")
			if err := os.WriteFile(path, []byte(tc.in), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := LoadCredentials(path, true)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(strings.ReplaceAll(tc.want, "$F", path), err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}
