package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExitCodes checks 0 for success, 1 for errors and 2 for usage errors,
// and that a failing command prints nothing on stdout.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.cue")
	if err := os.WriteFile(bad, []byte(`projects: wookie: clusterRole: "primry"`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		want   int
		stderr string // the message starts with it, when set
	}{
		{"plan default", []string{"plan"}, 0, ""},
		{"options", []string{"options", "projects.wookie.enable"}, 0, ""},
		{"version", []string{"version"}, 0, ""},
		{"help", []string{"--help"}, 0, ""},
		{"bad configuration", []string{"plan", "-f", bad}, 1, ""},
		{"missing file", []string{"plan", "-f", filepath.Join(dir, "nope.cue")}, 1, ""},
		{"missing plan", []string{"plan", "--from", filepath.Join(dir, "nope.json")}, 1, ""},
		{"unknown option prefix", []string{"options", "nope"}, 1, ""},
		{"unknown command", []string{"plna"}, 2, ""},
		{"unknown flag", []string{"plan", "--bogus"}, 2, ""},
		{"bad output format", []string{"plan", "-o", "xml"}, 2, ""},
		{"extra argument", []string{"plan", "extra"}, 2, ""},
		{"from and file", []string{"plan", "--from", "p.json", "-f", bad}, 2, ""},
		{"too many arguments", []string{"options", "a", "b"}, 2, ""},
		{"empty -f of render", []string{"render", "--offline", "-f", "", "-o", filepath.Join(dir, "out")}, 2, `wookie: -f "": want a configuration file or directory`},
		{"empty -f of plan", []string{"plan", "-f", ""}, 2, `wookie: -f "": want a configuration file or directory`},
		{"empty -f of options", []string{"options", "-f", ""}, 2, `wookie: -f "": want a configuration file or directory`},
		{"empty --junit", []string{"test", "--offline", "--junit", ""}, 2, `wookie: --junit "": want the file to write the JUnit XML to`},
		{"empty --batch", []string{"render", "--offline", "--batch", "", "-o", filepath.Join(dir, "out")}, 2, `wookie: --batch "": want a batch name or priority`},
		{"empty --batch of deploy", []string{"deploy", "--offline", "--batch", ""}, 2, `wookie: --batch "": want a batch name or priority`},
		{"empty --until of deploy", []string{"deploy", "--offline", "--until", ""}, 2, `wookie: --until "": want a batch name or priority`},
		{"empty --until of diff", []string{"diff", "--offline", "--until="}, 2, `wookie: --until "": want a batch name or priority`},
		{"empty --bundle", []string{"render", "--offline", "--bundle", "", "-o", filepath.Join(dir, "out")}, 2, `wookie: --bundle "": want a bundle name`},
	}
	// An empty -o is a usage error for every command that has -o.
	for _, cmd := range [][]string{{"plan"}, {"render"}, {"check"}, {"deploy"}, {"diff"}, {"status"}, {"test"}, {"up"}, {"version"}, {"options"}, {"charts", "list"}, {"certs", "show"}, {"cluster", "list"}} {
		tests = append(tests, struct {
			name   string
			args   []string
			want   int
			stderr string
		}{"empty -o of " + cmd[len(cmd)-1], append(cmd, "-o", ""), 2, ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			got := Run(tt.args, bytes.NewReader(nil), &out, &errOut)
			if got != tt.want {
				t.Fatalf("exit code: got %d, want %d; stderr: %s", got, tt.want, errOut.String())
			}
			if got != 0 && out.Len() > 0 {
				t.Errorf("stdout on failure: %q", out.String())
			}
			if got != 0 && errOut.Len() == 0 {
				t.Errorf("no message on stderr")
			}
			if !strings.HasPrefix(errOut.String(), tt.stderr) {
				t.Errorf("stderr %q, want it to start with %q", errOut.String(), tt.stderr)
			}
		})
	}
}
