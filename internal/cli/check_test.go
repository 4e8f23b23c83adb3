package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/check"
	"wookie.dev/wookie/internal/render/rendertest"
	"wookie.dev/wookie/internal/testgen"
)

// catalogRepo serves the Istio-shaped test charts at the catalog's version
// and at 1.29.6 (examples/kubeconfig-yaml), and the Percona-shaped ones,
// from a chart repository on 127.0.0.1.
func catalogRepo(t *testing.T) *charttest.Repo {
	t.Helper()
	var charts [][]byte
	for _, c := range []charttest.Chart{rendertest.Base(), rendertest.Istiod(), rendertest.Gateway()} {
		charts = append(charts, charttest.Package(t, c))
		c.Version = "1.29.6"
		charts = append(charts, charttest.Package(t, c))
	}
	charts = append(charts, charttest.Package(t, rendertest.Operator()), charttest.Package(t, rendertest.PXCDB()))
	return charttest.NewRepo(t, charttest.RepoOptions{}, charts...)
}

// catalogMirror is a configuration file pointing the catalog at repo.
func catalogMirror(repo string) []byte {
	return []byte("package wookie\n" + rendertest.IstioMirrorConfig(repo) + rendertest.PerconaMirrorConfig(repo))
}

// TestCheckDefaultAndExamples: the embedded default and every example pass
// wookie check --strict: no error, no warning, and only the finding the
// wookie project skips with its reason (the gateway's image: auto).
func TestCheckDefaultAndExamples(t *testing.T) {
	repo := catalogRepo(t)
	configs := map[string][]string{}
	for name, files := range testgen.Examples(t) {
		configs[name] = []string{"-f", "wookie.cue"}
		if files != nil {
			configs[name] = []string{"-f", files[0]}
		}
	}
	for name, files := range configs {
		t.Run(name, func(t *testing.T) {
			workIn(t, t.TempDir(), "targets: \"local-k3d\": enable: true\nprojects: wookie: enable: true\n")
			if err := os.WriteFile("mirror.cue", catalogMirror(repo.URL), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"check", "--strict", "-f", "mirror.cue"}, files...)
			code, out, stderr := run(t, args...)
			if code != 0 {
				t.Fatalf("check: exit %d\n%s%s", code, out, stderr)
			}
			if !strings.Contains(out, "\n0 errors, 0 warnings, ") || strings.Contains(out, "note:") {
				t.Errorf("report:\n%s", out)
			}
			code, out, _ = run(t, append(args, "-o", "json")...)
			var r check.Report
			if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
				t.Fatalf("json report: exit %d, %v\n%s", code, err, out)
			}
			if r.Kind != "CheckReport" || r.Objects == 0 || r.Errors+r.Warnings != 0 || len(r.UnusedSkips) > 0 {
				t.Errorf("json report: %+v", r)
			}
			// What is skipped is the gateways' image: auto, with its reason.
			for _, f := range r.Findings {
				if f.Skipped == "" || (f.Bundle != "istio-ingressgateway" && f.Bundle != "istio-eastwestgateway") || f.Rule != "image-tag" {
					t.Errorf("finding not skipped as the wookie project says: %+v", f)
				}
			}
		})
	}
}
