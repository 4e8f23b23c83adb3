package cluster

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"wookie.dev/wookie/internal/cluster/clustertest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestMain makes the test binary answer as k3d and docker when run under
// those names, and puts those names first on PATH (testscript.Main): the
// stand-ins of package clustertest. They check what wookie asks of k3d,
// not k3d itself.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"k3d":    clustertest.K3dMain,
		"docker": clustertest.DockerMain,
	})
}

// fakeEnv sets up the stand-ins for one test: a fresh FAKEK3D_DIR, a
// kubeconfig file of its own in $KUBECONFIG, and no failure modes. It
// returns the fake's directory and the kubeconfig path.
func fakeEnv(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	t.Setenv("FAKEK3D_DIR", dir)
	t.Setenv("KUBECONFIG", kc)
	t.Setenv("FAKEK3D_APISERVER", "")
	t.Setenv("FAKEK3D_FAIL", "")
	t.Setenv("FAKEDOCKER_DOWN", "")
	return dir, kc
}

// onlyOnPath makes PATH a directory holding only the named stand-ins.
func onlyOnPath(t *testing.T, names ...string) {
	t.Helper()
	bin := t.TempDir()
	for _, n := range names {
		src, err := exec.LookPath(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(src, filepath.Join(bin, n)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
}

// calls returns the calls the stand-ins recorded, with dir written as
// $DIR.
func calls(t *testing.T, dir string) []string {
	t.Helper()
	lines, err := clustertest.Calls(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range lines {
		lines[i] = strings.ReplaceAll(lines[i], dir, "$DIR")
	}
	return lines
}
