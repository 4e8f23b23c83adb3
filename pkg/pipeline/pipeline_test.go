package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/render/rendertest"
	"wookie.dev/wookie/internal/testenv"
	"wookie.dev/wookie/pkg/pipeline"
)

// setup serves the Istio-shaped test charts from a chart repository on
// 127.0.0.1, writes a configuration with the wookie project on target
// (a CUE fragment) taking its charts from there, and returns the
// pipeline's Config for it: caches and state in the test's directory, no
// credentials, warnings collected in *warnings.
func setup(t *testing.T, target string, warnings *[]string) pipeline.Config {
	t.Helper()
	dir := t.TempDir()
	repo := charttest.NewRepo(t, charttest.RepoOptions{},
		charttest.Package(t, rendertest.Base()), charttest.Package(t, rendertest.Istiod()), charttest.Package(t, rendertest.Gateway()))
	cfg := target + "\nprojects: wookie: enable: true\n" + rendertest.IstioMirrorConfig(repo.URL)
	file := filepath.Join(dir, "config", "wookie.cue")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	creds := filepath.Join(dir, "credentials.yaml")
	if err := os.WriteFile(creds, []byte("apiVersion: wookie.dev/v1alpha1\nkind: Credentials\nrepositories: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return pipeline.Config{
		Files:           []string{file},
		LockFile:        filepath.Join(dir, "config", "wookie.lock"),
		CacheDir:        filepath.Join(dir, "cache"),
		StateDir:        filepath.Join(dir, "state"),
		CredentialsFile: creds,
		Warn:            func(w string) { *warnings = append(*warnings, w) },
	}
}

// loaded makes a Pipeline of cfg and loads its Plan.
func loaded(t *testing.T, cfg pipeline.Config) (*pipeline.Pipeline, *pipeline.Plan) {
	t.Helper()
	p, err := pipeline.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := p.Load()
	if err != nil {
		t.Fatal(err)
	}
	return p, pl
}

// locked is loaded and pins the Plan's charts, as a program does before
// anything else.
func locked(t *testing.T, cfg pipeline.Config) (*pipeline.Pipeline, *pipeline.Plan) {
	t.Helper()
	p, pl := loaded(t, cfg)
	if _, err := p.Lock(context.Background(), pl, pipeline.LockOptions{}); err != nil {
		t.Fatal(err)
	}
	return p, pl
}

// TestOffline runs the stages that need no cluster as a program would:
// load, lock, render, check and write, then the same through a Plan read
// back from the file render wrote (the Plan as another front end would
// hand it over).
func TestOffline(t *testing.T) {
	ctx := context.Background()
	var warnings []string
	cfg := setup(t, `targets: "local-k3d": enable: true`, &warnings)
	p, err := pipeline.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.ConfigName(); got != "config" {
		t.Errorf("ConfigName = %q, want the configuration's directory, config", got)
	}
	pl, err := p.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Clusters) != 1 || pl.Clusters[0].K3d == nil {
		t.Fatalf("Plan clusters: %+v", pl.Clusters)
	}

	// Before wookie lock, rendering warns that the charts are not pinned;
	// with Locked it fails.
	strict := cfg
	strict.Locked = true
	sp, err := pipeline.New(strict)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Render(ctx, pl, pipeline.RenderOptions{}); err == nil || !strings.Contains(err.Error(), "no lock file") {
		t.Errorf("Render, Locked, no lock file: %v", err)
	}

	locked, err := p.Lock(ctx, pl, pipeline.LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !locked.Written || locked.Old != nil || len(locked.New.Charts) != 3 {
		t.Fatalf("Lock: written %v, old %v, %d charts", locked.Written, locked.Old, len(locked.New.Charts))
	}
	if again, err := p.Lock(ctx, pl, pipeline.LockOptions{}); err != nil || again.Written {
		t.Errorf("second Lock: written %v, %v (nothing changed)", again != nil && again.Written, err)
	}
	if _, err := sp.Lock(ctx, pl, pipeline.LockOptions{}); err != nil {
		t.Errorf("Lock with Locked, lock file up to date: %v", err)
	}

	warnings = nil
	res, err := p.Render(ctx, pl, pipeline.RenderOptions{LeaveOutInputRefs: true})
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(warnings, func(w string) bool { return strings.Contains(w, "not pinned") }) {
		t.Errorf("warnings after Lock: %q", warnings)
	}
	for _, c := range pl.Clusters[0].Batches {
		for _, b := range c.Bundles {
			if b.Chart != nil && b.Chart.Digest == "" {
				t.Errorf("bundle %s: not pinned after Render", b.Name)
			}
		}
	}
	var bundles []string
	objects := 0
	for _, c := range res.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				bundles = append(bundles, b.Name+"/"+u.Name)
				objects += len(u.Objects)
			}
		}
	}
	if !slices.Contains(bundles, "crds/istio-base") || !slices.Contains(bundles, "services/istio-ingressgateway") || objects < 10 {
		t.Errorf("rendered %d objects in %v", objects, bundles)
	}

	report, err := p.Check(pl, res, pipeline.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if report.Failed(false) {
		t.Errorf("Check failed: %+v", report)
	}

	out := filepath.Join(t.TempDir(), "out")
	if _, err := p.Write(out, pl, res, pipeline.EmitOptions{Format: "manifests"}); err != nil {
		t.Fatal(err)
	}
	written := filepath.Join(out, pl.Clusters[0].Name, "plan.yaml")
	if _, err := os.Stat(filepath.Join(out, pl.Clusters[0].Name, "services", "istio-ingressgateway.yaml")); err != nil {
		t.Errorf("Write: %v", err)
	}

	// The Plan render wrote, read back as another front end's Plan,
	// renders to the same objects.
	from := cfg
	from.Files, from.From = nil, written
	fp, fpl := loaded(t, from)
	fres, err := fp.Render(ctx, fpl, pipeline.RenderOptions{LeaveOutInputRefs: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(countObjects(res), countObjects(fres)); diff != "" {
		t.Errorf("objects per bundle, from the Plan file (-config +plan file):\n%s", diff)
	}
}

// TestInitCerts makes the CAs a multi-cluster mesh needs in the
// configuration's certificate store, then keeps them.
func TestInitCerts(t *testing.T) {
	var warnings []string
	cfg := setup(t, `targets: "local-k3d": enable: true`, &warnings)
	p, err := pipeline.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var got []pipeline.CertAction
	o := pipeline.CertsOptions{KeyAlgorithm: "ecdsa", OnCert: func(a pipeline.CertAction) { got = append(got, a) }}
	if err := p.InitCerts([]string{"east", "west"}, o); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(cfg.StateDir, "config", "certs")
	want := []pipeline.CertAction{
		{Made: true, Dir: store, KeyAlgorithm: "ecdsa"},
		{Cluster: "east", Made: true, Dir: store},
		{Cluster: "west", Made: true, Dir: store},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first InitCerts (-want +got):\n%s", diff)
	}
	got = nil
	if err := p.InitCerts([]string{"east"}, o); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]pipeline.CertAction{{Dir: store}, {Cluster: "east", Dir: store}}, got); diff != "" {
		t.Errorf("second InitCerts keeps (-want +got):\n%s", diff)
	}
}

// countObjects is the number of objects of each "cluster/batch/bundle".
func countObjects(res *pipeline.Result) map[string]int {
	out := map[string]int{}
	for _, c := range res.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				out[c.Name+"/"+b.Name+"/"+u.Name] = len(u.Objects)
			}
		}
	}
	return out
}

// TestConfigErrors checks the errors a program branches on or shows.
func TestConfigErrors(t *testing.T) {
	if _, err := pipeline.New(pipeline.Config{Files: []string{"a.cue"}, From: "plan.json"}); err == nil {
		t.Error("New with Files and From: no error")
	}
	var warnings []string
	p, pl := loaded(t, setup(t, `targets: "local-k3d": enable: true`, &warnings))
	_, err := pipeline.SelectClusters(pl, []string{"nowhere"})
	var ce *pipeline.ClusterError
	if !errors.As(err, &ce) || ce.Name != "nowhere" || len(ce.Have) != 1 {
		t.Errorf("SelectClusters(nowhere) = %v, want a *ClusterError naming the Plan's clusters", err)
	}
	if _, err := p.RenderLive(context.Background(), pl, []string{"nowhere"}); !errors.As(err, &ce) {
		t.Errorf("RenderLive(nowhere) = %v, want a *ClusterError", err)
	}
	bad := pipeline.Config{From: filepath.Join(t.TempDir(), "missing.json")}
	bp, err := pipeline.New(bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bp.Load(); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("Load of a missing Plan file: %v", err)
	}
}

// TestLive deploys through the library to a real API server: Up (no k3d
// cluster to create: a kubeconfig target) makes the CA the Istio cacerts
// bundle needs and deploys; Status reads every bundle Ready; Diff has
// nothing to change; a second Deploy changes nothing.
func TestLive(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "lib"})
	ctx := context.Background()
	var warnings []string
	cfg := setup(t, fmt.Sprintf(`targets: kubeconfig: {enable: true, clusterName: "lib", context: %q, path: %q, kubeVersion: "1.37.2"}`, env.Context, env.Kubeconfig), &warnings)
	p, pl := locked(t, cfg)
	var certs []pipeline.CertAction
	var done []string
	sum, err := p.Up(ctx, pl, pipeline.UpOptions{
		DeployOptions: pipeline.DeployOptions{Timeout: time.Minute, OnEvent: func(e pipeline.Event) {
			if e.Type == "done" {
				done = append(done, e.Batch+"/"+e.Bundle)
			}
		}},
		OnCert: func(a pipeline.CertAction) { certs = append(certs, a) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created == 0 || sum.Bundles != len(done) {
		t.Errorf("Up: %+v, bundles done %v", sum, done)
	}
	if len(done) == 0 || done[0] != "crds/istio-base" {
		t.Errorf("bundles done, in order: %v", done)
	}
	if len(certs) != 0 {
		t.Errorf("Up of a single-cluster mesh made CAs: %+v", certs)
	}

	res, err := p.RenderLive(ctx, pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	sts, err := p.Status(ctx, pl, res, pipeline.DeployOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.State != "Ready" {
			t.Errorf("Status %s/%s: %s %+v", st.Batch, st.Bundle, st.State, st.NotReady)
		}
	}
	if len(sts) != len(done) {
		t.Errorf("Status: %d bundles, deployed %d", len(sts), len(done))
	}
	changes, err := p.Diff(ctx, pl, res, pipeline.DeployOptions{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 0 {
		t.Errorf("Diff after Up: %+v", changes)
	}
	again, err := p.Deploy(ctx, pl, res, pipeline.DeployOptions{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if again.Created != 0 || again.Configured != 0 || again.Unchanged != sum.Objects {
		t.Errorf("second Deploy: %+v, want every one of %d objects unchanged", again, sum.Objects)
	}
	lockedErrors(ctx, t, p, pl, res)
}

// lockedErrors: the errors a program branches on are pipeline's names. A
// Deploy while another holds the cluster's lock is a *LockError naming the
// holder; the cluster has no Fleet, so DeployViaFleet is a
// *FleetNotInstalledError.
func lockedErrors(ctx context.Context, t *testing.T, p *pipeline.Pipeline, pl *pipeline.Plan, res *pipeline.Result) {
	t.Helper()
	started, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	var once sync.Once
	go func() {
		// The first deploy holds the lock while its first bundle starts.
		_, err := p.Deploy(ctx, pl, res, pipeline.DeployOptions{Timeout: time.Minute, OnEvent: func(e pipeline.Event) {
			if e.Type == "start" {
				once.Do(func() { close(started); <-release })
			}
		}})
		first <- err
	}()
	select {
	case <-started:
	case err := <-first:
		t.Fatalf("first Deploy ended before it started a bundle: %v", err)
	}
	_, err := p.Deploy(ctx, pl, res, pipeline.DeployOptions{})
	close(release)
	var le *pipeline.LockError
	if !errors.As(err, &le) || le.Cluster != "lib" || !strings.Contains(le.Holder, " pid ") {
		t.Errorf("Deploy while another holds the lock: %v (%T), want a *pipeline.LockError of cluster lib naming the holder", err, err)
	}
	if err := <-first; err != nil {
		t.Errorf("the deploy holding the lock: %v", err)
	}

	bundles, _, err := p.FleetBundles(ctx, pl, pipeline.FleetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.DeployViaFleet(ctx, pl, bundles, pipeline.FleetOptions{Timeout: time.Minute})
	var ni *pipeline.FleetNotInstalledError
	if !errors.As(err, &ni) || ni.Cluster != "lib" {
		t.Errorf("DeployViaFleet without Fleet: %v (%T), want a *pipeline.FleetNotInstalledError of cluster lib", err, err)
	}
}
