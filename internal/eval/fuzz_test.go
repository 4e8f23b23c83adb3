package eval

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// located is a message about a user's YAML file: one line, the file and,
// for a problem inside it, the line and column, then a reason.
var located = regexp.MustCompile(`^b\.yaml:(\d+:\d+:)? \S[^\n]*$`)

// yamlFileErr parses src as the user's file b.yaml and returns the error.
func yamlFileErr(t testing.TB, src string) error {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := parseUserFile(dir, "b.yaml")
	return err
}

// TestYAMLSyntaxErrors: a YAML syntax error in a user's file is one line
// with the file, line and column of the problem and the parser's reason;
// an empty file says so; a long file with the error at its end is
// located quickly (the search for the column was once one parse per
// column: 27 s for a 12 kB line).
func TestYAMLSyntaxErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"unclosed flow list", "projects:\n  wookie:\n    clusterRole: [remote\n", "b.yaml:3:19: YAML syntax error: did not find expected ',' or ']'"},
		{"tab indentation", "a:\n\tb: c\n", "b.yaml:2:1: YAML syntax error: found character that cannot start any token"},
		{"unknown anchor", "a: &x 1\nb: *x\nc: *y\n", "b.yaml:3:5: YAML syntax error: unknown anchor 'y' referenced"},
		{"unclosed quote", "a: 'x\n", "b.yaml:2:1: YAML syntax error: found unexpected end of stream"},
		{"mapping in a scalar", "a: b: c: d\n", "b.yaml:1:5: YAML syntax error: mapping values are not allowed in this context"},
		{"control character", "a\x00: 1\n", "b.yaml:1:2: YAML syntax error: control characters are not allowed"},
		{"empty", "", "b.yaml: the file is empty: a configuration file holds one YAML mapping"},
		{"blank", " \n\n", "b.yaml: the file is empty: a configuration file holds one YAML mapping"},
		{"long line", "a: {" + strings.Repeat("k: v, ", 20000) + "}}\n", "b.yaml:1:120006: YAML syntax error: did not find expected key"},
		{"many lines", strings.Repeat("k: v\n", 20000) + "x: [\n", "b.yaml:20001:4: YAML syntax error: did not find expected node content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := yamlFileErr(t, tc.src)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// FuzzYAMLConfig: whatever a user's YAML file holds, parsing it does not
// panic, and a problem is reported on one line naming the file, and the
// line and column when the problem is inside it.
func FuzzYAMLConfig(f *testing.F) {
	for _, s := range []string{
		"projects:\n  wookie:\n    clusterRole: remote\n", "a: *nope\n", "- a\nb: c\n", "a: 'x\n", "a:\n\tb: c\n",
		"a: b\n---\nc: d\n", "a: |\n x\n  y\n", "{a: [1, {b: 2}]}\n", "a: !!int x\n", "# only a comment\n", "\xff\xfe: 1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4<<10 {
			return // the syntax error search parses the file a few dozen times
		}
		if err := yamlFileErr(t, src); err != nil && !located.MatchString(err.Error()) {
			t.Errorf("%q: message %q is not one located line", src, err)
		}
	})
}
