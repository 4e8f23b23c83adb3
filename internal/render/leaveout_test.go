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

// dbChart makes, like the pxc-db chart, a TLS Secret with a key at render
// time, and a service-account token Secret the cluster fills in and a
// ConfigMap holding the value address.
func dbChart() charttest.Chart {
	return charttest.Chart{Name: "db", Version: "1.0.0", Files: map[string]string{
		"values.yaml": "address: localhost\n",
		"templates/ssl.yaml": `apiVersion: v1
kind: Secret
metadata: {name: {{ .Release.Name }}-ssl}
type: kubernetes.io/tls
data: {tls.crt: Y2VydA==, tls.key: a2V5}
`,
		"templates/token.yaml": `apiVersion: v1
kind: Secret
metadata: {name: {{ .Release.Name }}-token, annotations: {kubernetes.io/service-account.name: reader}}
type: kubernetes.io/service-account-token
`,
		"templates/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-config}\ndata: {address: {{ .Values.address | quote }}}\n",
	}}
}

// leaveOutPlan is a Plan of cluster hub, where input addr comes from, and
// cluster c1 with: chart bundle db (dbChart) given ((input addr)) as its
// address; manifests bundle app with a Secret with stringData and a
// ConfigMap; sensitive bundle remote with a Secret holding ((input addr)).
func leaveOutPlan(t *testing.T) *plan.Plan {
	t.Helper()
	db := chartBundle("db", "db", "db")
	db.Chart.Values = plan.Object{"address": "https://" + plan.InputRef("addr") + ":15443"}
	app := manifestBundle("app", "db",
		plan.Object{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "password"}, "stringData": map[string]any{"password": "hunter2"}},
		plan.Object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "app"}})
	remote := manifestBundle("remote", "db",
		plan.Object{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "remote"}, "stringData": map[string]any{"kubeconfig": "server: " + plan.InputRef("addr")}})
	remote.Sensitive = true
	hub := manifestBundle("lb", "db", plan.Object{"apiVersion": "v1", "kind": "Service", "metadata": map[string]any{"name": "lb"}, "spec": map[string]any{"type": "LoadBalancer", "ports": []any{map[string]any{"port": 443}}}})
	p := &plan.Plan{APIVersion: plan.APIVersion, Kind: plan.Kind, Clusters: []plan.Cluster{{
		Name: "hub", Target: "test", Context: "hub", KubeVersion: "1.31.4",
		Batches: []plan.Batch{{Name: "services", Priority: 600, Bundles: []plan.Bundle{hub}}},
	}, {
		Name: "c1", Target: "test", Context: "c1", KubeVersion: "1.31.4",
		Inputs:  []plan.Input{{Name: "addr", From: plan.InputSource{Cluster: "hub", APIVersion: "v1", Kind: "Service", Namespace: "db", Name: "lb", Expression: "status.loadBalancer.ingress[0].ip"}}},
		Batches: []plan.Batch{{Name: "services", Priority: 600, Bundles: []plan.Bundle{db, app, remote}}},
	}}}
	if err := plan.Normalize(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLeaveOutObjects leaves Secrets with data out of bundles that are not
// sensitive unless secrets are asked for, and objects holding input
// references out with LeaveOutInputRefs, each listed; a token Secret
// without data stays, and the cache keeps what the chart rendered.
func TestLeaveOutObjects(t *testing.T) {
	secret := func(object, source string) OmittedObject {
		return OmittedObject{Cluster: "c1", Batch: "services", Bundle: map[bool]string{true: "db", false: "app"}[strings.HasPrefix(source, "db/")], Object: object, Source: source, Why: WhySecretData}
	}
	input := func(bundle, object, source string) OmittedObject {
		return OmittedObject{Cluster: "c1", Batch: "services", Bundle: bundle, Object: object, Source: source, Why: WhyInputRefs, Inputs: []string{"addr"}}
	}
	tests := []struct {
		name     string
		include  bool
		leaveOut bool
		want     []string
		omitted  []OmittedObject
	}{{
		name: "secrets left out",
		want: []string{
			"services/app",
			"  ConfigMap db/app",
			"services/db",
			"  Secret db/db-token",
			"  ConfigMap db/db-config",
		},
		omitted: []OmittedObject{
			secret("Secret db/password", "manifests[0]"),
			secret("Secret db/db-ssl", "db/templates/ssl.yaml"),
		},
	}, {
		name:    "secrets included",
		include: true,
		want: []string{
			"services/app",
			"  Secret db/password",
			"  ConfigMap db/app",
			"services/db",
			"  Secret db/db-ssl",
			"  Secret db/db-token",
			"  ConfigMap db/db-config",
			"services/remote (sensitive)",
			"  Secret db/remote",
		},
	}, {
		name:     "input references left out",
		leaveOut: true,
		want: []string{
			"services/app",
			"  ConfigMap db/app",
			"services/db",
			"  Secret db/db-token",
		},
		omitted: []OmittedObject{
			secret("Secret db/password", "manifests[0]"),
			secret("Secret db/db-ssl", "db/templates/ssl.yaml"),
			input("db", "ConfigMap db/db-config", "db/templates/config.yaml"),
		},
	}, {
		name:     "secrets included, input references left out",
		include:  true,
		leaveOut: true,
		want: []string{
			"services/app",
			"  Secret db/password",
			"  ConfigMap db/app",
			"services/db",
			"  Secret db/db-ssl",
			"  Secret db/db-token",
			"services/remote (sensitive)",
		},
		omitted: []OmittedObject{
			input("db", "ConfigMap db/db-config", "db/templates/config.yaml"),
			input("remote", "Secret db/remote", "manifests[0]"),
		},
	}}
	src := charts(t, dbChart())
	cache := &Cache{Dir: t.TempDir()}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := leaveOutPlan(t)
			before, err := plan.EncodeJSON(p)
			if err != nil {
				t.Fatal(err)
			}
			// Through the cache, which every case shares: what one case
			// leaves out, the next may keep.
			r, err := Render(context.Background(), p, Options{Charts: src, Cache: cache, Version: "test", IncludeSecrets: tt.include, LeaveOutInputRefs: tt.leaveOut})
			if err != nil {
				t.Fatal(err)
			}
			c1 := slices.IndexFunc(r.Clusters, func(c Cluster) bool { return c.Name == "c1" })
			got := sensitiveLayout(&Result{Clusters: r.Clusters[c1 : c1+1]})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("layout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.omitted, r.OmittedObjects); diff != "" {
				t.Errorf("omitted objects (-want +got):\n%s", diff)
			}
			after, err := plan.EncodeJSON(p)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(before), string(after)); diff != "" {
				t.Errorf("Render changed the Plan (-before +after):\n%s", diff)
			}
		})
	}
}

// TestCacheModes: a cache entry whose objects carry secrets (a Secret with
// data, a private key) is readable by its owner only, the others as
// before, and the cache's directories are private, even ones an older
// wookie made wider.
func TestCacheModes(t *testing.T) {
	key := "-----BEGIN EC PRIVATE KEY-----\nMHc=\n-----END EC PRIVATE KEY-----\n"
	tests := []struct {
		name     string
		template string
		want     fs.FileMode
	}{
		{name: "Secret with data", template: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {tls.key: a2V5}\n", want: 0o600},
		{name: "private key in a ConfigMap", template: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata:\n  key: " + strings.ReplaceAll(strings.TrimSpace(key), "\n", "\\n") + "\n", want: 0o600},
		{name: "token Secret without data", template: "apiVersion: v1\nkind: Secret\nmetadata: {name: t, annotations: {kubernetes.io/service-account.name: r}}\ntype: kubernetes.io/service-account-token\n", want: 0o644},
		{name: "ConfigMap", template: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {a: b}\n", want: 0o644},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch := charttest.Chart{Name: "one", Version: "1.0.0", Files: map[string]string{"templates/one.yaml": tt.template}}
			cache := &Cache{Dir: t.TempDir()}
			// A render directory as an older wookie left it.
			if err := os.MkdirAll(filepath.Join(cache.Dir, "render"), 0o755); err != nil {
				t.Fatal(err)
			}
			p := mkPlan(t, plan.Batch{Name: "apps", Bundles: []plan.Bundle{chartBundle("one", "apps", "one")}})
			if _, err := Render(context.Background(), p, Options{Charts: charts(t, ch), Cache: cache, Version: "test"}); err != nil {
				t.Fatal(err)
			}
			entries, _ := filepath.Glob(filepath.Join(cache.Dir, "render", "*", "*.json"))
			if len(entries) != 1 {
				t.Fatalf("cache entries: %v", entries)
			}
			got := map[string]fs.FileMode{}
			for _, path := range []string{filepath.Join(cache.Dir, "render"), filepath.Dir(entries[0]), entries[0]} {
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				rel, _ := filepath.Rel(cache.Dir, path)
				got[filepath.ToSlash(strings.Replace(rel, filepath.Base(filepath.Dir(entries[0])), "XX", 1))] = st.Mode().Perm()
			}
			want := map[string]fs.FileMode{"render": 0o700, "render/XX": 0o700}
			want["render/XX/"+filepath.Base(entries[0])] = tt.want
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("modes (-want +got):\n%s", diff)
			}
		})
	}
}
