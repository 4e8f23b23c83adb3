package testenv

import (
	"os"
	"path/filepath"
)

// The versions hack/testenv/build.sh builds; they name the cache directory.
// They must match the script (TestVersionsMatchBuildScript checks).
const (
	k8sVersion  = "v" + KubernetesVersion
	etcdVersion = "v3.6.16"
	kwokVersion = "v0.8.0"
)

// KubernetesVersion is the version of the test control plane's
// kube-apiserver, without the v.
const KubernetesVersion = "1.37.2"

// versionsDir is the cache directory's name for one set of versions.
const versionsDir = "k8s-" + k8sVersion + "-etcd-" + etcdVersion + "-kwok-" + kwokVersion

// binaries are the programs build.sh puts into the bin directory.
var binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// cacheRoot mirrors build.sh: $WOOKIE_TESTENV_DIR, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/wookie-testenv.
func cacheRoot() string {
	if d := os.Getenv("WOOKIE_TESTENV_DIR"); d != "" {
		return d
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "wookie-testenv")
}

// versionDir is the directory build.sh fills for the pinned versions.
func versionDir() string { return filepath.Join(cacheRoot(), versionsDir) }

// BinDir returns the directory where hack/testenv/build.sh puts the
// control-plane binaries, and whether all of them and kwok's stage files
// are present there.
func BinDir() (string, bool) {
	dir := filepath.Join(versionDir(), "bin")
	return dir, len(missing()) == 0
}

// missing lists what build.sh should have built but is not there.
func missing() []string {
	dir := filepath.Join(versionDir(), "bin")
	var out []string
	for _, b := range binaries {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			out = append(out, b)
		}
	}
	if st, err := stageFiles(); err != nil || len(st) == 0 {
		out = append(out, "kwok-stages")
	}
	return out
}

// stageDirs are the kwok stage sets build.sh copies from kwok's module
// (kustomize/stage/node/fast and so on): the Node becomes Ready, its Lease
// keeps it so, and Pods on it run at once.
var stageDirs = []string{"node-fast", "node-heartbeat-with-lease", "pod-fast"}

// stageFiles lists the stage files of stageDirs.
func stageFiles() ([]string, error) {
	var files []string
	for _, d := range stageDirs {
		m, err := filepath.Glob(filepath.Join(versionDir(), "kwok-stages", d, "*.yaml"))
		if err != nil {
			return nil, err
		}
		if len(m) == 0 {
			return nil, os.ErrNotExist
		}
		files = append(files, m...)
	}
	return files, nil
}
