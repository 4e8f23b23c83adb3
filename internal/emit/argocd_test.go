package emit

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// argoTestApp mirrors the fields of Argo CD's Application
// (pkg/apis/application/v1alpha1 of github.com/argoproj/argo-cd) that
// wookie writes, spelt as in Argo CD's API and written here independently
// of argocd.go: decoding an emitted Application into it strictly catches a
// misspelt or invented field.
type argoTestApp struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		Finalizers  []string          `json:"finalizers"`
	} `json:"metadata"`
	Spec struct {
		Project     string              `json:"project"`
		Source      argoTestSource      `json:"source"`
		Destination argoTestDestination `json:"destination"`
		SyncPolicy  struct {
			Automated *struct {
				Prune    bool `json:"prune"`
				SelfHeal bool `json:"selfHeal"`
			} `json:"automated"`
			SyncOptions []string `json:"syncOptions"`
			Retry       *struct {
				Limit   int64 `json:"limit"`
				Backoff *struct {
					Duration    string `json:"duration"`
					Factor      *int64 `json:"factor"`
					MaxDuration string `json:"maxDuration"`
				} `json:"backoff"`
			} `json:"retry"`
		} `json:"syncPolicy"`
		IgnoreDifferences []argoTestIgnore `json:"ignoreDifferences"`
	} `json:"spec"`
}

// argoTestSource is a directory of a Git repository, or a chart of a Helm
// repository with the options of helm template (ApplicationSourceHelm).
type argoTestSource struct {
	RepoURL        string        `json:"repoURL"`
	Path           string        `json:"path,omitempty"`
	TargetRevision string        `json:"targetRevision"`
	Chart          string        `json:"chart,omitempty"`
	Helm           *argoTestHelm `json:"helm,omitempty"`
}

type argoTestHelm struct {
	ReleaseName          string         `json:"releaseName,omitempty"`
	ValuesObject         map[string]any `json:"valuesObject,omitempty"`
	SkipCrds             bool           `json:"skipCrds,omitempty"`
	SkipTests            bool           `json:"skipTests,omitempty"`
	SkipSchemaValidation bool           `json:"skipSchemaValidation,omitempty"`
}

// argoSyncWaveWarning is the note every Argo CD output comes with.
const argoSyncWaveWarning = "argocd: sync waves between Applications need Application health checks in argocd-cm (resource.customizations.health.argoproj.io_Application); see README"

type argoTestDestination struct {
	Server    string `json:"server,omitempty"`
	Name      string `json:"name,omitempty"`
	Namespace string `json:"namespace,omitempty"`
}

type argoTestIgnore struct {
	Group        string   `json:"group,omitempty"`
	Kind         string   `json:"kind"`
	Name         string   `json:"name,omitempty"`
	Namespace    string   `json:"namespace,omitempty"`
	JSONPointers []string `json:"jsonPointers,omitempty"`
}

// argoSyncOptions are the sync options Argo CD knows that wookie may set.
var argoSyncOptions = []string{"ServerSideApply=true", "CreateNamespace=true", "SkipDryRunOnMissingResource=true", "RespectIgnoreDifferences=true"}

// argoTestOutput is an Argo CD output read back from its files alone.
type argoTestOutput struct {
	// roots are the app-of-apps by cluster directory.
	roots map[string]argoTestApp
	// apps are the bundles' Applications by directory
	// (<cluster>/applications) and file name without .yaml.
	apps map[string]map[string]argoTestApp
	// manifests are the objects of every manifests.yaml by file name.
	manifests map[string][]map[string]any
}

// argoDocs splits a YAML stream into its documents; every one must parse.
func argoDocs(t *testing.T, name string, data []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("%s does not parse: %v\n%s", name, err, doc)
		}
		if m != nil {
			out = append(out, m)
		}
	}
}

// argoStrict decodes the Application in a file strictly and checks what
// Argo CD would reject: the kind, a DNS-1123 name, a destination naming
// exactly one cluster, known sync options and Go durations.
func argoStrict(t *testing.T, name string, data []byte) argoTestApp {
	t.Helper()
	if docs := argoDocs(t, name, data); len(docs) != 1 {
		t.Fatalf("%s: %d documents, want one Application", name, len(docs))
	}
	var app argoTestApp
	if err := yaml.UnmarshalStrict(data, &app); err != nil {
		t.Fatalf("%s does not decode strictly as an Application: %v\n%s", name, err, data)
	}
	if app.APIVersion != "argoproj.io/v1alpha1" || app.Kind != "Application" {
		t.Errorf("%s: %s %s, want argoproj.io/v1alpha1 Application", name, app.APIVersion, app.Kind)
	}
	if err := argoCheckName(app.Metadata.Name, name); err != nil {
		t.Error(err)
	}
	if d := app.Spec.Destination; (d.Server == "") == (d.Name == "") || d.Namespace == "" {
		t.Errorf("%s: destination %+v: want a namespace and one of server and name", name, d)
	}
	for _, o := range app.Spec.SyncPolicy.SyncOptions {
		if !slices.Contains(argoSyncOptions, o) {
			t.Errorf("%s: unknown sync option %q", name, o)
		}
	}
	if r := app.Spec.SyncPolicy.Retry; r == nil || r.Backoff == nil || r.Backoff.Factor == nil {
		t.Errorf("%s: want a retry with backoff", name)
	} else {
		for _, d := range []string{r.Backoff.Duration, r.Backoff.MaxDuration} {
			if _, err := time.ParseDuration(d); err != nil {
				t.Errorf("%s: backoff: %v", name, err)
			}
		}
	}
	return app
}

// readArgo reads an Argo CD output back: every file must parse, every
// Application decode strictly.
func readArgo(t *testing.T, tree Tree) argoTestOutput {
	t.Helper()
	out := argoTestOutput{roots: map[string]argoTestApp{}, apps: map[string]map[string]argoTestApp{}, manifests: map[string][]map[string]any{}}
	for name, data := range tree {
		parts := strings.Split(name, "/")
		switch {
		case len(parts) == 2 && parts[1] == "app-of-apps.yaml":
			out.roots[parts[0]] = argoStrict(t, name, data)
		case len(parts) == 3 && parts[1] == "applications" && strings.HasSuffix(parts[2], ".yaml"):
			dir := parts[0] + "/" + parts[1]
			if out.apps[dir] == nil {
				out.apps[dir] = map[string]argoTestApp{}
			}
			out.apps[dir][strings.TrimSuffix(parts[2], ".yaml")] = argoStrict(t, name, data)
		case len(parts) == 4 && parts[3] == "manifests.yaml":
			out.manifests[name] = argoDocs(t, name, data)
		default:
			t.Errorf("unexpected file %s", name)
		}
	}
	return out
}

// TestArgoCD builds the fixture's Argo CD output and checks it from its
// files alone: the layout, the app-of-apps, and per Application its
// manifests, order, destination, sync options and ignoreDifferences.
func TestArgoCD(t *testing.T) {
	p, r := fixture(t)
	tree, warnings, err := Build(p, r, Options{Format: FormatArgoCD})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{
		"east/app-of-apps.yaml",
		"east/applications/app.yaml",
		"east/applications/base.yaml",
		"east/applications/ns-mesh.yaml",
		"east/applications/operator-crds.yaml",
		"east/applications/operator.yaml",
		"east/applications/settings.yaml",
		"east/crds/base/manifests.yaml",
		"east/crds/operator-crds/manifests.yaml",
		"east/namespaces/ns-mesh/manifests.yaml",
		"east/operators/operator/manifests.yaml",
		"east/operators/settings/manifests.yaml",
		"east/services/app/manifests.yaml",
		"west/app-of-apps.yaml",
		"west/applications/app.yaml",
		"west/services/app/manifests.yaml",
	}
	if diff := cmp.Diff(wantFiles, slices.Sorted(maps.Keys(tree))); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	wantWarnings := []string{argoSyncWaveWarning}
	if diff := cmp.Diff(wantWarnings, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	again, _, err := Build(p, r, Options{Format: FormatArgoCD})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree, again); diff != "" {
		t.Errorf("a second build differs (-first +second):\n%s", diff)
	}

	out := readArgo(t, tree)
	const repo, revision = "https://git.example.org/platform/deploy.git", "main"
	for _, cluster := range []string{"east", "west"} {
		root, ok := out.roots[cluster]
		if !ok {
			t.Fatalf("cluster %s: no app-of-apps", cluster)
		}
		if root.Metadata.Name != cluster || root.Metadata.Namespace != "argocd" || root.Spec.Project != "default" {
			t.Errorf("cluster %s: app-of-apps %s/%s in project %s", cluster, root.Metadata.Namespace, root.Metadata.Name, root.Spec.Project)
		}
		if _, ok := root.Metadata.Annotations["argocd.argoproj.io/sync-wave"]; ok {
			t.Errorf("cluster %s: the app-of-apps has a sync wave", cluster)
		}
		if diff := cmp.Diff(argoTestDestination{Server: "https://kubernetes.default.svc", Namespace: "argocd"}, root.Spec.Destination); diff != "" {
			t.Errorf("cluster %s: app-of-apps destination (-want +got):\n%s", cluster, diff)
		}
		if s := root.Spec.Source; s.RepoURL != repo || s.TargetRevision != revision || s.Path != "clusters/"+cluster+"/applications" {
			t.Errorf("cluster %s: app-of-apps source %+v", cluster, s)
		}
		if !slices.Contains(root.Metadata.Finalizers, "resources-finalizer.argocd.argoproj.io") {
			t.Errorf("cluster %s: app-of-apps finalizers %v", cluster, root.Metadata.Finalizers)
		}

		// The Applications the app-of-apps reads: every file of its path.
		apps := out.apps[strings.TrimPrefix(root.Spec.Source.Path, "clusters/")]
		if len(apps) == 0 {
			t.Fatalf("cluster %s: no Applications in the app-of-apps' path %s", cluster, root.Spec.Source.Path)
		}
		waves := map[string]int{}
		for file, app := range apps {
			bundle := app.Metadata.Labels["wookie.dev/bundle"]
			if bundle != file || app.Metadata.Name != cluster+"-"+bundle || app.Metadata.Labels["wookie.dev/cluster"] != cluster || app.Metadata.Labels["wookie.dev/batch"] == "" {
				t.Errorf("cluster %s: %s.yaml: name %s, labels %v", cluster, file, app.Metadata.Name, app.Metadata.Labels)
			}
			if app.Metadata.Namespace != "argocd" || app.Spec.Project != "default" {
				t.Errorf("cluster %s: %s: in %s, project %s", cluster, bundle, app.Metadata.Namespace, app.Spec.Project)
			}
			if !slices.Contains(app.Metadata.Finalizers, "resources-finalizer.argocd.argoproj.io") {
				t.Errorf("cluster %s: %s: finalizers %v", cluster, bundle, app.Metadata.Finalizers)
			}
			if a := app.Spec.SyncPolicy.Automated; a == nil || !a.Prune || !a.SelfHeal {
				t.Errorf("cluster %s: %s: want automated sync with prune and selfHeal", cluster, bundle)
			}
			if s := app.Spec.Source; s.RepoURL != repo || s.TargetRevision != revision {
				t.Errorf("cluster %s: %s: source %+v", cluster, bundle, s)
			}
			// The source directory holds the bundle's rendered objects.
			manifests := strings.TrimPrefix(app.Spec.Source.Path, "clusters/") + "/manifests.yaml"
			if diff := cmp.Diff(argoFixtureObjects(t, cluster, bundle), out.manifests[manifests]); diff != "" {
				t.Errorf("cluster %s: %s: %s (-want +got):\n%s", cluster, bundle, manifests, diff)
			}
			wave, err := strconv.Atoi(app.Metadata.Annotations["argocd.argoproj.io/sync-wave"])
			if err != nil {
				t.Errorf("cluster %s: %s: sync wave: %v", cluster, bundle, err)
			}
			waves[bundle] = wave
		}

		// Waves are integers and the app-of-apps syncs a wave only after
		// every lower one, so the emitted order can have no cycle and
		// cannot say "unordered": what must hold is that every bundle the
		// Plan puts before another has a strictly lower wave. The closure
		// of the waves is coarser than the Plan's order, not equal to it.
		order := planOrder(r, cluster)
		if diff := cmp.Diff(slices.Sorted(maps.Keys(order)), slices.Sorted(maps.Keys(waves))); diff != "" {
			t.Errorf("cluster %s: bundles with an Application (-plan +emitted):\n%s", cluster, diff)
		}
		for b, before := range order {
			for _, a := range before {
				if waves[a] >= waves[b] {
					t.Errorf("cluster %s: %s comes before %s but has wave %d, %s %d", cluster, a, b, waves[a], b, waves[b])
				}
			}
		}
	}

	// Destinations: east by API server, west by its registered name.
	wantDest := map[string]argoTestDestination{
		"east/app":           {Server: "https://10.0.0.1:6443", Namespace: "apps"},
		"east/base":          {Server: "https://10.0.0.1:6443", Namespace: "mesh"},
		"east/ns-mesh":       {Server: "https://10.0.0.1:6443", Namespace: "mesh"},
		"east/operator":      {Server: "https://10.0.0.1:6443", Namespace: "mesh"},
		"east/operator-crds": {Server: "https://10.0.0.1:6443", Namespace: "mesh"},
		"east/settings":      {Server: "https://10.0.0.1:6443", Namespace: "mesh"},
		"west/app":           {Name: "west", Namespace: "default"},
	}
	// CreateNamespace exactly where no earlier bundle makes the namespace;
	// SkipDryRunOnMissingResource where the CRD comes from another bundle.
	wantOptions := map[string][]string{
		"east/app":           {"ServerSideApply=true", "CreateNamespace=true", "SkipDryRunOnMissingResource=true"},
		"east/base":          {"ServerSideApply=true", "CreateNamespace=true"},
		"east/ns-mesh":       {"ServerSideApply=true"},
		"east/operator":      {"ServerSideApply=true", "RespectIgnoreDifferences=true"},
		"east/operator-crds": {"ServerSideApply=true", "CreateNamespace=true"},
		"east/settings":      {"ServerSideApply=true"},
		"west/app":           {"ServerSideApply=true"},
	}
	gotDest := map[string]argoTestDestination{}
	gotOptions := map[string][]string{}
	for dir, apps := range out.apps {
		cluster := strings.TrimSuffix(dir, "/applications")
		for bundle, app := range apps {
			gotDest[cluster+"/"+bundle] = app.Spec.Destination
			gotOptions[cluster+"/"+bundle] = app.Spec.SyncPolicy.SyncOptions
		}
	}
	if diff := cmp.Diff(wantDest, gotDest); diff != "" {
		t.Errorf("destinations (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantOptions, gotOptions); diff != "" {
		t.Errorf("sync options (-want +got):\n%s", diff)
	}
}

// argoFixtureObjects are the objects of a fixture bundle as they parse.
func argoFixtureObjects(t *testing.T, cluster, bundle string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, o := range fixtureDecode(t, fixtureObjects[cluster+"/"+bundle]) {
		data, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestArgoCDIgnoreDifferences checks that a bundle's ignoreDifferences
// become the Application's, by API group rather than apiVersion.
func TestArgoCDIgnoreDifferences(t *testing.T) {
	p, r := fixture(t)
	for ci := range p.Clusters {
		for bi := range p.Clusters[ci].Batches {
			for ui := range p.Clusters[ci].Batches[bi].Bundles {
				if u := &p.Clusters[ci].Batches[bi].Bundles[ui]; p.Clusters[ci].Name == "west" && u.Name == "app" {
					u.IgnoreDifferences = []plan.IgnoreDifference{
						{APIVersion: "v1", Kind: "ConfigMap", Name: "app", Namespace: "default", JSONPointers: []string{"/data/a", "/data/b"}},
						{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition", Name: "widgets.example.org", JSONPointers: []string{"/spec/conversion"}},
					}
				}
			}
		}
	}
	tree, _, err := Build(p, r, Options{Format: FormatArgoCD})
	if err != nil {
		t.Fatal(err)
	}
	out := readArgo(t, tree)
	tests := []struct {
		name        string
		app         argoTestApp
		want        []argoTestIgnore
		wantRespect bool
	}{
		{"named group", out.apps["east/applications"]["operator"], []argoTestIgnore{
			{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration", Name: "operator-validator", JSONPointers: []string{"/webhooks/0/clientConfig/caBundle"}},
		}, true},
		{"core group and namespace", out.apps["west/applications"]["app"], []argoTestIgnore{
			{Kind: "ConfigMap", Name: "app", Namespace: "default", JSONPointers: []string{"/data/a", "/data/b"}},
			{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition", Name: "widgets.example.org", JSONPointers: []string{"/spec/conversion"}},
		}, true},
		{"none", out.apps["east/applications"]["settings"], nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.app.Spec.IgnoreDifferences); diff != "" {
				t.Errorf("ignoreDifferences (-want +got):\n%s", diff)
			}
			if got := slices.Contains(tt.app.Spec.SyncPolicy.SyncOptions, "RespectIgnoreDifferences=true"); got != tt.wantRespect {
				t.Errorf("RespectIgnoreDifferences %v, want %v", got, tt.wantRespect)
			}
		})
	}
}

// TestArgoCDSettings checks that the gitops settings and their overrides
// reach every Application.
func TestArgoCDSettings(t *testing.T) {
	tests := []struct {
		name                                                  string
		edit                                                  func(p *plan.Plan)
		opts                                                  Options
		wantNS, wantProject, wantRepo, wantRevision, wantPath string
		wantDest                                              argoTestDestination
	}{
		{
			name:   "defaults",
			edit:   func(p *plan.Plan) { p.GitOps = &plan.GitOps{Repo: "https://git.example.org/a.git"} },
			wantNS: "argocd", wantProject: "default", wantRepo: "https://git.example.org/a.git", wantRevision: "HEAD", wantPath: "west/services/app",
			wantDest: argoTestDestination{Name: "west", Namespace: "default"},
		},
		{
			name: "argocd settings and a registered name",
			edit: func(p *plan.Plan) {
				p.GitOps.ArgoCD = &plan.ArgoCDGitOps{Namespace: "gitops", Project: "platform"}
				p.Clusters[1].GitOps = &plan.ClusterGitOps{ArgoCD: &plan.ArgoCDCluster{Name: "west-prod"}}
			},
			wantNS: "gitops", wantProject: "platform", wantRepo: "https://git.example.org/platform/deploy.git", wantRevision: "main", wantPath: "clusters/west/services/app",
			wantDest: argoTestDestination{Name: "west-prod", Namespace: "default"},
		},
		{
			name:   "flags override the Plan",
			edit:   func(p *plan.Plan) { p.GitOps.Repo = "" },
			opts:   Options{Repo: "https://git.example.org/b.git", Revision: "v1.2.3", Path: "deploy/argo"},
			wantNS: "argocd", wantProject: "default", wantRepo: "https://git.example.org/b.git", wantRevision: "v1.2.3", wantPath: "deploy/argo/west/services/app",
			wantDest: argoTestDestination{Name: "west", Namespace: "default"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := fixture(t)
			if p.Clusters[1].Name != "west" {
				t.Fatalf("fixture: cluster 1 is %s", p.Clusters[1].Name)
			}
			tt.edit(p)
			tt.opts.Format = FormatArgoCD
			tree, _, err := Build(p, r, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			out := readArgo(t, tree)
			app, root := out.apps["west/applications"]["app"], out.roots["west"]
			type got struct{ NS, Project, Repo, Revision, Path, RootNS, RootDestNS, RootPath string }
			want := got{tt.wantNS, tt.wantProject, tt.wantRepo, tt.wantRevision, tt.wantPath,
				tt.wantNS, tt.wantNS, strings.TrimSuffix(tt.wantPath, "services/app") + "applications"}
			if diff := cmp.Diff(want, got{app.Metadata.Namespace, app.Spec.Project, app.Spec.Source.RepoURL, app.Spec.Source.TargetRevision, app.Spec.Source.Path,
				root.Metadata.Namespace, root.Spec.Destination.Namespace, root.Spec.Source.Path}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDest, app.Spec.Destination); diff != "" {
				t.Errorf("destination (-want +got):\n%s", diff)
			}
		})
	}
}

// TestArgoCDErrors checks what the Argo CD output cannot express.
func TestArgoCDErrors(t *testing.T) {
	long := strings.Repeat("b", 60)
	tests := []struct {
		name string
		edit func(t *testing.T, f *argoFixtureNames)
		opts Options
		want string
	}{
		{
			name: "no repository",
			edit: func(t *testing.T, f *argoFixtureNames) { f.p.GitOps.Repo = "" },
			want: "argocd: the Applications need the Git repository the output is pushed to: set gitops.repo in the configuration or --git-repo",
		},
		{
			name: "name too long",
			edit: func(t *testing.T, f *argoFixtureNames) { f.renameBundle(t, "west", "app", long) },
			want: `cluster west: bundle ` + long + `: argocd: Application name "west-` + long + `" is 65 characters; Argo CD uses it as the value of the app.kubernetes.io/instance label, which allows at most 63: shorten the cluster or bundle name`,
		},
		{
			name: "unknown mode",
			edit: func(t *testing.T, f *argoFixtureNames) {},
			opts: Options{ArgoCDMode: "helm"},
			want: `argocd: mode "helm": want rendered or chart`,
		},
		{
			name: "two Applications of one name",
			edit: func(t *testing.T, f *argoFixtureNames) { f.renameCluster(t, "west", "east-app") },
			want: "cluster east-app: argocd: Application name east-app is also the one of bundle app of cluster east: rename one of them",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := fixture(t)
			tt.edit(t, &argoFixtureNames{p: p, r: r})
			tt.opts.Format = FormatArgoCD
			tree, warnings, err := Build(p, r, tt.opts)
			if err == nil {
				t.Fatalf("no error; %d files", len(tree))
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if tree != nil || warnings != nil {
				t.Errorf("an error returned files or warnings")
			}
		})
	}
}

// argoFixtureNames renames clusters and bundles in a fixture's Plan and
// rendered result alike.
type argoFixtureNames struct {
	p *plan.Plan
	r *render.Result
}

// renameCluster renames a cluster.
func (f *argoFixtureNames) renameCluster(t *testing.T, old, name string) {
	t.Helper()
	found := 0
	for i := range f.p.Clusters {
		if f.p.Clusters[i].Name == old {
			f.p.Clusters[i].Name = name
			found++
		}
	}
	for i := range f.r.Clusters {
		if f.r.Clusters[i].Name == old {
			f.r.Clusters[i].Name = name
			found++
		}
	}
	if found != 2 {
		t.Fatalf("fixture: cluster %s found %d times", old, found)
	}
}

// renameBundle renames a bundle of a cluster that no other depends on.
func (f *argoFixtureNames) renameBundle(t *testing.T, cluster, old, name string) {
	t.Helper()
	found := 0
	for _, c := range f.p.Clusters {
		for _, b := range c.Batches {
			for i := range b.Bundles {
				if c.Name == cluster && b.Bundles[i].Name == old {
					b.Bundles[i].Name = name
					found++
				}
			}
		}
	}
	for _, c := range f.r.Clusters {
		for _, b := range c.Batches {
			for i := range b.Bundles {
				if c.Name == cluster && b.Bundles[i].Name == old {
					b.Bundles[i].Name = name
					found++
				}
			}
		}
	}
	if found != 2 {
		t.Fatalf("fixture: bundle %s of cluster %s found %d times", old, cluster, found)
	}
}

// TestArgoCDWithPeer hands every Application to Argo CD's own CLI, built
// by hack/peers/build.sh --all: `argocd admin app generate-spec -f` reads
// a file into Argo CD's Application type and prints it back, offline.
// What comes back must be what went in (but metadata.namespace, which the
// command leaves out), so no field is one Argo CD drops or misreads: in
// chart mode the Helm sources too, with skipSchemaValidation on one chart.
func TestArgoCDWithPeer(t *testing.T) {
	argocd := peerBinary(t, "argocd")
	home := t.TempDir()
	for _, mode := range []string{ModeRendered, ModeChart} {
		t.Run(mode, func(t *testing.T) {
			p, r := fixture(t)
			hfPlanBundle(t, p, "east", "base").Chart.SkipSchemaValidation = true
			tree, _, err := Build(p, r, Options{Format: FormatArgoCD, ArgoCDMode: mode})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := WriteTree(dir, tree); err != nil {
				t.Fatal(err)
			}
			for _, name := range slices.Sorted(maps.Keys(tree)) {
				if strings.HasSuffix(name, "/manifests.yaml") {
					continue
				}
				t.Run(name, func(t *testing.T) {
					cmd := exec.Command(argocd, "admin", "app", "generate-spec", "-f", filepath.Join(dir, filepath.FromSlash(name)), "-o", "yaml")
					cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG="+filepath.Join(home, "none"))
					var stderr bytes.Buffer
					cmd.Stderr = &stderr
					got, err := cmd.Output()
					if err != nil {
						t.Fatalf("argocd admin app generate-spec: %v\n%s", err, stderr.String())
					}
					var want, back map[string]any
					if err := yaml.Unmarshal(tree[name], &want); err != nil {
						t.Fatal(err)
					}
					if err := yaml.Unmarshal(got, &back); err != nil {
						t.Fatalf("argocd output: %v\n%s", err, got)
					}
					delete(want["metadata"].(map[string]any), "namespace")
					if diff := cmp.Diff(want, back); diff != "" {
						t.Errorf("Argo CD reads the Application differently (-wookie +argocd):\n%s", diff)
					}
					if name == "east/applications/base.yaml" && mode == ModeChart {
						if skip, _, _ := unstructured.NestedBool(back, "spec", "source", "helm", "skipSchemaValidation"); !skip {
							t.Errorf("Argo CD reads no spec.source.helm.skipSchemaValidation: true:\n%s", got)
						}
					}
				})
			}
		})
	}
}

// TestArgoCDChart checks the chart mode on the fixture: the Applications
// of its two charts (base from an HTTP repository, operator from an OCI
// registry, whose crds/ went to the generated bundle operator-crds) get a
// Helm source and no manifests.yaml; every other file, and every other
// field of their Applications, is the rendered mode's.
func TestArgoCDChart(t *testing.T) {
	p, r := fixture(t)
	rendered, _, err := Build(p, r, Options{Format: FormatArgoCD})
	if err != nil {
		t.Fatal(err)
	}
	tree, warnings, err := Build(p, r, Options{Format: FormatArgoCD, ArgoCDMode: ModeChart})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{argoSyncWaveWarning}, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	again, _, err := Build(p, r, Options{Format: FormatArgoCD, ArgoCDMode: ModeChart})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree, again); diff != "" {
		t.Errorf("a second build differs (-first +second):\n%s", diff)
	}

	var gone []string
	for name := range rendered {
		if _, ok := tree[name]; !ok {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	if diff := cmp.Diff([]string{"east/crds/base/manifests.yaml", "east/operators/operator/manifests.yaml"}, gone); diff != "" {
		t.Errorf("files only in the rendered mode (-want +got):\n%s", diff)
	}
	for name, data := range tree {
		if _, ok := rendered[name]; !ok {
			t.Errorf("%s is only in the chart mode", name)
		}
		if strings.HasPrefix(name, "east/applications/") {
			continue
		}
		if diff := cmp.Diff(string(rendered[name]), string(data)); diff != "" {
			t.Errorf("%s (-rendered +chart):\n%s", name, diff)
		}
	}

	out, outRendered := readArgo(t, tree), readArgo(t, rendered)
	wantSources := map[string]argoTestSource{
		"base": {RepoURL: "https://charts.example.org/stable", Chart: "base", TargetRevision: "1.0.0", Helm: &argoTestHelm{
			ReleaseName: "base", ValuesObject: map[string]any{"x": float64(1)}, SkipTests: true,
		}},
		// Argo CD's Helm OCI source: the registry path without oci://.
		// Values with ${ go verbatim: Argo CD substitutes nothing in
		// valuesObject. The CRDs are operator-crds', not the chart's.
		"operator": {RepoURL: "registry.example.org/charts", Chart: "operator", TargetRevision: "2.0.0", Helm: &argoTestHelm{
			ReleaseName: "operator", ValuesObject: map[string]any{"greeting": "${ .ClusterName }"}, SkipCrds: true, SkipTests: true,
		}},
	}
	gotSources := map[string]argoTestSource{}
	for bundle, app := range out.apps["east/applications"] {
		want := outRendered.apps["east/applications"][bundle]
		if app.Spec.Source.Helm != nil {
			gotSources[bundle] = app.Spec.Source
			app.Spec.Source = want.Spec.Source
		}
		if diff := cmp.Diff(want, app); diff != "" {
			t.Errorf("%s: the Application but its source (-rendered +chart):\n%s", bundle, diff)
		}
	}
	if diff := cmp.Diff(wantSources, gotSources); diff != "" {
		t.Errorf("Helm sources (-want +got):\n%s", diff)
	}
}

// TestArgoCDChartCRDs checks skipCrds: Argo CD renders a chart's crds/
// (helm template --include-crds) unless wookie puts them into a separate
// bundle or the bundle skips them.
func TestArgoCDChartCRDs(t *testing.T) {
	tests := []struct {
		name, bundle, crds string
		want               bool
	}{
		{"separate bundle", "operator", "", true},
		{"separate bundle, said", "operator", plan.CRDsSeparate, true},
		{"skip", "operator", plan.CRDsSkip, true},
		{"inline", "operator", plan.CRDsInline, false},
		{"skip without a separate bundle", "base", plan.CRDsSkip, true},
		{"no separate bundle", "base", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := fixture(t)
			hfPlanBundle(t, p, "east", tt.bundle).CRDs = tt.crds
			tree, _, err := Build(p, r, Options{Format: FormatArgoCD, ArgoCDMode: ModeChart})
			if err != nil {
				t.Fatal(err)
			}
			h := readArgo(t, tree).apps["east/applications"][tt.bundle].Spec.Source.Helm
			if h == nil || h.SkipCrds != tt.want {
				t.Errorf("source.helm %+v, want skipCrds %v", h, tt.want)
			}
		})
	}
}

// TestArgoCDChartLocal checks that a chart from a local path, which Argo
// CD cannot pull, is written rendered with a note, exactly as the rendered
// mode writes it.
func TestArgoCDChartLocal(t *testing.T) {
	p, r := fixture(t)
	hfPlanBundle(t, p, "east", "base").Chart.Repo = "./vendor/charts"
	rendered, _, err := Build(p, r, Options{Format: FormatArgoCD})
	if err != nil {
		t.Fatal(err)
	}
	tree, warnings, err := Build(p, r, Options{Format: FormatArgoCD, ArgoCDMode: ModeChart})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"cluster east: bundle base: argocd: the chart comes from the local path ./vendor/charts, which Argo CD cannot pull: its manifests are written rendered",
		argoSyncWaveWarning,
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	for _, name := range []string{"east/applications/base.yaml", "east/crds/base/manifests.yaml"} {
		if diff := cmp.Diff(string(rendered[name]), string(tree[name])); diff != "" {
			t.Errorf("%s (-rendered +chart):\n%s", name, diff)
		}
	}
}

// TestArgoCDEmptyCluster checks that a cluster without bundles still gets
// its app-of-apps, with a note that its path is missing from Git.
func TestArgoCDEmptyCluster(t *testing.T) {
	p, r := fixture(t)
	if p.Clusters[1].Name != "west" || r.Clusters[1].Name != "west" {
		t.Fatal("fixture: cluster 1 is not west")
	}
	p.Clusters[1].Batches, r.Clusters[1].Batches = nil, nil
	tree, warnings, err := Build(p, r, Options{Format: FormatArgoCD})
	if err != nil {
		t.Fatal(err)
	}
	var west []string
	for name := range tree {
		if strings.HasPrefix(name, "west/") {
			west = append(west, name)
		}
	}
	if diff := cmp.Diff([]string{"west/app-of-apps.yaml"}, west); diff != "" {
		t.Errorf("west's files (-want +got):\n%s", diff)
	}
	want := []string{
		"cluster west: argocd: no bundles, so west/applications is empty and Git keeps no empty directory: Argo CD reports the app-of-apps' path missing",
		argoSyncWaveWarning,
	}
	if diff := cmp.Diff(want, warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}
