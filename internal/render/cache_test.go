package render

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/plan"
)

// TestInputsNotCached renders cluster c1 of leaveOutPlan, whose chart
// bundle db takes input addr in its values, as deploy does (the input's
// value filled in, lookup answered by the cluster, secrets kept): nothing
// of it reaches the cache, in any file. Rendered offline with the
// reference in place, as wookie render does, it is cached.
func TestInputsNotCached(t *testing.T) {
	const value = "10.9.8.7-s3cr3t-token"
	src := charts(t, dbChart())
	p := leaveOutPlan(t)
	c1 := slices.IndexFunc(p.Clusters, func(c plan.Cluster) bool { return c.Name == "c1" })
	filled, err := plan.SubstituteInputs(&p.Clusters[c1], map[string]string{"addr": value})
	if err != nil {
		t.Fatal(err)
	}
	live := &plan.Plan{APIVersion: p.APIVersion, Kind: p.Kind, Clusters: []plan.Cluster{*filled}}

	cache := &Cache{Dir: t.TempDir()}
	for range 2 { // the second time with whatever the first left
		r, err := Render(context.Background(), live, Options{Charts: src, Cache: cache, Version: "test", IncludeSecrets: true, Lookup: &fakeLookup{}})
		if err != nil {
			t.Fatal(err)
		}
		if got := yamlOf(t, r); !strings.Contains(strings.Join(got, ""), value) {
			t.Fatalf("the input's value is not in the rendering:\n%s", strings.Join(got, ""))
		}
	}
	files := cacheFiles(t, cache.Dir)
	if got := filesUnder(files, "render"); len(got) != 0 {
		t.Errorf("render entries of a cluster rendered with its inputs: %v", got)
	}
	for path, data := range files {
		if strings.Contains(data, value) {
			t.Errorf("%s holds the input's value", path)
		}
	}

	cache = &Cache{Dir: t.TempDir()}
	if _, err := Render(context.Background(), p, Options{Charts: src, Cache: cache, Version: "test", LeaveOutInputRefs: true}); err != nil {
		t.Fatal(err)
	}
	files = cacheFiles(t, cache.Dir)
	if got := filesUnder(files, "render"); len(got) != 1 || !strings.Contains(files[got[0]], plan.InputRef("addr")) {
		t.Errorf("offline, the bundle with the reference should be cached once, holding the reference: %v", got)
	}
}

// TestCacheEntryModes renders a chart with a crds/ CRD and a Secret with
// data through the cache: every directory of the cache is private, the
// render entry (secrets) is readable by its owner only, the crds/ entry
// (no secrets) by everyone who can reach it.
func TestCacheEntryModes(t *testing.T) {
	ch := charttest.Chart{Name: "op", Version: "1.0.0", Files: map[string]string{
		"crds/widget.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]
`,
		"templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {tls.key: a2V5}\n",
	}}
	cache := &Cache{Dir: t.TempDir()}
	p := mkPlan(t, plan.Batch{Name: "apps", Bundles: []plan.Bundle{chartBundle("op", "apps", "op")}})
	if _, err := Render(context.Background(), p, Options{Charts: charts(t, ch), Cache: cache, Version: "test", IncludeSecrets: true}); err != nil {
		t.Fatal(err)
	}
	got := map[string]fs.FileMode{}
	err := filepath.WalkDir(cache.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == cache.Dir {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(cache.Dir, path)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if len(parts) > 1 {
			parts[1] = "XX"
		}
		if len(parts) > 2 {
			parts[2] = "KEY.json"
		}
		got[strings.Join(parts, "/")] = st.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{
		"render": 0o700, "render/XX": 0o700, "render/XX/KEY.json": 0o600,
		"crds": 0o700, "crds/XX": 0o700, "crds/XX/KEY.json": 0o644,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("modes (-want +got):\n%s", diff)
	}
}

// cacheFiles reads every file under dir, by path relative to it.
func cacheFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// filesUnder lists the paths of files under the directory kind, sorted.
func filesUnder(files map[string]string, kind string) []string {
	var out []string
	for path := range files {
		if strings.HasPrefix(path, kind+"/") {
			out = append(out, path)
		}
	}
	slices.Sort(out)
	return out
}
