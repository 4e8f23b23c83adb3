package cli

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/render/rendertest"
)

// renderSetup writes the embedded default configuration with the Istio
// charts mirrored to local test charts, in a fresh directory it changes
// into, with its own cache.
func renderSetup(t *testing.T, mirror, extra string) string {
	t.Helper()
	dir := t.TempDir()
	rendertest.WriteIstio(t, filepath.Join(dir, "charts"))
	cfg := "targets: \"local-k3d\": enable: true\nprojects: wookie: enable: true\n" + rendertest.IstioMirrorConfig(mirror) + extra
	workIn(t, dir, cfg)
	return dir
}

// readTree reads every file under dir, by slash path.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// compareTree compares got with the golden tree dir, rewriting dir first
// with -update.
func compareTree(t *testing.T, dir string, got map[string]string) {
	t.Helper()
	if *update {
		os.RemoveAll(dir)
		for name, data := range got {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if diff := cmp.Diff(readTree(t, dir), got); diff != "" {
		t.Errorf("tree differs from %s (-want +got):\n%s", dir, diff)
	}
}

// TestRenderDefaultGolden renders the embedded default against local
// charts shaped like Istio's and compares the tree with
// testdata/render/default (-update rewrites it). A second render gives the
// same bytes.
func TestRenderDefaultGolden(t *testing.T) {
	golden, err := filepath.Abs("testdata/render/default")
	if err != nil {
		t.Fatal(err)
	}
	renderSetup(t, "./charts", "")
	if code, _, stderr := run(t, "lock"); code != 0 {
		t.Fatalf("lock: %s", stderr)
	}
	code, _, stderr := run(t, "render", "--locked")
	if code != 0 {
		t.Fatalf("render: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "warning: bundle istiod: chart istiod has Helm hooks: 3 kept, which wookie deploy runs as Helm does") || !strings.Contains(stderr, "1 test hook objects kept apart, which only wookie test applies; 0 delete or rollback hooks dropped") {
		t.Errorf("no hook warning: %s", stderr)
	}
	got := readTree(t, "result")
	compareTree(t, golden, got)

	// The tree's layout.
	var names []string
	for n := range got {
		names = append(names, n)
	}
	slices.Sort(names)
	wantNames := []string{
		".wookie-output",
		"wookie-local/crds/istio-base.yaml",
		"wookie-local/namespaces/ns-istio-ingress.yaml",
		"wookie-local/namespaces/ns-istio-system.yaml",
		"wookie-local/namespaces/ns-wookie.yaml",
		"wookie-local/operators/istiod.yaml",
		"wookie-local/plan.yaml",
		"wookie-local/services/istio-ingressgateway.yaml",
	}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}

	// Determinism: render again, with and without the render cache.
	for _, args := range [][]string{{"render"}, {"render", "--no-cache"}} {
		if code, _, stderr := run(t, args...); code != 0 {
			t.Fatalf("%v: %s", args, stderr)
		}
		if diff := cmp.Diff(got, readTree(t, "result")); diff != "" {
			t.Errorf("%v gave other bytes (-first +again):\n%s", args, diff)
		}
	}

	// -o - is one stream in deploy order.
	code, out, _ := run(t, "render", "-o", "-")
	if code != 0 {
		t.Fatal("render -o -")
	}
	order := []string{"bundle istio-base", "bundle ns-istio-ingress", "bundle ns-istio-system", "bundle ns-wookie", "bundle istiod", "bundle istio-ingressgateway"}
	last := -1
	for _, o := range order {
		i := strings.Index(out, "# cluster wookie-local, batch ")
		_ = i
		at := strings.Index(out, o+"\n")
		if at < last {
			t.Errorf("%s out of deploy order in the stream", o)
		}
		last = at
	}
}

// TestRenderAtomic breaks the configuration after a good render: the
// failing render leaves the previous tree byte for byte, and no temporary
// directory behind.
func TestRenderAtomic(t *testing.T) {
	dir := renderSetup(t, "./charts", "")
	if code, _, stderr := run(t, "render"); code != 0 {
		t.Fatalf("render: %s", stderr)
	}
	before := readTree(t, "result")
	cfg, _ := os.ReadFile("wookie.cue")
	bad := append(cfg, []byte("projects: wookie: istio: values: istiod: replicaCount: \"three\"\n")...)
	if err := os.WriteFile("wookie.cue", bad, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := run(t, "render")
	if code != 1 || out != "" {
		t.Fatalf("render of a broken chart value: exit %d, stdout %q", code, out)
	}
	if !strings.Contains(stderr, "cluster wookie-local: bundle istiod: chart istiod@1.30.3: values:") || !strings.Contains(stderr, "replicaCount") {
		t.Errorf("message: %s", stderr)
	}
	if diff := cmp.Diff(before, readTree(t, "result")); diff != "" {
		t.Errorf("the failed render changed the tree (-before +after):\n%s", diff)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".result.*"))
	if len(leftovers) > 0 {
		t.Errorf("left behind: %v", leftovers)
	}

	// A directory wookie did not write is never replaced.
	if err := os.MkdirAll("mine", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("mine/notes.txt", []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("wookie.cue", cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, "render", "-o", "mine")
	if code != 1 || !strings.Contains(stderr, "refusing to replace mine: it is not empty and wookie did not write it") {
		t.Errorf("render -o mine: %d %s", code, stderr)
	}
	if data, _ := os.ReadFile("mine/notes.txt"); !bytes.Equal(data, []byte("keep me")) {
		t.Error("a user's directory was touched")
	}
}

// TestRenderFromHTTPRepository is the acceptance: charts from a
// chart repository on 127.0.0.1, CRDs separated into the crds batch,
// namespaces only where they belong, byte-identical on a second run.
func TestRenderFromHTTPRepository(t *testing.T) {
	var archives [][]byte
	for _, c := range []charttest.Chart{rendertest.Base(), rendertest.Istiod(), rendertest.Gateway(), rendertest.Operator()} {
		archives = append(archives, charttest.Package(t, c))
	}
	repo := charttest.NewRepo(t, charttest.RepoOptions{}, archives...)
	renderSetup(t, repo.URL, `clusters: "wookie-local": batches: {
	operators: bundles: "pxc-operator": {namespace: "pxc", chart: {repo: "`+repo.URL+`", name: "pxc-operator", version: "1.20.0"}}
	services: bundles: db: {
		namespace: "pxc"
		dependsOn: db: ["pxc-operator"]
		manifests: db: [{apiVersion: "pxc.percona.com/v1", kind: "PerconaXtraDBCluster", metadata: name: "db", spec: crVersion: "1.20.0"}]
	}
}
`)
	if code, _, stderr := run(t, "lock"); code != 0 {
		t.Fatalf("lock: %s", stderr)
	}
	if code, _, stderr := run(t, "render", "--locked"); code != 0 {
		t.Fatalf("render: %s", stderr)
	}
	first := readTree(t, "result")
	crds := first["wookie-local/crds/pxc-operator-crds.yaml"]
	if !strings.Contains(crds, "kind: CustomResourceDefinition") || !strings.Contains(crds, "name: perconaxtradbclusters.pxc.percona.com") || strings.Contains(crds, "namespace:") {
		t.Errorf("crds/pxc-operator-crds.yaml:\n%s", crds)
	}
	op := first["wookie-local/operators/pxc-operator.yaml"]
	if strings.Contains(op, "CustomResourceDefinition") || !strings.Contains(op, "namespace: pxc") || !strings.Contains(op, `value: pxc`) {
		t.Errorf("operators/pxc-operator.yaml:\n%s", op)
	}
	if db := first["wookie-local/services/db.yaml"]; !strings.Contains(db, "namespace: pxc") {
		t.Errorf("the custom resource got no namespace:\n%s", db)
	}
	istiod := first["wookie-local/operators/istiod.yaml"]
	for _, doc := range strings.Split(istiod, "---\n")[1:] {
		var obj struct {
			Kind     string
			Metadata struct{ Namespace string }
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		clusterScoped := slices.Contains([]string{"ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration"}, obj.Kind)
		if clusterScoped != (obj.Metadata.Namespace == "") {
			t.Errorf("%s has namespace %q:\n%s", obj.Kind, obj.Metadata.Namespace, doc)
		}
	}
	// Offline, from the caches, byte for byte the same.
	repo.Close()
	if code, _, stderr := run(t, "render", "--offline", "--locked"); code != 0 {
		t.Fatalf("render --offline: %s", stderr)
	}
	if diff := cmp.Diff(first, readTree(t, "result")); diff != "" {
		t.Errorf("second render differs (-first +second):\n%s", diff)
	}
	// Unreachable without --offline and without the render cache: a clear
	// message with the hint.
	code, _, stderr := run(t, "render", "--locked", "--cache-dir", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "connection refused") || !strings.Contains(stderr, "hint: a chart repository or registry cannot be reached") {
		t.Errorf("render with the repository gone: %d %s", code, stderr)
	}
}
