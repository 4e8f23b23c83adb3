package cli

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"

	"wookie.dev/wookie/internal/cluster/clustertest"
)

var update = flag.Bool("update", false, "rewrite golden files (docs/options.md)")

// TestMain makes the test binary answer as wookie, and as the stand-ins
// for k3d and docker of package clustertest (which check what wookie asks
// of k3d, not k3d itself), and puts those names first on PATH.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"wookie": func() { os.Exit(Main()) },
		"k3d":    clustertest.K3dMain,
		"docker": clustertest.DockerMain,
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script. $EXAMPLES
// is the examples/ directory. For the cluster commands, the stand-in k3d
// keeps its state in $FAKEK3D_DIR, wookie its state in $XDG_STATE_HOME and
// kubeconfig contexts go to $KUBECONFIG, all under $WORK; $NOK3D is a
// directory holding wookie and no k3d or docker, for PATH.
func TestScripts(t *testing.T) {
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	self, err := exec.LookPath("wookie")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("EXAMPLES", examples)
			fake := filepath.Join(env.WorkDir, ".k3d")
			nok3d := filepath.Join(env.WorkDir, ".nok3d")
			for _, d := range []string{fake, nok3d} {
				if err := os.Mkdir(d, 0o755); err != nil {
					return err
				}
			}
			env.Setenv("FAKEK3D_DIR", fake)
			env.Setenv("XDG_STATE_HOME", filepath.Join(env.WorkDir, ".state"))
			env.Setenv("KUBECONFIG", filepath.Join(env.WorkDir, ".kube", "config"))
			env.Setenv("NOK3D", nok3d)
			return os.Symlink(self, filepath.Join(nok3d, "wookie"))
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
