package render

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"

	"wookie.dev/wookie/internal/chart"
	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/plan"
)

// keeper is a chart that, like pxc-db, makes a password at render time
// unless lookup finds the object of the kind given (Secret or ConfigMap)
// that holds it, through a helper that templates/secret.yaml includes.
func keeper(kind string) charttest.Chart {
	return charttest.Chart{Name: "keeper", Version: "1.0.0", Files: map[string]string{
		"templates/_helpers.tpl": `{{- define "keeper.existing" -}}
{{- lookup "v1" "` + kind + `" .Release.Namespace (printf "%s-pass" .Release.Name) | toJson -}}
{{- end -}}
{{- define "keeper.password" -}}
{{- $existing := include "keeper.existing" . | fromJson -}}
{{- if $existing -}}{{ index $existing.data "password" }}{{- else -}}{{ randAlphaNum 24 | b64enc }}{{- end -}}
{{- end -}}
`,
		"templates/secret.yaml": `apiVersion: v1
kind: ` + kind + `
metadata:
  name: {{ .Release.Name }}-pass
data:
  password: {{ include "keeper.password" . }}
`,
		"templates/plain.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keeper-plain\n",
	}}
}

// lister is a chart that counts the ConfigMaps of its namespace.
func lister() charttest.Chart {
	return charttest.Chart{Name: "lister", Version: "1.0.0", Files: map[string]string{
		"templates/count.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: count
data:
  count: {{ (lookup "v1" "ConfigMap" .Release.Namespace "").items | default list | len | quote }}
`,
	}}
}

// fakeLookup answers lookups from objects by "apiVersion kind
// namespace/name", lists from lists by "apiVersion kind namespace", and
// counts the calls.
type fakeLookup struct {
	objects map[string]map[string]any
	lists   map[string][]any
	err     error

	mu    sync.Mutex
	calls int
}

func (f *fakeLookup) Lookup(_ context.Context, apiVersion, kind, namespace, name string) (map[string]any, error) {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	if name == "" {
		items, ok := f.lists[apiVersion+" "+kind+" "+namespace]
		if !ok {
			return map[string]any{}, nil
		}
		return map[string]any{"apiVersion": "v1", "kind": kind + "List", "items": items}, nil
	}
	if o, ok := f.objects[apiVersion+" "+kind+" "+namespace+"/"+name]; ok {
		return o, nil
	}
	return map[string]any{}, nil
}

// stored is the object the fake cluster holds for the keeper bundle.
var stored = map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "keeper-pass", "namespace": "db"},
	"data": map[string]any{"password": "c2VjcmV0"}}

// passwordOf returns the password of the keeper object a render made.
func passwordOf(t *testing.T, r *Result) string {
	t.Helper()
	for _, o := range r.Clusters[0].Batches[0].Bundles[0].Objects {
		if o.GetName() == "keeper-pass" {
			data, _ := o.Object["data"].(map[string]any)
			s, _ := data["password"].(string)
			return s
		}
	}
	t.Fatal("no keeper-pass rendered")
	return ""
}

func lookupPlan(t *testing.T, bundles ...plan.Bundle) *plan.Plan {
	return mkPlan(t, plan.Batch{Name: "apps", Priority: 1, Bundles: bundles})
}

// TestLookup renders charts that call lookup: offline every call is
// answered empty and one warning per bundle names the templates that call
// it, through the helpers they include; with a Lookup the chart sees the
// live objects and nothing is said.
func TestLookup(t *testing.T) {
	src := charts(t, keeper("Secret"), lister(), charttest.Chart{Name: "plain", Version: "1.0.0", Files: map[string]string{
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
	}})
	cms := []any{map[string]any{"metadata": map[string]any{"name": "a"}}, map[string]any{"metadata": map[string]any{"name": "b"}}}
	tests := []struct {
		name         string
		lookup       Lookup
		later        bool   // Options.LookupLater
		wantPassword string // "" for a random one
		wantCount    string
		wantWarnings []string
		wantErr      string
	}{{
		name:      "offline",
		wantCount: "0",
		wantWarnings: []string{
			"bundle keeper: chart keeper calls lookup (keeper/templates/secret.yaml): rendered as helm template does, as if the cluster had none of the objects it looks up; wookie deploy and diff answer it from the live cluster",
			"bundle lister: chart lister calls lookup (lister/templates/count.yaml): rendered as helm template does, as if the cluster had none of the objects it looks up; wookie deploy and diff answer it from the live cluster",
		},
	}, {
		name:      "offline, answered later",
		later:     true,
		wantCount: "0",
	}, {
		name:         "live",
		lookup:       &fakeLookup{objects: map[string]map[string]any{"v1 Secret db/keeper-pass": stored}, lists: map[string][]any{"v1 ConfigMap db": cms}},
		wantPassword: "c2VjcmV0",
		wantCount:    "2",
	}, {
		name:      "live, nothing there",
		lookup:    &fakeLookup{},
		wantCount: "0",
	}, {
		name:    "live, the lookup fails",
		lookup:  &fakeLookup{err: errors.New("the server is on fire")},
		wantErr: `lookup v1 Secret db/keeper-pass: the server is on fire`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := lookupPlan(t, chartBundle("keeper", "db", "keeper"), chartBundle("lister", "db", "lister"), chartBundle("plain", "db", "plain"))
			r, err := Render(context.Background(), p, Options{Charts: src, Lookup: tc.lookup, LookupLater: tc.later, IncludeSecrets: true})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "bundle keeper: chart keeper@1.0.0") {
					t.Fatalf("got error %v, want one naming bundle keeper and %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantWarnings, r.Warnings); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			got := passwordOf(t, r)
			switch {
			case tc.wantPassword == "" && (got == "" || got == stored["data"].(map[string]any)["password"]):
				t.Errorf("password %q, want a random one", got)
			case tc.wantPassword != "" && got != tc.wantPassword:
				t.Errorf("password %q, want %q from the live Secret", got, tc.wantPassword)
			}
			bundles := r.Clusters[0].Batches[0].Bundles
			count := bundles[1].Objects[0].Object["data"].(map[string]any)["count"]
			if count != tc.wantCount {
				t.Errorf("ConfigMaps counted: %v, want %s", count, tc.wantCount)
			}
			lookups := map[string][]string{}
			for _, b := range bundles {
				if b.Lookups != nil {
					lookups[b.Name] = b.Lookups
				}
			}
			want := map[string][]string{"keeper": {"keeper/templates/secret.yaml"}, "lister": {"lister/templates/count.yaml"}}
			if diff := cmp.Diff(want, lookups); diff != "" {
				t.Errorf("Bundle.Lookups (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLookupTemplates names the templates that call lookup: through
// include and template, in subcharts, and, when no output file reaches
// the call, the files that hold it or the chart.
func TestLookupTemplates(t *testing.T) {
	call := `{{ lookup "v1" "Secret" "ns" "x" }}`
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{{
		name:  "direct",
		files: map[string]string{"templates/a.yaml": call, "templates/b.yaml": "b: 1"},
		want:  []string{"top/templates/a.yaml"},
	}, {
		name: "through template and a chain of includes, in a condition",
		files: map[string]string{
			"templates/_one.tpl": `{{ define "one" }}{{ if .x }}{{ include "two" . }}{{ end }}{{ end }}`,
			"templates/_two.tpl": `{{ define "two" }}{{ range .y }}{{ with (` + call[3:len(call)-3] + `) }}{{ . }}{{ end }}{{ end }}{{ end }}`,
			"templates/a.yaml":   `{{ template "one" . }}`,
			"templates/b.yaml":   `{{ include "other" . }}`,
			"templates/c.yaml":   `{{ define "other" }}x{{ end }}{{ include "two" . | nindent 2 }}`,
		},
		want: []string{"top/templates/a.yaml", "top/templates/c.yaml"},
	}, {
		name: "a template that includes itself",
		files: map[string]string{
			"templates/_r.tpl": `{{ define "r" }}{{ if .n }}{{ include "r" .n }}{{ end }}{{ end }}{{ define "s" }}{{ include "r" . }}` + call + `{{ end }}`,
			"templates/a.yaml": `{{ include "r" . }}`,
			"templates/b.yaml": `{{ include "s" . }}`,
		},
		want: []string{"top/templates/b.yaml"},
	}, {
		name: "in a subchart, through a helper of the parent",
		files: map[string]string{
			"templates/_h.tpl":            `{{ define "h" }}` + call + `{{ end }}`,
			"charts/sub/Chart.yaml":       "apiVersion: v2\nname: sub\nversion: 1.0.0\n",
			"charts/sub/templates/a.yaml": `{{ include "h" . }}`,
			"charts/sub/templates/b.yaml": "b: 1",
			"charts/sub/templates/_x.tpl": call,
			"charts/sub/templates/c.yaml": call,
		},
		want: []string{"top/charts/sub/templates/a.yaml", "top/charts/sub/templates/c.yaml"},
	}, {
		name: "through a computed name: the file that holds the call",
		files: map[string]string{
			"templates/_h.tpl": `{{ define "h" }}` + call + `{{ end }}`,
			"templates/a.yaml": `{{ include (printf "%s" "h") . }}`,
		},
		want: []string{"top/templates/_h.tpl"},
	}, {
		name:  "through tpl: the chart",
		files: map[string]string{"templates/a.yaml": `{{ tpl .Values.t . }}`},
		want:  []string{"top"},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch := loadTestChart(t, charttest.Chart{Name: "top", Version: "1.0.0", Files: tc.files})
			if diff := cmp.Diff(tc.want, lookupTemplates(ch)); diff != "" {
				t.Errorf("templates (-want +got):\n%s", diff)
			}
		})
	}
}

// loadTestChart builds and loads c.
func loadTestChart(t *testing.T, c charttest.Chart) *chartv2.Chart {
	t.Helper()
	ch, err := chart.Load(charttest.Package(t, c), chart.DefaultLimits, c.Name, "")
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// TestLookupCache keeps a render whose chart calls lookup in the cache
// only as answered offline: an offline render is cached and read back; a
// live one neither reads that entry nor writes its own. (The chart keeps
// its password in a ConfigMap: the cache has its own rules for Secrets.)
func TestLookupCache(t *testing.T) {
	src := charts(t, keeper("ConfigMap"))
	live := &fakeLookup{objects: map[string]map[string]any{"v1 ConfigMap db/keeper-pass": stored}}
	entries := func(dir string) map[string]string {
		out := map[string]string{}
		paths, _ := filepath.Glob(filepath.Join(dir, "render", "*", "*.json"))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			out[filepath.Base(p)] = string(data)
		}
		return out
	}
	render := func(cache *Cache, lk Lookup) string {
		t.Helper()
		r, err := Render(context.Background(), lookupPlan(t, chartBundle("keeper", "db", "keeper")), Options{Charts: src, Cache: cache, Version: "test", Lookup: lk})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Clusters[0].Batches[0].Bundles[0].Lookups; len(got) == 0 {
			t.Error("Bundle.Lookups empty")
		}
		return passwordOf(t, r)
	}

	t.Run("live first", func(t *testing.T) {
		cache := &Cache{Dir: t.TempDir()}
		if got := render(cache, live); got != "c2VjcmV0" {
			t.Errorf("password %q, want the live one", got)
		}
		if got := entries(cache.Dir); len(got) != 0 {
			t.Errorf("a live render was cached: %v", got)
		}
	})
	t.Run("offline first", func(t *testing.T) {
		cache := &Cache{Dir: t.TempDir()}
		offline := render(cache, nil)
		before := entries(cache.Dir)
		if len(before) != 1 {
			t.Fatalf("cache entries after an offline render: %d, want 1", len(before))
		}
		if again := render(cache, nil); again != offline {
			t.Errorf("a second offline render gave password %q, not the cached %q", again, offline)
		}
		calls := live.calls
		if got := render(cache, live); got != "c2VjcmV0" {
			t.Errorf("live render through a cache holding the offline render: password %q, want the live one", got)
		}
		if live.calls == calls {
			t.Error("the live render did not call lookup")
		}
		if diff := cmp.Diff(before, entries(cache.Dir)); diff != "" {
			t.Errorf("the live render changed the cache (-before +after):\n%s", diff)
		}
	})
	t.Run("live without lookup calls is cached", func(t *testing.T) {
		cache := &Cache{Dir: t.TempDir()}
		plainSrc := charts(t, charttest.Chart{Name: "plain", Version: "1.0.0", Files: map[string]string{
			"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\n",
		}})
		if _, err := Render(context.Background(), lookupPlan(t, chartBundle("plain", "db", "plain")), Options{Charts: plainSrc, Cache: cache, Lookup: live}); err != nil {
			t.Fatal(err)
		}
		if got := entries(cache.Dir); len(got) != 1 {
			t.Errorf("cache entries: %d, want 1", len(got))
		}
	})
}

// TestLookupRealChart renders the published pxc-db 1.20.0 chart offline:
// its TLS Secrets template calls lookup, and the warning says so.
func TestLookupRealChart(t *testing.T) {
	archive := filepath.Join("..", "..", "..", "shared", "realcharts", "pxc-db-1.20.0.tgz")
	data, err := os.ReadFile(archive)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the real charts are missing: %v", err)
		}
		t.Skipf("the real charts are missing (set up ../shared/realcharts): %v", err)
	}
	p := lookupPlan(t, chartBundle("pxc-db", "pxc", "pxc-db"))
	r, err := Render(context.Background(), p, Options{Charts: archives{"pxc-db": data}, AllowUnknownKinds: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "bundle pxc-db: chart pxc-db calls lookup (pxc-db/templates/cluster-ssl-secret.yaml): rendered as helm template does, as if the cluster had none of the objects it looks up; wookie deploy and diff answer it from the live cluster"
	var got []string
	for _, w := range r.Warnings {
		if strings.Contains(w, "lookup") {
			got = append(got, w)
		}
	}
	if diff := cmp.Diff([]string{want}, got); diff != "" {
		t.Errorf("lookup warnings (-want +got):\n%s", diff)
	}
}
