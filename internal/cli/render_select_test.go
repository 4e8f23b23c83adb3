package cli

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/render/rendertest"
)

// TestRenderSelection renders part of the Plan: only the picked bundles'
// files are written, a picked batch's folder whole (stale files removed),
// every other file of the output stays as it was, the
// skip of an unchanged output knows the part, -o - streams the part, check
// reports on it, and names the Plan lacks are usage errors naming what it
// has.
func TestRenderSelection(t *testing.T) {
	repo := charttest.NewRepo(t, charttest.RepoOptions{},
		charttest.Package(t, rendertest.Base()), charttest.Package(t, rendertest.Istiod()), charttest.Package(t, rendertest.Gateway()))
	workIn(t, t.TempDir(), "targets: \"local-k3d\": enable: true\nprojects: wookie: enable: true\n"+rendertest.IstioMirrorConfig(repo.URL))
	if code, _, stderr := run(t, "lock"); code != 0 {
		t.Fatalf("lock: %s", stderr)
	}
	if code, _, stderr := run(t, "render"); code != 0 {
		t.Fatalf("render: %s", stderr)
	}
	full := readTree(t, "result")
	const crds, istiod = "result/wookie-local/crds/istio-base.yaml", "result/wookie-local/operators/istiod.yaml"
	for _, f := range []string{crds, istiod} {
		if err := os.WriteFile(f, []byte("edited\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	code, _, stderr := run(t, "render", "--batch", "crds")
	if code != 0 || !strings.Contains(stderr, "✓ result: ") {
		t.Fatalf("render --batch crds: exit %d: %s", code, stderr)
	}
	want := overlay(full, map[string]string{"wookie-local/operators/istiod.yaml": "edited\n"})
	if diff := cmp.Diff(want, readTree(t, "result")); diff != "" {
		t.Errorf("render --batch crds: the output (-want +got):\n%s", diff)
	}
	// The same part again is skipped; all of it is not.
	if code, _, stderr := run(t, "render", "--batch", "100"); code != 0 || strings.Contains(stderr, "unchanged") {
		t.Errorf("render --batch 100 after --batch crds: the part is another: exit %d: %s", code, stderr)
	}
	if code, _, stderr := run(t, "render", "--batch", "100"); code != 0 || !strings.Contains(stderr, "unchanged: nothing changed") {
		t.Errorf("render --batch 100 again: not skipped: exit %d: %s", code, stderr)
	}
	if code, _, stderr := run(t, "render", "--bundle", "istiod", "--cluster", "wookie-local"); code != 0 || !strings.Contains(stderr, " in 1 bundles, 1 clusters") {
		t.Errorf("render --bundle istiod: exit %d: %s", code, stderr)
	}
	if diff := cmp.Diff(full, readTree(t, "result")); diff != "" {
		t.Errorf("render --bundle istiod did not write istiod's file as a full render does (-want +got):\n%s", diff)
	}

	// A picked batch's folder is rewritten whole: the file of a bundle
	// that left it is removed. A bundle named writes its file only; the
	// rest of the output stays as it was.
	for _, f := range []string{"result/wookie-local/crds/gone.yaml", "result/wookie-local/operators/gone.yaml"} {
		if err := os.WriteFile(f, []byte("stale\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll("result/wookie-local/crds/old", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("result/wookie-local/crds/old/x.yaml", []byte("stale\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want = overlay(full, map[string]string{"wookie-local/operators/gone.yaml": "stale\n"})
	if code, _, stderr := run(t, "render", "--batch", "crds"); code != 0 {
		t.Fatalf("render --batch crds over stale files: exit %d: %s", code, stderr)
	}
	if diff := cmp.Diff(want, readTree(t, "result")); diff != "" {
		t.Errorf("render --batch crds over stale files (-want +got):\n%s", diff)
	}
	if _, err := os.Stat("result/wookie-local/crds/old"); err == nil {
		t.Error("render --batch crds left the folder old in the batch's folder")
	}
	if code, _, stderr := run(t, "render", "--bundle", "istiod"); code != 0 {
		t.Fatalf("render --bundle istiod over a stale file: exit %d: %s", code, stderr)
	}
	if diff := cmp.Diff(want, readTree(t, "result")); diff != "" {
		t.Errorf("render --bundle istiod removed or changed another file of its batch (-want +got):\n%s", diff)
	}

	// -o - streams the part.
	code, out, _ := run(t, "render", "-o", "-", "--batch", "operators", "--bundle", "istio-base")
	if code != 0 || !strings.Contains(out, "bundle istio-base\n") || !strings.Contains(out, "bundle istiod\n") || strings.Contains(out, "bundle istio-ingressgateway") || strings.Contains(out, "bundle ns-wookie") {
		t.Errorf("render -o - --batch operators --bundle istio-base: exit %d:\n%s", code, head(out))
	}

	// check reports on the part.
	code, _, stderr = run(t, "check", "--batch", "namespaces")
	if code != 0 || !strings.Contains(stderr, "✓ check: 3 objects in 1 clusters") {
		t.Errorf("check --batch namespaces: exit %d: %s", code, stderr)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown batch", []string{"render", "--batch", "apps"}, "batch apps: no such batch in the selected clusters (they have crds (100), namespaces (200), operators (300), services (600))"},
		{"unknown priority", []string{"check", "--batch", "999"}, "batch 999: no such batch"},
		{"unknown bundle", []string{"render", "--bundle", "istio"}, "bundle istio: no such bundle in the selected clusters (they have istio-base, istio-ingressgateway, istiod, ns-istio-ingress, ns-istio-system, ns-wookie)"},
		{"unknown cluster", []string{"render", "--cluster", "east", "--batch", "crds"}, "cluster east: no such cluster in the Plan (it has wookie-local)"},
		{"status", []string{"status", "--bundle", "istio"}, "bundle istio: no such bundle"},
		{"deploy", []string{"deploy", "--until", "apps"}, "batch apps: no such batch"},
		{"diff", []string{"diff", "--batch", "apps"}, "batch apps: no such batch"},
		{"until and batch", []string{"deploy", "--until", "crds", "--batch", "crds"}, "--until and --batch exclude each other"},
		{"a GitOps format", []string{"render", "--format", "fleet", "--batch", "crds", "-o", "fleet"}, "only with --format manifests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("%v: exit %d, want 2 and %q: %s", tc.args, code, tc.want, stderr)
			}
		})
	}
	if _, err := os.Stat("fleet"); err == nil {
		t.Error("render --format fleet with a selection wrote its output")
	}
}

// overlay returns a copy of base with the files of over, by path.
func overlay(base, over map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// head is the first lines of s, for a failure message.
func head(s string) string {
	lines := strings.SplitN(s, "\n", 20)
	return strings.Join(lines[:min(len(lines), 19)], "\n")
}
