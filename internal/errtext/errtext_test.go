package errtext

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRedactURL: user information is gone, in URLs that parse and in
// those that do not; an "@" in the path stays.
func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"no user information", "https://charts.example.com/x", "https://charts.example.com/x"},
		{"user and password", "https://ci:s3cret@charts.example.com/x", "https://xxxxx@charts.example.com/x"},
		{"token as the user", "https://ghp_T0KEN@github.com/org/repo.git", "https://xxxxx@github.com/org/repo.git"},
		{"oci", "oci://robot:pw@registry.example.com/x", "oci://xxxxx@registry.example.com/x"},
		{"digest in the path", "oci://registry.example.com/x/a@sha256:0123", "oci://registry.example.com/x/a@sha256:0123"},
		{"space in the password", "https://ci:s3c ret@charts.example.com", "https://xxxxx@charts.example.com"},
		{"slash in the password", "https://ci:s3cret/x@charts.example.com", "https://xxxxx@charts.example.com"},
		{"no scheme", "ci:s3cret@charts example.com", "xxxxx@charts example.com"},
	} {
		if diff := cmp.Diff(tc.want, RedactURL(tc.in)); diff != "" {
			t.Errorf("%s: RedactURL(%q) (-want +got):\n%s", tc.name, tc.in, diff)
		}
	}
}
