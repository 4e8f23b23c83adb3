package render

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render/rendertest"
)

// fakeGenerator makes one ConfigMap per generated bundle, or fails, and
// records its calls.
type fakeGenerator struct {
	err   error
	obj   map[string]any
	mu    sync.Mutex
	calls []string
}

func (g *fakeGenerator) Generate(_ context.Context, cluster string, b *plan.Bundle) ([]*unstructured.Unstructured, error) {
	g.mu.Lock()
	g.calls = append(g.calls, cluster+"/"+b.Name+" for "+b.Generate.IstioCACerts.Cluster)
	g.mu.Unlock()
	if g.err != nil {
		return nil, g.err
	}
	obj := g.obj
	if obj == nil {
		obj = map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "cacerts"}, "data": map[string]any{"ca-key.pem": "a2V5"}}
	}
	return []*unstructured.Unstructured{{Object: obj}}, nil
}

var (
	nsIstio = plan.Object{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "istio-system"}}
	token   = plan.Object{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "remote"}, "stringData": map[string]any{"token": "fake-token"}}
)

// secretsPlan has a generated bundle (istio-cacerts), a sensitive one
// (remote) and bundles that depend on them.
func secretsPlan(t *testing.T) *plan.Plan {
	t.Helper()
	cacerts := plan.Bundle{Name: "istio-cacerts", Namespace: "istio-system", DependsOn: []string{"ns"},
		Generate: &plan.Generate{IstioCACerts: &plan.IstioCACerts{Cluster: "east"}}}
	remote := manifestBundle("remote", "istio-system", token)
	remote.Sensitive, remote.DependsOn = true, []string{"istiod"}
	istiod := manifestBundle("istiod", "istio-system", plan.Object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "istio"}})
	istiod.DependsOn = []string{"istio-cacerts"}
	app := manifestBundle("app", "istio-system", plan.Object{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "app"}})
	app.DependsOn = []string{"istiod", "remote"}
	return mkPlan(t,
		plan.Batch{Name: "namespaces", Priority: 200, Bundles: []plan.Bundle{manifestBundle("ns", "istio-system", nsIstio), cacerts}},
		plan.Batch{Name: "services", Priority: 600, Bundles: []plan.Bundle{istiod, remote, app}},
	)
}

// TestSecrets leaves sensitive and generated bundles out unless secrets
// are asked for, and drops the dependsOn entries naming them.
func TestSecrets(t *testing.T) {
	tests := []struct {
		name      string
		include   bool
		generator bool
		want      []string
		omitted   []OmittedBundle
		calls     []string
	}{{
		name: "left out by default",
		want: []string{
			"namespaces/ns",
			"  Namespace /istio-system",
			"services/istiod",
			"  ConfigMap istio-system/istio",
			"services/app <- istiod",
			"  ConfigMap istio-system/app",
		},
		omitted: []OmittedBundle{
			{Cluster: "c1", Batch: "namespaces", Bundle: "istio-cacerts", Why: WhyGenerated},
			{Cluster: "c1", Batch: "services", Bundle: "remote", Why: WhySensitive},
		},
	}, {
		name:    "included without a generator",
		include: true,
		want: []string{
			"namespaces/ns",
			"  Namespace /istio-system",
			"services/istiod",
			"  ConfigMap istio-system/istio",
			"services/remote <- istiod (sensitive)",
			"  Secret istio-system/remote",
			"services/app <- istiod,remote",
			"  ConfigMap istio-system/app",
		},
		omitted: []OmittedBundle{{Cluster: "c1", Batch: "namespaces", Bundle: "istio-cacerts", Why: WhyNoGenerator}},
	}, {
		name:      "included with a generator",
		include:   true,
		generator: true,
		want: []string{
			"namespaces/ns",
			"  Namespace /istio-system",
			"namespaces/istio-cacerts <- ns (sensitive)",
			"  Secret istio-system/cacerts",
			"services/istiod <- istio-cacerts",
			"  ConfigMap istio-system/istio",
			"services/remote <- istiod (sensitive)",
			"  Secret istio-system/remote",
			"services/app <- istiod,remote",
			"  ConfigMap istio-system/app",
		},
		calls: []string{"c1/istio-cacerts for east"},
	}, {
		name:      "a generator alone includes nothing",
		generator: true,
		want: []string{
			"namespaces/ns",
			"  Namespace /istio-system",
			"services/istiod",
			"  ConfigMap istio-system/istio",
			"services/app <- istiod",
			"  ConfigMap istio-system/app",
		},
		omitted: []OmittedBundle{
			{Cluster: "c1", Batch: "namespaces", Bundle: "istio-cacerts", Why: WhyGenerated},
			{Cluster: "c1", Batch: "services", Bundle: "remote", Why: WhySensitive},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := secretsPlan(t)
			before, err := plan.EncodeJSON(p)
			if err != nil {
				t.Fatal(err)
			}
			opts := Options{IncludeSecrets: tt.include}
			g := &fakeGenerator{}
			if tt.generator {
				opts.Generator = g
			}
			r, err := Render(context.Background(), p, opts)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, sensitiveLayout(r)); diff != "" {
				t.Errorf("layout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.omitted, r.Omitted); diff != "" {
				t.Errorf("omitted (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.calls, g.calls); diff != "" {
				t.Errorf("generator calls (-want +got):\n%s", diff)
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

// sensitiveLayout is layout with sensitive bundles marked.
func sensitiveLayout(r *Result) []string {
	lines := layout(r)
	i := 0
	for _, c := range r.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				for !strings.HasPrefix(lines[i], b.Name+"/"+u.Name) {
					i++
				}
				if u.Sensitive {
					lines[i] += " (sensitive)"
				}
			}
		}
	}
	return lines
}

// TestGeneratedObjects gives generated objects wookie's labels and the
// bundle's namespace, and checks them as manifests are checked.
func TestGeneratedObjects(t *testing.T) {
	tests := []struct {
		name    string
		gen     *fakeGenerator
		wantErr string
	}{{
		name: "labels and namespace",
		gen:  &fakeGenerator{},
	}, {
		name:    "generator error",
		gen:     &fakeGenerator{err: errors.New("the store is on fire")},
		wantErr: "cluster c1: bundle istio-cacerts: the store is on fire",
	}, {
		name:    "not an object",
		gen:     &fakeGenerator{obj: map[string]any{"apiVersion": "v1", "kind": "Secret"}},
		wantErr: "cluster c1: bundle istio-cacerts: generate.istioCACerts: object 0: not a Kubernetes object: no metadata.name",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Render(context.Background(), secretsPlan(t), Options{IncludeSecrets: true, Generator: tt.gen})
			if tt.wantErr != "" {
				if err == nil {
					t.Fatal("no error")
				}
				if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
					t.Errorf("error (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			o := r.Clusters[0].Batches[0].Bundles[1].Objects[0]
			got := map[string]any{"namespace": o.GetNamespace(), "labels": o.GetLabels(), "source": o.Source}
			want := map[string]any{"namespace": "istio-system", "source": "generate.istioCACerts",
				"labels": map[string]string{LabelCluster: "c1", LabelBundle: "istio-cacerts"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("generated object (-want +got):\n%s", diff)
			}
		})
	}
}

// certStore returns a certificate store with an ECDSA root and the
// intermediate CAs of clusters.
func certStore(t *testing.T, clusters ...string) cert.Store {
	t.Helper()
	s := cert.Store{Dir: filepath.Join(t.TempDir(), "certs")}
	if err := s.InitRoot(cert.RootOptions{KeyAlgorithm: cert.ECDSA}, false); err != nil {
		t.Fatal(err)
	}
	for _, c := range clusters {
		if err := s.IssueIntermediate(c, cert.IntermediateOptions{}, false); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestStoreGenerator renders the cacerts Secret from a real certificate
// store, and fails clearly when its material is missing or broken.
func TestStoreGenerator(t *testing.T) {
	p := mkPlan(t, plan.Batch{Name: "namespaces", Bundles: []plan.Bundle{{Name: "istio-cacerts", Namespace: "mesh-system",
		Generate: &plan.Generate{IstioCACerts: &plan.IstioCACerts{Cluster: "east"}}}}})
	render := func(s cert.Store) (*Result, error) {
		return Render(context.Background(), p, Options{IncludeSecrets: true, Generator: StoreGenerator{Store: s}})
	}

	t.Run("cacerts", func(t *testing.T) {
		s := certStore(t, "east", "west")
		r, err := render(s)
		if err != nil {
			t.Fatal(err)
		}
		objs := r.Clusters[0].Batches[0].Bundles[0].Objects
		if len(objs) != 1 || objs[0].ID() != "Secret mesh-system/cacerts" {
			t.Fatalf("objects: %v", objs)
		}
		data, _, _ := unstructured.NestedStringMap(objs[0].Object, "data")
		got := map[string]string{}
		for k, v := range data {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Fatal(err)
			}
			got[k] = string(b)
		}
		want := map[string]string{}
		for _, name := range []string{cert.CACertFile, cert.CAKeyFile, cert.RootCertFile, cert.CertChainFile} {
			b, err := os.ReadFile(filepath.Join(s.Dir, "east", name))
			if err != nil {
				t.Fatal(err)
			}
			want[name] = string(b)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("cacerts data (-store +secret):\n%s", diff)
		}
	})

	tests := []struct {
		name    string
		damage  func(t *testing.T, s cert.Store)
		want    string // %s is the store's directory
		missing bool
	}{{
		name:    "no store",
		damage:  func(t *testing.T, s cert.Store) { removeAll(t, s.Dir) },
		want:    "cluster c1: bundle istio-cacerts: no intermediate CA for cluster east in %[1]s: missing %[1]s/root-cert.pem: file does not exist",
		missing: true,
	}, {
		name:    "no intermediate for the cluster",
		damage:  func(t *testing.T, s cert.Store) { removeAll(t, filepath.Join(s.Dir, "east")) },
		want:    "cluster c1: bundle istio-cacerts: no intermediate CA for cluster east in %[1]s: missing %[1]s/east: file does not exist",
		missing: true,
	}, {
		name: "key of another cluster",
		damage: func(t *testing.T, s cert.Store) {
			copyFile(t, filepath.Join(s.Dir, "west", cert.CAKeyFile), filepath.Join(s.Dir, "east", cert.CAKeyFile))
		},
		want: "cluster c1: bundle istio-cacerts: intermediate CA of cluster east: %[1]s/east/ca-key.pem does not match %[1]s/east/ca-cert.pem",
	}, {
		name: "another root",
		damage: func(t *testing.T, s cert.Store) {
			if err := s.InitRoot(cert.RootOptions{KeyAlgorithm: cert.ECDSA}, true); err != nil {
				t.Fatal(err)
			}
		},
		want: "cluster c1: bundle istio-cacerts: intermediate CA of cluster east: %[1]s/east/root-cert.pem is not the root certificate %[1]s/root-cert.pem",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := certStore(t, "east", "west")
			tt.damage(t, s)
			_, err := render(s)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(fmt.Sprintf(tt.want, s.Dir), err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var me *MissingCertsError
			if got := errors.As(err, &me); got != tt.missing {
				t.Errorf("errors.As(MissingCertsError) = %v, want %v", got, tt.missing)
			}
			if strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("the error shows key material: %v", err)
			}
		})
	}
}

func removeAll(t *testing.T, dir string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSecretsNotCached renders a sensitive chart bundle and a generated
// bundle through the render cache: neither is stored, while the same chart
// in a bundle that is not sensitive is.
func TestSecretsNotCached(t *testing.T) {
	src := charts(t, rendertest.Istiod())
	for _, sensitive := range []bool{true, false} {
		cache := &Cache{Dir: t.TempDir()}
		b := chartBundle("istiod", "istio-system", "istiod")
		b.Sensitive = sensitive
		gen := plan.Bundle{Name: "istio-cacerts", Namespace: "istio-system", Generate: &plan.Generate{IstioCACerts: &plan.IstioCACerts{Cluster: "c1"}}}
		p := mkPlan(t, plan.Batch{Name: "apps", Bundles: []plan.Bundle{b, gen}})
		opts := Options{Charts: src, Cache: cache, Version: "test", IncludeSecrets: true, Generator: &fakeGenerator{}}
		for range 2 {
			if _, err := Render(context.Background(), p, opts); err != nil {
				t.Fatal(err)
			}
		}
		entries, markers := renderEntries(t, cache)
		if sensitive && len(markers) > 0 {
			t.Errorf("sensitive: cache entries %v", markers)
		}
		if want := map[bool]int{true: 0, false: 1}[sensitive]; len(entries) != want {
			t.Errorf("sensitive %v: %d cache entries, want %d", sensitive, len(entries), want)
		}
	}
}
