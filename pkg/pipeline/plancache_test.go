package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/eval"
)

// The cached Plan of every example is the evaluated one.
func TestPlanCacheRoundTrip(t *testing.T) {
	examples, err := filepath.Glob("../../examples/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, files := range append([][]string{nil}, func() (out [][]string) {
		for _, e := range examples {
			out = append(out, []string{e})
		}
		return out
	}()...) {
		name := "default"
		if files != nil {
			name = filepath.Base(files[0])
		}
		t.Run(name, func(t *testing.T) {
			cache := t.TempDir()
			p, err := New(Config{Files: files, CacheDir: cache})
			if err != nil {
				t.Fatal(err)
			}
			want, err := eval.Evaluate(eval.Config{Files: files})
			if err != nil {
				t.Fatal(err)
			}
			first, err := p.Load()
			if err != nil {
				t.Fatal(err)
			}
			path, ok := p.planCachePath(eval.Config{Files: files})
			if !ok {
				t.Fatal("no cache path")
			}
			if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("cache entry: %v %v", st, err)
			}
			cached, warnings, ok := readPlanCache(path)
			if !ok {
				t.Fatal("the entry written cannot be read")
			}
			if len(first.Clusters) == 0 {
				t.Fatal("the Plan has no clusters")
			}
			if diff := cmp.Diff(want.Plan, first); diff != "" {
				t.Errorf("Load, cache empty (-evaluated +loaded):\n%s", diff)
			}
			if diff := cmp.Diff(want.Plan, cached); diff != "" {
				t.Errorf("cached Plan (-evaluated +cached):\n%s", diff)
			}
			if diff := cmp.Diff(want.Warnings, warnings); diff != "" {
				t.Errorf("cached warnings (-evaluated +cached):\n%s", diff)
			}
		})
	}
}

// A hit is used; a change to an input or a damaged entry is evaluated
// anew.
func TestPlanCacheKeys(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "wookie.cue")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("targets: kubeconfig: {enable: true, clusterName: \"one\", context: \"one\", kubeVersion: \"1.31.4\"}\n")
	p, err := New(Config{Files: []string{dir}, CacheDir: filepath.Join(dir, "cache")})
	if err != nil {
		t.Fatal(err)
	}
	load := func() string {
		t.Helper()
		pl, err := p.Load()
		if err != nil {
			t.Fatal(err)
		}
		return pl.Clusters[0].Name
	}
	if got := load(); got != "one" {
		t.Fatalf("cluster %q", got)
	}
	path, _ := p.planCachePath(eval.Config{Files: []string{dir}})

	// An entry made for these inputs is what Load returns: the cache is used.
	pl, _, _ := readPlanCache(path)
	pl.Clusters[0].Name = "from-cache"
	writePlanCache(path, pl, nil)
	if got := load(); got != "from-cache" {
		t.Errorf("Load did not use the cache entry: cluster %q", got)
	}

	// A damaged entry is ignored.
	if err := os.WriteFile(path, []byte(`{"sum": "0", "entry": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := load(); got != "one" {
		t.Errorf("damaged entry: cluster %q", got)
	}

	// Another content is another key.
	write("targets: kubeconfig: {enable: true, clusterName: \"two\", context: \"two\", kubeVersion: \"1.31.4\"}\n")
	if got := load(); got != "two" {
		t.Errorf("changed input: cluster %q", got)
	}
}
