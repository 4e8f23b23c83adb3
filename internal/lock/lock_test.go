package lock

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
)

const (
	d1 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	d2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func entry(repo, name, version, resolved, digest string) Entry {
	return Entry{Ref: Ref{Repo: repo, Name: name, Version: version}, ResolvedVersion: resolved, URL: repo + "/" + name + "-" + resolved + ".tgz", Digest: digest}
}

// TestEncodeDecode checks that encoding is sorted and stable and decodes
// back to the same entries.
func TestEncodeDecode(t *testing.T) {
	f := New()
	f.Set(entry("https://b.test/charts", "zeta", "1.0.0", "1.0.0", d1))
	f.Set(entry("https://a.test/charts", "alpha", "~1.2", "1.2.9", d2))
	f.Set(entry("https://a.test/charts", "alpha", "1.0.0", "1.0.0", d1))
	got := string(f.Encode())
	want := `# Written by wookie lock. Pins every chart by version and content digest.
apiVersion: wookie.dev/v1alpha1
kind: Lock
charts:
- repo: "https://a.test/charts"
  name: "alpha"
  version: "1.0.0"
  resolvedVersion: "1.0.0"
  url: "https://a.test/charts/alpha-1.0.0.tgz"
  digest: "` + d1 + `"
- repo: "https://a.test/charts"
  name: "alpha"
  version: "~1.2"
  resolvedVersion: "1.2.9"
  url: "https://a.test/charts/alpha-1.2.9.tgz"
  digest: "` + d2 + `"
- repo: "https://b.test/charts"
  name: "zeta"
  version: "1.0.0"
  resolvedVersion: "1.0.0"
  url: "https://b.test/charts/zeta-1.0.0.tgz"
  digest: "` + d1 + `"
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("encode (-want +got):\n%s", diff)
	}
	back, err := Decode([]byte(got), "wookie.lock")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, back, cmp.AllowUnexported(File{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if string(back.Encode()) != got {
		t.Error("re-encoding changed the bytes")
	}
	if got := string(New().Encode()); !strings.HasSuffix(got, "charts: []\n") {
		t.Errorf("empty lock: %q", got)
	}
}

// TestDecodeErrors gives each kind of broken lock file and its message.
func TestDecodeErrors(t *testing.T) {
	head := "apiVersion: wookie.dev/v1alpha1\nkind: Lock\n"
	good := `- repo: r
  name: web
  version: "1"
  resolvedVersion: "1"
  url: u
  digest: ` + d1 + "\n"
	tests := []struct{ name, in, want string }{
		{"wrong kind", "apiVersion: wookie.dev/v1alpha1\nkind: Plan\n", `wookie.lock: apiVersion "wookie.dev/v1alpha1", kind "Plan": want apiVersion wookie.dev/v1alpha1, kind Lock`},
		{"unknown field", head + "charts:\n- repo: r\n  nmae: n\n", `wookie.lock: unknown field "nmae"`},
		{"bad digest", head + "charts:\n- repo: r\n  name: web\n  version: \"1\"\n  resolvedVersion: \"1\"\n  url: u\n  digest: md5:abc\n", `wookie.lock: charts[0] (web@1 from r): digest "md5:abc" is not sha256:<64 hex digits>`},
		{"missing url", head + "charts:\n- repo: r\n  name: web\n  version: \"1\"\n  resolvedVersion: \"1\"\n  digest: " + d1 + "\n", `wookie.lock: charts[0] (web@1 from r): resolvedVersion and url are required`},
		{"duplicate", head + "charts:\n" + good + good, `wookie.lock: charts[1]: web@1 from r is pinned twice`},
		{"not yaml", "\t: :", "wookie.lock:1:1: YAML syntax error: found character that cannot start any token"},
		{"mapping in a scalar", head + "charts:\n- repo: r\n  name: web: x\n", "wookie.lock:5:12: YAML syntax error: mapping values are not allowed in this context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.in), "wookie.lock")
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestApply pins a Plan's charts and reports the ones without an entry.
func TestApply(t *testing.T) {
	mk := func() *plan.Plan {
		return &plan.Plan{Clusters: []plan.Cluster{{Name: "c", Batches: []plan.Batch{{Name: "b", Bundles: []plan.Bundle{
			{Name: "a", Chart: &plan.Chart{Repo: "https://a.test/charts", Name: "alpha", Version: "~1.2"}},
			{Name: "m", Manifests: []plan.Object{{"kind": "ConfigMap"}}},
			{Name: "z", Chart: &plan.Chart{Repo: "https://b.test/charts", Name: "zeta", Version: "1.0.0"}},
			{Name: "z2", Chart: &plan.Chart{Repo: "https://b.test/charts", Name: "zeta", Version: "1.0.0"}},
		}}}}}}
	}
	f := New()
	f.Set(entry("https://a.test/charts", "alpha", "~1.2", "1.2.9", d2))
	p := mk()
	if diff := cmp.Diff([]Ref{{"https://a.test/charts", "alpha", "~1.2"}, {"https://b.test/charts", "zeta", "1.0.0"}}, Refs(p)); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	missing, err := Apply(p, f)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Ref{{"https://b.test/charts", "zeta", "1.0.0"}}, missing); diff != "" {
		t.Errorf("missing (-want +got):\n%s", diff)
	}
	got := p.Clusters[0].Batches[0].Bundles[0].Chart
	if got.Version != "1.2.9" || got.Digest != d2 {
		t.Errorf("pinned chart: %+v", got)
	}

	// A Plan that already carries another digest conflicts.
	p = mk()
	p.Clusters[0].Batches[0].Bundles[0].Chart.Digest = d1
	if _, err := Apply(p, f); err == nil || !strings.Contains(err.Error(), "the Plan pins digest "+d1+", the lock file "+d2) {
		t.Errorf("conflict: got %v", err)
	}
}
