package chart

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/lock"
)

// fillEnv makes the test binary act as a second wookie process that fills
// a shared cache (see TestTwoProcessesFillOneCache).
const fillEnv = "WOOKIE_TEST_FILL_CACHE"

func TestMain(m *testing.M) {
	if spec := os.Getenv(fillEnv); spec != "" {
		os.Exit(fillCache(spec))
	}
	os.Exit(m.Run())
}

// fillCache fetches charts into a cache: spec is
// "cacheDir|url digest name version|...".
func fillCache(spec string) int {
	parts := strings.Split(spec, "|")
	c := &Client{Cache: &Cache{Dir: parts[0]}, Retry: fastRetry, Parallel: 8}
	var entries []lock.Entry
	for _, p := range parts[1:] {
		f := strings.Fields(p)
		entries = append(entries, lock.Entry{Ref: lock.Ref{Repo: "http://x", Name: f[2], Version: f[3]}, ResolvedVersion: f[3], URL: f[0], Digest: f[1]})
	}
	for range 5 {
		if err := c.FetchAll(context.Background(), entries); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// TestTwoProcessesFillOneCache runs two processes that fetch the same
// charts into one cache at once: both succeed, every blob verifies, and no
// temporary file is left.
func TestTwoProcessesFillOneCache(t *testing.T) {
	var archives [][]byte
	for i := range 12 {
		archives = append(archives, pkg(t, fmt.Sprintf("c%d", i), "1.0.0"))
	}
	repo := charttest.NewRepo(t, charttest.RepoOptions{}, archives...)
	dir := t.TempDir()
	spec := dir
	for i, a := range archives {
		spec += fmt.Sprintf("|%s %s c%d 1.0.0", repo.ArchiveURL(fmt.Sprintf("c%d", i), "1.0.0"), Digest(a), i)
	}
	var cmds []*exec.Cmd
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fillEnv+"="+spec)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("filler process: %v", err)
		}
	}
	cache := &Cache{Dir: dir}
	for _, a := range archives {
		if _, err := cache.Get(Digest(a)); err != nil {
			t.Errorf("cached blob: %v", err)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, "blobs", "sha256", ".*.tmp-*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}
