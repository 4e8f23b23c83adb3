package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/render/rendertest"
)

// A render whose output already holds what it would write is skipped,
// saying so and repeating the notes of the render that wrote it; an output
// changed by hand, a changed configuration or other flags render again.
func TestRenderSkipsUnchangedOutput(t *testing.T) {
	dir := t.TempDir()
	repo := charttest.NewRepo(t, charttest.RepoOptions{},
		charttest.Package(t, rendertest.Base()), charttest.Package(t, rendertest.Istiod()), charttest.Package(t, rendertest.Gateway()))
	cfg := "targets: \"local-k3d\": enable: true\nprojects: wookie: enable: true\n" + rendertest.IstioMirrorConfig(repo.URL)
	workIn(t, dir, cfg)
	if code, _, stderr := run(t, "lock"); code != 0 {
		t.Fatalf("lock: %d %s", code, stderr)
	}
	code, _, first := run(t, "render", "-o", "out")
	if code != 0 || strings.Contains(first, "unchanged") {
		t.Fatalf("first render: %d\n%s", code, first)
	}
	tree := readTree(t, "out")

	code, _, second := run(t, "render", "-o", "out")
	if code != 0 || !strings.Contains(second, "unchanged: nothing changed since it was written") {
		t.Fatalf("second render was not skipped: %d\n%s", code, second)
	}
	// The notes of the render that wrote it come again, the summary too.
	notes := func(s string) []string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if strings.HasPrefix(l, "note: ") || strings.HasPrefix(l, "warning: ") {
				out = append(out, l)
			}
		}
		return out
	}
	if diff := cmp.Diff(notes(first), notes(second)); diff != "" {
		t.Errorf("notes of the skipped render (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(tree, readTree(t, "out")); diff != "" {
		t.Errorf("a skipped render changed the output:\n%s", diff)
	}

	// A file changed by hand: rendered again, the file restored.
	var name string
	for n := range tree {
		if strings.HasSuffix(n, "istiod.yaml") {
			name = n
		}
	}
	if err := os.WriteFile(filepath.Join("out", name), []byte("edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "render", "-o", "out"); code != 0 || strings.Contains(stderr, "unchanged") {
		t.Errorf("render over an edited output: %d\n%s", code, stderr)
	}
	if diff := cmp.Diff(tree, readTree(t, "out")); diff != "" {
		t.Errorf("the edited output was not restored:\n%s", diff)
	}
	// A file added by hand too.
	if err := os.WriteFile(filepath.Join("out", "extra.yaml"), []byte("x: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "render", "-o", "out"); code != 0 || strings.Contains(stderr, "unchanged") {
		t.Errorf("render over an output with an extra file: %d\n%s", code, stderr)
	}

	// Other flags or another configuration: rendered again.
	if code, _, stderr := run(t, "render", "-o", "out", "--check"); code != 0 || strings.Contains(stderr, "unchanged") {
		t.Errorf("render --check after a render without: %d\n%s", code, stderr)
	}
	if err := os.WriteFile("wookie.cue", []byte(cfg+"charts: istio: gateway: skipSchemaValidation: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := run(t, "render", "-o", "out")
	if code != 0 || strings.Contains(stderr, "unchanged") {
		t.Errorf("render of a changed configuration: %d\n%s", code, stderr)
	}
	// --no-cache always renders.
	if code, _, stderr := run(t, "render", "-o", "out", "--no-cache"); code != 0 || strings.Contains(stderr, "unchanged") {
		t.Errorf("render --no-cache: %d\n%s", code, stderr)
	}
}
