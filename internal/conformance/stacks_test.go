package conformance

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render/paritytest"
)

// TestStacks runs, for every case (each Istio release in each topology,
// each PXC release with the standalone stack), wookie lock, render and
// check --strict on the real charts, and compares every chart bundle's
// objects with what Helm's template action makes of it. The cases share
// one chart cache and run in parallel (as many as -test.parallel, by
// default GOMAXPROCS).
func TestStacks(t *testing.T) {
	charts, url := serveCharts(t)
	cache := t.TempDir()
	root := t.TempDir()
	for _, s := range stacks() {
		t.Run(s.name(), func(t *testing.T) {
			t.Parallel()
			w := newWorkspace(t, root, cache, url, s)
			if s.refused != "" {
				args := append([]string{"lock"}, w.flags...)
				code, _, stderr := wookieCode(args...)
				if code != 1 || !strings.Contains(stderr, s.refused) {
					t.Fatalf("wookie lock: exit %d, want 1 with %q:\n%s", code, s.refused, stderr)
				}
				return
			}
			w.run(t, "lock", "-q")
			result := filepath.Join(w.dir, "result")
			_, stderr := w.run(t, "render", "-o", result)
			if strings.Contains(stderr, "supports Kubernetes") {
				t.Errorf("render warns that the case is not a supported combination:\n%s", stderr)
			}
			noInputRefs(t, result)
			out, _ := w.run(t, "check", "--strict")
			t.Logf("wookie check --strict:\n%s", lastLine(out))

			// The parity render holds every bundle, the Istio CA's too.
			if s.topology.name != "standalone" {
				wookie(t, "certs", "init", "-q", "--key-algorithm", "ecdsa", "-f", w.flags[1])
			}
			parity := filepath.Join(w.dir, "parity")
			_, stderr = w.run(t, "render", "--include-secrets", "-o", parity)
			compareWithHelm(t, charts, parity, stderr)
		})
	}
}

// noInputRefs fails the test when an object file of a render tree (all
// but the Plan) refers to a deploy-time input: such objects are left out
// of what a GitOps engine applies.
func noInputRefs(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == "plan.yaml" {
			return err
		}
		data, err := os.ReadFile(path)
		if bytes.Contains(data, []byte("((input ")) {
			t.Errorf("%s refers to a deploy-time input", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// lastLine is the last line of s, without the newline.
func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}

// compareWithHelm compares, for every cluster of a `wookie render` tree
// (dir/<cluster>/plan.yaml and .../<batch>/<bundle>.yaml), the objects of
// each chart bundle with Helm's: the chart archive from the repository
// folder charts, checked against the Plan's digest; the Plan's values,
// release name and namespace (the bundle's), the cluster's Kubernetes
// version; skipSchemaValidation as the bundle says. An object that refers
// to a deploy-time input (((input NAME))) is left out of render's output
// with a note: it must be left out, and the note (in stderr, render's)
// must name it.
func compareWithHelm(t *testing.T, charts, dir, stderr string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	clusters := 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		clusters++
		p := readPlan(t, filepath.Join(dir, e.Name(), "plan.yaml"))
		if len(p.Clusters) != 1 {
			t.Fatalf("%s/plan.yaml: %d clusters", e.Name(), len(p.Clusters))
		}
		pc := &p.Clusters[0]
		var batches [][]paritytest.Bundle
		chartBundles := map[string]string{}
		var rendered []paritytest.Rendered
		inPlan := map[string]bool{}
		for _, pb := range pc.Batches {
			var batch []paritytest.Bundle
			for _, u := range pb.Bundles {
				inPlan[u.Name] = true
				b := paritytest.Bundle{Name: u.Name, Namespace: u.Namespace, CRDs: u.CRDs, DependsOn: u.DependsOn}
				switch {
				case u.Chart != nil:
					b.Archive = chartArchive(t, charts, u.Chart)
					b.Values = chartValues(t, u.Name, u.Chart)
					b.SkipSchemaValidation = u.Chart.SkipSchemaValidation
					chartBundles[u.Name] = u.CRDs
				case len(u.Manifests) > 0:
					for _, m := range u.Manifests {
						b.Manifests = append(b.Manifests, map[string]any(m))
					}
				}
				batch = append(batch, b)
			}
			batches = append(batches, batch)
			files, err := filepath.Glob(filepath.Join(dir, e.Name(), pb.Name, "*.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				name := strings.TrimSuffix(filepath.Base(f), ".yaml")
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				rendered = append(rendered, paritytest.Rendered{Name: name, YAML: data})
			}
		}
		for i := range rendered {
			rendered[i].Generated = !inPlan[rendered[i].Name]
		}
		if len(chartBundles) == 0 {
			t.Fatalf("cluster %s: no chart bundles", pc.Name)
		}
		helm := paritytest.Helm(t, pc.KubeVersion, batches)
		for name, objs := range helm {
			for id, docs := range objs {
				kept := slices.DeleteFunc(docs, func(doc string) bool { return strings.Contains(doc, "((input ") })
				if len(kept) == len(docs) {
					continue
				}
				kind, ref, _ := strings.Cut(id, " ")
				note := fmt.Sprintf("cluster %s: bundle %s: %s %s (", pc.Name, name, strings.SplitN(kind, ".", 2)[0], ref)
				if !slices.ContainsFunc(strings.Split(stderr, "\n"), func(line string) bool {
					return strings.Contains(line, note) && strings.Contains(line, "is left out: it refers to input")
				}) {
					t.Errorf("render left out %s of bundle %s without a note %q... is left out: it refers to input:\n%s", id, name, note, stderr)
				}
				if len(kept) == 0 {
					delete(objs, id)
				} else {
					objs[id] = kept
				}
			}
		}
		got := paritytest.Wookie(t, pc.Name, rendered, chartBundles)
		for name := range chartBundles {
			if len(helm[name]) == 0 {
				t.Errorf("cluster %s: bundle %s: helm template gave no objects", pc.Name, name)
			}
			if diff := cmp.Diff(helm[name], got[name]); diff != "" {
				t.Errorf("cluster %s: bundle %s: wookie's objects differ from helm template's (-helm +wookie):\n%s", pc.Name, name, diff)
			}
		}
	}
	if clusters == 0 {
		t.Fatalf("%s: no clusters rendered", dir)
	}
}

// readPlan reads the Plan a render tree holds for one cluster.
func readPlan(t *testing.T, path string) *plan.Plan {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	p, err := plan.Decode(js, path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// chartArchive reads a chart's archive from the repository folder, as
// NAME-VERSION.tgz, and checks it against the Plan's digest.
func chartArchive(t *testing.T, dir string, c *plan.Chart) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("%s-%s.tgz", c.Name, c.Version)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got := "sha256:" + hex.EncodeToString(sum[:]); c.Digest != "" && got != c.Digest {
		t.Fatalf("chart %s@%s: digest %s, the Plan says %s", c.Name, c.Version, got, c.Digest)
	}
	return data
}

// chartValues are a chart bundle's values as wookie gives them to Helm:
// the Plan's, integers as int64.
func chartValues(t *testing.T, bundle string, c *plan.Chart) map[string]any {
	t.Helper()
	values := map[string]any{}
	if len(c.Values) == 0 {
		return values
	}
	js, err := json.Marshal(c.Values)
	if err != nil {
		t.Fatalf("bundle %s: values: %v", bundle, err)
	}
	if err := utiljson.Unmarshal(js, &values); err != nil {
		t.Fatalf("bundle %s: values: %v", bundle, err)
	}
	return values
}
