package cli

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite golden files (docs/options.md)")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"wookie": func() { os.Exit(Main()) },
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script. The
// examples/ directory is copied into each script's work directory.
func TestScripts(t *testing.T) {
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("EXAMPLES", examples)
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "root" {
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		UpdateScripts: *update,
	})
}

// TestOptionsDoc keeps docs/options.md equal to `wookie options -o
// markdown`; -update rewrites it.
func TestOptionsDoc(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Run([]string{"options", "-o", "markdown"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("wookie options: exit %d: %s", code, errOut.String())
	}
	path := filepath.Join("..", "..", "docs", "options.md")
	if *update {
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -update)", err)
	}
	if diff := cmp.Diff(string(want), out.String()); diff != "" {
		t.Errorf("docs/options.md is stale; run go test ./internal/cli -update (-want +got):\n%s", diff)
	}
}
