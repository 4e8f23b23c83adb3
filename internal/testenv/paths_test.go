package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The Go side finds the binaries where build.sh put them only while both
// name the same versions.
func TestVersionsMatchBuildScript(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "hack", "testenv", "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	for _, want := range []string{
		"K8S_VERSION=" + k8sVersion + " ",
		"ETCD_VERSION=" + etcdVersion + " ",
		"KWOK_VERSION=" + kwokVersion + " ",
		`versions="k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-kwok-${KWOK_VERSION}"`,
		"wookie-testenv}",
		`bin=$dest/bin`,
		`stages=$dest/kwok-stages`,
	} {
		if !strings.Contains(script, want) {
			t.Errorf("build.sh does not contain %q; keep it and paths.go in step", want)
		}
	}
}

func TestCacheRoot(t *testing.T) {
	tests := []struct {
		name, dir, xdg, home, want string
	}{
		{name: "explicit", dir: "/x/tenv", xdg: "/xdg", home: "/home/u", want: "/x/tenv"},
		{name: "xdg", xdg: "/xdg", home: "/home/u", want: "/xdg/wookie-testenv"},
		{name: "home", home: "/home/u", want: "/home/u/.cache/wookie-testenv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("WOOKIE_TESTENV_DIR", tt.dir)
			t.Setenv("XDG_CACHE_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			if got := cacheRoot(); got != tt.want {
				t.Errorf("cacheRoot() = %q, want %q", got, tt.want)
			}
		})
	}
}
