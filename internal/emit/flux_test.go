package emit

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// The mirror types below are written from Flux's API (kustomize-controller
// api/v1, helm-controller api/v2, source-controller api/v1), not from
// flux.go: every file is decoded into them strictly, so a field Flux does
// not know, or one in the wrong place, fails the test.

type mirrorMeta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
}

type mirrorObjectRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Namespace  string `json:"namespace,omitempty"`
}

type mirrorKubeConfig struct {
	SecretRef struct {
		Name string `json:"name"`
		Key  string `json:"key,omitempty"`
	} `json:"secretRef"`
}

// mirrorKustomization is kustomize.toolkit.fluxcd.io/v1 Kustomization.
type mirrorKustomization struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   mirrorMeta `json:"metadata"`
	Spec       struct {
		DependsOn []struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace,omitempty"`
		} `json:"dependsOn"`
		Interval      string             `json:"interval"`
		RetryInterval string             `json:"retryInterval"`
		KubeConfig    *mirrorKubeConfig  `json:"kubeConfig"`
		Path          string             `json:"path"`
		Prune         bool               `json:"prune"`
		SourceRef     mirrorObjectRef    `json:"sourceRef"`
		Timeout       string             `json:"timeout"`
		Wait          bool               `json:"wait"`
		Ignore        []mirrorIgnoreRule `json:"ignore"`
	} `json:"spec"`
}

// mirrorIgnoreRule is kustomize.toolkit.fluxcd.io/v1 IgnoreRule with its
// kustomize.Selector target.
type mirrorIgnoreRule struct {
	Paths  []string        `json:"paths"`
	Target *mirrorSelector `json:"target"`
}

// mirrorSelector is kustomize.Selector (fluxcd/pkg/apis/kustomize).
type mirrorSelector struct {
	Group              string `json:"group,omitempty"`
	Version            string `json:"version,omitempty"`
	Kind               string `json:"kind,omitempty"`
	Namespace          string `json:"namespace,omitempty"`
	Name               string `json:"name,omitempty"`
	AnnotationSelector string `json:"annotationSelector,omitempty"`
	LabelSelector      string `json:"labelSelector,omitempty"`
}

// mirrorHelmRelease is helm.toolkit.fluxcd.io/v2 HelmRelease.
type mirrorHelmRelease struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   mirrorMeta `json:"metadata"`
	Spec       struct {
		Chart *struct {
			Spec struct {
				Chart     string          `json:"chart"`
				Version   string          `json:"version"`
				SourceRef mirrorObjectRef `json:"sourceRef"`
			} `json:"spec"`
		} `json:"chart"`
		ChartRef         *mirrorObjectRef  `json:"chartRef"`
		Interval         string            `json:"interval"`
		KubeConfig       *mirrorKubeConfig `json:"kubeConfig"`
		ReleaseName      string            `json:"releaseName"`
		TargetNamespace  string            `json:"targetNamespace"`
		StorageNamespace string            `json:"storageNamespace"`
		Timeout          string            `json:"timeout"`
		Install          struct {
			CRDs                    string `json:"crds"`
			CreateNamespace         bool   `json:"createNamespace"`
			DisableWait             bool   `json:"disableWait"`
			DisableSchemaValidation bool   `json:"disableSchemaValidation"`
		} `json:"install"`
		Upgrade struct {
			CRDs                    string `json:"crds"`
			DisableWait             bool   `json:"disableWait"`
			DisableSchemaValidation bool   `json:"disableSchemaValidation"`
		} `json:"upgrade"`
		Values map[string]any `json:"values"`
	} `json:"spec"`
}

// mirrorSource is source.toolkit.fluxcd.io/v1 HelmRepository or
// OCIRepository.
type mirrorSource struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   mirrorMeta `json:"metadata"`
	Spec       struct {
		URL      string `json:"url"`
		Interval string `json:"interval"`
		// OCIRepository only.
		Ref *struct {
			Tag string `json:"tag"`
		} `json:"ref"`
		LayerSelector *struct {
			MediaType string `json:"mediaType"`
			Operation string `json:"operation"`
		} `json:"layerSelector"`
	} `json:"spec"`
}

// mirrorKustomizeFile is kustomize.config.k8s.io/v1beta1 Kustomization,
// the part wookie writes.
type mirrorKustomizeFile struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// strict decodes a YAML document into v, failing on unknown fields.
func strict(t *testing.T, name string, doc []byte, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		t.Fatalf("%s does not decode strictly: %v\n%s", name, err, doc)
	}
}

// fluxDocs splits a file into its YAML documents, each decoded loosely to
// find its kind; every file must parse back.
func fluxDocs(t *testing.T, name string, data []byte) (docs [][]byte, kinds []string) {
	t.Helper()
	for _, doc := range splitDocs(data) {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("%s does not parse back: %v", name, err)
		}
		if m == nil {
			continue
		}
		kind, _ := m["kind"].(string)
		docs = append(docs, []byte(doc))
		kinds = append(kinds, kind)
	}
	return docs, kinds
}

// fluxOutput is a Flux tree read back: the Kustomizations by cluster and
// bundle, everything else by file.
type fluxOutput struct {
	kustomizations map[string]map[string]mirrorKustomization // cluster -> bundle
	releases       map[string]mirrorHelmRelease              // bundle dir -> HelmRelease
	sources        map[string][]mirrorSource                 // file -> sources
	kustomize      map[string]mirrorKustomizeFile            // cluster -> flux/kustomization.yaml
	manifests      map[string][]map[string]any               // bundle dir -> objects
}

// readFlux reads every file of tree back, strictly where wookie writes the
// objects.
func readFlux(t *testing.T, tree Tree) fluxOutput {
	t.Helper()
	out := fluxOutput{
		kustomizations: map[string]map[string]mirrorKustomization{},
		releases:       map[string]mirrorHelmRelease{},
		sources:        map[string][]mirrorSource{},
		kustomize:      map[string]mirrorKustomizeFile{},
		manifests:      map[string][]map[string]any{},
	}
	for _, name := range slices.Sorted(maps.Keys(tree)) {
		docs, kinds := fluxDocs(t, name, tree[name])
		cluster, rest, _ := strings.Cut(name, "/")
		dir := filepath.ToSlash(filepath.Dir(name))
		switch {
		case rest == "flux/kustomization.yaml":
			var k mirrorKustomizeFile
			strict(t, name, tree[name], &k)
			out.kustomize[cluster] = k
		case strings.HasPrefix(rest, "flux/"):
			for i, doc := range docs {
				switch kinds[i] {
				case "Kustomization":
					var k mirrorKustomization
					strict(t, name, doc, &k)
					if out.kustomizations[cluster] == nil {
						out.kustomizations[cluster] = map[string]mirrorKustomization{}
					}
					out.kustomizations[cluster][k.Metadata.Labels["wookie.dev/bundle"]] = k
				case "HelmRepository", "OCIRepository":
					var src mirrorSource
					strict(t, name, doc, &src)
					out.sources[name] = append(out.sources[name], src)
				default:
					t.Fatalf("%s: unexpected kind %q", name, kinds[i])
				}
			}
		case strings.HasSuffix(name, "/helmrelease.yaml"):
			for i, doc := range docs {
				switch kinds[i] {
				case "HelmRelease":
					var hr mirrorHelmRelease
					strict(t, name, doc, &hr)
					out.releases[dir] = hr
				case "OCIRepository":
					var src mirrorSource
					strict(t, name, doc, &src)
					out.sources[name] = append(out.sources[name], src)
				default:
					t.Fatalf("%s: unexpected kind %q", name, kinds[i])
				}
			}
		case strings.HasSuffix(name, "/manifests.yaml"):
			for _, doc := range docs {
				var m map[string]any
				if err := yaml.Unmarshal(doc, &m); err != nil {
					t.Fatal(err)
				}
				out.manifests[dir] = append(out.manifests[dir], m)
			}
		default:
			t.Fatalf("unexpected file %s", name)
		}
	}
	return out
}

// checkFluxOrder recomputes each cluster's order from the Kustomizations'
// dependsOn and compares it with the Plan's.
func checkFluxOrder(t *testing.T, out fluxOutput, clusters ...string) {
	t.Helper()
	for _, cluster := range clusters {
		byName := map[string]string{}
		for bundle, k := range out.kustomizations[cluster] {
			byName[k.Metadata.Name] = bundle
		}
		edges := map[string][]string{}
		for bundle, k := range out.kustomizations[cluster] {
			edges[bundle] = []string{}
			for _, d := range k.Spec.DependsOn {
				dep, ok := byName[d.Name]
				if !ok || d.Namespace != "" {
					t.Fatalf("cluster %s: %s depends on %s/%s, which is no Kustomization of the cluster", cluster, k.Metadata.Name, d.Namespace, d.Name)
				}
				edges[bundle] = append(edges[bundle], dep)
			}
		}
		_, r := fixture(t)
		if diff := cmp.Diff(planOrder(r, cluster), closure(t, edges)); diff != "" {
			t.Errorf("cluster %s: order (-plan +flux):\n%s", cluster, diff)
		}
	}
}

// fluxNamespaces returns, per bundle directory, the Namespace objects
// wookie added for Flux (those with the ssa annotation) and their
// annotations.
func fluxNamespaces(out fluxOutput) map[string]map[string]any {
	got := map[string]map[string]any{}
	for dir, objs := range out.manifests {
		for _, o := range objs {
			meta, _ := o["metadata"].(map[string]any)
			ann, _ := meta["annotations"].(map[string]any)
			if o["kind"] == "Namespace" && ann["kustomize.toolkit.fluxcd.io/ssa"] != nil {
				got[dir] = map[string]any{"name": meta["name"], "annotations": ann, "labels": meta["labels"]}
			}
		}
	}
	return got
}

func TestFluxRendered(t *testing.T) {
	p, r := fixture(t)
	tree, warnings, err := Build(p, r, Options{Format: FormatFlux})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	wantFiles := []string{
		"east/crds/base/manifests.yaml",
		"east/crds/operator-crds/manifests.yaml",
		"east/flux/app.yaml", "east/flux/base.yaml", "east/flux/kustomization.yaml", "east/flux/ns-mesh.yaml",
		"east/flux/operator-crds.yaml", "east/flux/operator.yaml", "east/flux/settings.yaml",
		"east/namespaces/ns-mesh/manifests.yaml",
		"east/operators/operator/manifests.yaml",
		"east/operators/settings/manifests.yaml",
		"east/services/app/manifests.yaml",
		"west/flux/app.yaml", "west/flux/kustomization.yaml",
		"west/services/app/manifests.yaml",
	}
	if diff := cmp.Diff(wantFiles, slices.Sorted(maps.Keys(tree))); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}
	out := readFlux(t, tree)
	checkFluxOrder(t, out, "east", "west")

	// The directory of Kustomizations lists them in deploy order.
	wantKustomize := map[string]mirrorKustomizeFile{
		"east": {APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization", Resources: []string{
			"operator-crds.yaml", "base.yaml", "ns-mesh.yaml", "operator.yaml", "settings.yaml", "app.yaml",
		}},
		"west": {APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization", Resources: []string{"app.yaml"}},
	}
	if diff := cmp.Diff(wantKustomize, out.kustomize); diff != "" {
		t.Errorf("flux/kustomization.yaml (-want +got):\n%s", diff)
	}

	op := out.kustomizations["east"]["operator"]
	wantOp := mirrorKustomization{APIVersion: "kustomize.toolkit.fluxcd.io/v1", Kind: "Kustomization"}
	wantOp.Metadata = mirrorMeta{Name: "east-operator", Namespace: "flux-system", Labels: map[string]string{
		"wookie.dev/cluster": "east", "wookie.dev/batch": "operators", "wookie.dev/bundle": "operator",
	}}
	wantOp.Spec.DependsOn = op.Spec.DependsOn // checked by the order above
	wantOp.Spec.Ignore = op.Spec.Ignore       // checked by TestFluxIgnoreDifferences
	wantOp.Spec.Interval, wantOp.Spec.RetryInterval = "10m", "1m"
	wantOp.Spec.KubeConfig = &mirrorKubeConfig{}
	wantOp.Spec.KubeConfig.SecretRef.Name = "east-kubeconfig"
	wantOp.Spec.Path = "./clusters/east/operators/operator"
	wantOp.Spec.Prune, wantOp.Spec.Wait = true, true
	wantOp.Spec.SourceRef = mirrorObjectRef{Kind: "GitRepository", Name: "flux-system"}
	if diff := cmp.Diff(wantOp, op); diff != "" {
		t.Errorf("east/flux/operator.yaml (-want +got):\n%s", diff)
	}

	// Flux reaches east with its kubeconfig Secret, west from inside.
	for cluster, ks := range out.kustomizations {
		for bundle, k := range ks {
			if got, want := k.Spec.KubeConfig != nil, cluster == "east"; got != want {
				t.Errorf("%s/%s: kubeConfig set %v, want %v", cluster, bundle, got, want)
			}
		}
	}

	// A Namespace comes first in exactly the bundles whose namespace no
	// earlier bundle creates and that have objects in it (operator-crds
	// holds only CRDs; west's app is in default).
	wantNS := map[string]map[string]any{}
	for _, dir := range []string{"east/crds/base", "east/services/app"} {
		ns := "mesh"
		if strings.HasSuffix(dir, "/app") {
			ns = "apps"
		}
		wantNS[dir] = map[string]any{
			"name": ns,
			"annotations": map[string]any{
				"kustomize.toolkit.fluxcd.io/ssa":   "IfNotPresent",
				"kustomize.toolkit.fluxcd.io/prune": "disabled",
			},
			"labels": map[string]any{"wookie.dev/cluster": "east", "wookie.dev/bundle": filepath.Base(dir)},
		}
		if out.manifests[dir][0]["kind"] != "Namespace" {
			t.Errorf("%s: the Namespace is not first", dir)
		}
	}
	if diff := cmp.Diff(wantNS, fluxNamespaces(out)); diff != "" {
		t.Errorf("added Namespaces (-want +got):\n%s", diff)
	}
	// The rendered result is left as it was.
	if got := len(r.Clusters[0].Batches[0].Bundles[1].Objects); got != 2 {
		t.Errorf("the rendered bundle base has %d objects now, want 2", got)
	}
	if !bytes.Contains(tree["east/operators/settings/manifests.yaml"], []byte("{{ .Values.x }}")) {
		t.Errorf("settings manifests lost their text:\n%s", tree["east/operators/settings/manifests.yaml"])
	}

	// Same input, same bytes.
	again, _, err := Build(p, r, Options{Format: FormatFlux})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tree, again); diff != "" {
		t.Errorf("a second build differs (-first +second):\n%s", diff)
	}
}

func TestFluxChart(t *testing.T) {
	p, r := fixture(t)
	tree, warnings, err := Build(p, r, Options{Format: FormatFlux, FluxMode: ModeChart})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	wantFiles := []string{
		"east/crds/base/helmrelease.yaml",
		"east/crds/operator-crds/manifests.yaml",
		"east/flux/app.yaml", "east/flux/base.yaml", "east/flux/kustomization.yaml", "east/flux/ns-mesh.yaml",
		"east/flux/operator-crds.yaml", "east/flux/operator.yaml", "east/flux/settings.yaml", "east/flux/sources.yaml",
		"east/namespaces/ns-mesh/manifests.yaml",
		"east/operators/operator/helmrelease.yaml",
		"east/operators/settings/manifests.yaml",
		"east/services/app/manifests.yaml",
		"west/flux/app.yaml", "west/flux/kustomization.yaml",
		"west/services/app/manifests.yaml",
	}
	if diff := cmp.Diff(wantFiles, slices.Sorted(maps.Keys(tree))); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}
	out := readFlux(t, tree)
	checkFluxOrder(t, out, "east", "west")
	if got := out.kustomize["east"].Resources; len(got) == 0 || got[0] != "sources.yaml" {
		t.Errorf("east/flux/kustomization.yaml: resources %q, want sources.yaml first", got)
	}

	// The HTTP repository is one shared HelmRepository; the OCI chart has
	// its own OCIRepository next to its HelmRelease.
	wantSources := map[string][]mirrorSource{
		"east/flux/sources.yaml":                   {{APIVersion: "source.toolkit.fluxcd.io/v1", Kind: "HelmRepository"}},
		"east/operators/operator/helmrelease.yaml": {{APIVersion: "source.toolkit.fluxcd.io/v1", Kind: "OCIRepository"}},
	}
	helmRepo := &wantSources["east/flux/sources.yaml"][0]
	helmRepo.Metadata = mirrorMeta{Name: "east-charts-example-org-stable", Namespace: "flux-system", Labels: map[string]string{"wookie.dev/cluster": "east"}}
	helmRepo.Spec.URL, helmRepo.Spec.Interval = "https://charts.example.org/stable", "1h"
	ociRepo := &wantSources["east/operators/operator/helmrelease.yaml"][0]
	ociRepo.Metadata = mirrorMeta{Name: "east-operator", Namespace: "flux-system", Labels: map[string]string{
		"wookie.dev/cluster": "east", "wookie.dev/batch": "operators", "wookie.dev/bundle": "operator",
	}}
	ociRepo.Spec.URL, ociRepo.Spec.Interval = "oci://registry.example.org/charts/operator", "1h"
	ociRepo.Spec.Ref = &struct {
		Tag string `json:"tag"`
	}{Tag: "2.0.0"}
	ociRepo.Spec.LayerSelector = &struct {
		MediaType string `json:"mediaType"`
		Operation string `json:"operation"`
	}{MediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", Operation: "copy"}
	if diff := cmp.Diff(wantSources, out.sources); diff != "" {
		t.Errorf("sources (-want +got):\n%s", diff)
	}

	base := out.releases["east/crds/base"]
	if base.Spec.Chart == nil || base.Spec.ChartRef != nil {
		t.Fatalf("base: want chart.spec and no chartRef: %+v", base.Spec)
	}
	if diff := cmp.Diff(mirrorObjectRef{Kind: "HelmRepository", Name: "east-charts-example-org-stable", Namespace: "flux-system"}, base.Spec.Chart.Spec.SourceRef); diff != "" {
		t.Errorf("base: sourceRef (-want +got):\n%s", diff)
	}
	op := out.releases["east/operators/operator"]
	if op.Spec.Chart != nil {
		t.Errorf("operator: chart.spec set for an OCI chart: %+v", op.Spec.Chart)
	}
	if diff := cmp.Diff(&mirrorObjectRef{Kind: "OCIRepository", Name: "east-operator", Namespace: "flux-system"}, op.Spec.ChartRef); diff != "" {
		t.Errorf("operator: chartRef (-want +got):\n%s", diff)
	}
	tests := []struct {
		dir             string
		chart, version  string
		crds            string
		createNamespace bool
		values          map[string]any
	}{
		// mesh is created only by ns-mesh, a batch later.
		{"east/crds/base", "base", "1.0.0", "CreateReplace", true, map[string]any{"x": float64(1)}},
		// operator's CRDs are the generated bundle operator-crds, which
		// owns them; ${ is no Flux syntax without postBuild.
		{"east/operators/operator", "", "", "Skip", false, map[string]any{"greeting": "${ .ClusterName }"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			hr := out.releases[tt.dir]
			bundle := filepath.Base(tt.dir)
			if hr.Spec.Chart != nil {
				if hr.Spec.Chart.Spec.Chart != tt.chart || hr.Spec.Chart.Spec.Version != tt.version {
					t.Errorf("chart %s %s, want %s %s", hr.Spec.Chart.Spec.Chart, hr.Spec.Chart.Spec.Version, tt.chart, tt.version)
				}
			}
			if hr.Metadata.Name != "east-"+bundle || hr.Metadata.Namespace != "flux-system" || hr.Spec.ReleaseName != bundle {
				t.Errorf("names: %+v, releaseName %s", hr.Metadata, hr.Spec.ReleaseName)
			}
			if hr.Spec.TargetNamespace != "mesh" || hr.Spec.StorageNamespace != "mesh" {
				t.Errorf("namespaces: target %s, storage %s", hr.Spec.TargetNamespace, hr.Spec.StorageNamespace)
			}
			if hr.Spec.Install.CRDs != tt.crds || hr.Spec.Upgrade.CRDs != tt.crds {
				t.Errorf("crds: install %s, upgrade %s, want %s", hr.Spec.Install.CRDs, hr.Spec.Upgrade.CRDs, tt.crds)
			}
			if hr.Spec.Install.CreateNamespace != tt.createNamespace {
				t.Errorf("createNamespace %v, want %v", hr.Spec.Install.CreateNamespace, tt.createNamespace)
			}
			if diff := cmp.Diff(tt.values, hr.Spec.Values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			// helm-controller reaches the remote cluster itself; the
			// Kustomization writes the HelmRelease next to Flux and
			// waits for it.
			if hr.Spec.KubeConfig == nil || hr.Spec.KubeConfig.SecretRef.Name != "east-kubeconfig" {
				t.Errorf("kubeConfig %+v, want secret east-kubeconfig", hr.Spec.KubeConfig)
			}
			k := out.kustomizations["east"][bundle]
			if k.Spec.KubeConfig != nil || !k.Spec.Wait || k.Spec.Path != "./clusters/"+tt.dir {
				t.Errorf("Kustomization: kubeConfig %+v, wait %v, path %s", k.Spec.KubeConfig, k.Spec.Wait, k.Spec.Path)
			}
		})
	}
	if !bytes.Contains(tree["east/operators/operator/helmrelease.yaml"], []byte("greeting: ${ .ClusterName }")) {
		t.Errorf("operator values lost their text:\n%s", tree["east/operators/operator/helmrelease.yaml"])
	}
	// Charts create their namespace themselves; manifests still need one.
	if diff := cmp.Diff([]string{"east/services/app"}, slices.Sorted(maps.Keys(fluxNamespaces(out)))); diff != "" {
		t.Errorf("added Namespaces (-want +got):\n%s", diff)
	}
}

func TestFluxChartVariants(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, p *plan.Plan, r *render.Result)
		check  func(t *testing.T, tree Tree, warnings []string)
	}{
		{
			name: "local chart stays rendered",
			change: func(t *testing.T, p *plan.Plan, r *render.Result) {
				p.Clusters[0].Batches[0].Bundles[0].Chart.Repo = "./charts"
			},
			check: func(t *testing.T, tree Tree, warnings []string) {
				if _, ok := tree["east/crds/base/manifests.yaml"]; !ok {
					t.Errorf("no manifests.yaml for the local chart")
				}
				if _, ok := tree["east/flux/sources.yaml"]; ok {
					t.Errorf("sources.yaml written without an HTTP chart")
				}
				want := []string{"cluster east: bundle base: flux: the chart comes from the local path ./charts, which Flux cannot pull: its manifests are written rendered"}
				if diff := cmp.Diff(want, warnings); diff != "" {
					t.Errorf("warnings (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "no wait, timeout, inline CRDs, build metadata",
			change: func(t *testing.T, p *plan.Plan, r *render.Result) {
				u := &p.Clusters[0].Batches[2].Bundles[0]
				no := false
				u.Wait, u.Timeout, u.CRDs, u.Chart.Version = &no, "90s", "inline", "2.0.0+abc"
			},
			check: func(t *testing.T, tree Tree, warnings []string) {
				out := readFlux(t, tree)
				hr := out.releases["east/operators/operator"]
				if hr.Spec.Install.CRDs != "CreateReplace" || !hr.Spec.Install.DisableWait || !hr.Spec.Upgrade.DisableWait || hr.Spec.Timeout != "90s" {
					t.Errorf("HelmRelease spec: %+v", hr.Spec)
				}
				k := out.kustomizations["east"]["operator"]
				if k.Spec.Wait || k.Spec.Timeout != "90s" {
					t.Errorf("Kustomization: wait %v, timeout %q", k.Spec.Wait, k.Spec.Timeout)
				}
				if tag := out.sources["east/operators/operator/helmrelease.yaml"][0].Spec.Ref.Tag; tag != "2.0.0_abc" {
					t.Errorf("OCI tag %q, want 2.0.0_abc", tag)
				}
			},
		},
		{
			name: "CRDs skipped",
			change: func(t *testing.T, p *plan.Plan, r *render.Result) {
				p.Clusters[0].Batches[0].Bundles[0].CRDs = "skip"
			},
			check: func(t *testing.T, tree Tree, warnings []string) {
				hr := readFlux(t, tree).releases["east/crds/base"]
				if hr.Spec.Install.CRDs != "Skip" || hr.Spec.Upgrade.CRDs != "Skip" {
					t.Errorf("crds: install %s, upgrade %s, want Skip", hr.Spec.Install.CRDs, hr.Spec.Upgrade.CRDs)
				}
			},
		},
		{
			name: "one HelmRepository for two charts",
			change: func(t *testing.T, p *plan.Plan, r *render.Result) {
				p.Clusters[0].Batches[2].Bundles[0].Chart.Repo = "https://charts.example.org/stable"
			},
			check: func(t *testing.T, tree Tree, warnings []string) {
				out := readFlux(t, tree)
				if n := len(out.sources["east/flux/sources.yaml"]); n != 1 {
					t.Errorf("%d HelmRepositories, want 1", n)
				}
				for _, dir := range []string{"east/crds/base", "east/operators/operator"} {
					if got := out.releases[dir].Spec.Chart.Spec.SourceRef.Name; got != "east-charts-example-org-stable" {
						t.Errorf("%s: sourceRef %s", dir, got)
					}
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := fixture(t)
			tt.change(t, p, r)
			tree, warnings, err := Build(p, r, Options{Format: FormatFlux, FluxMode: ModeChart})
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, tree, warnings)
		})
	}
}

func TestFluxRepoNames(t *testing.T) {
	long := "https://charts.example.org/" + strings.Repeat("a", 60)
	got := repoNames("east-", []string{"https://charts.example.org/stable", "http://charts.example.org/stable", long, "https://x.org"})
	for repo, name := range got {
		if len(name) > 63 || !fleetLabel.MatchString(name) || !strings.HasPrefix(name, "east-") {
			t.Errorf("%s: name %q is no DNS-1123 label of at most 63 starting with the cluster", repo, name)
		}
	}
	if got["https://charts.example.org/stable"] == got["http://charts.example.org/stable"] {
		t.Errorf("two URLs share the name %s", got["http://charts.example.org/stable"])
	}
	if got["https://x.org"] != "east-x-org" {
		t.Errorf("https://x.org: %s, want east-x-org", got["https://x.org"])
	}
}

func TestFluxErrors(t *testing.T) {
	long := "west-" + strings.Repeat("x", 55)
	tests := []struct {
		name   string
		opts   Options
		change func(p *plan.Plan, r *render.Result)
		want   string
	}{
		{
			name: "name too long",
			change: func(p *plan.Plan, r *render.Result) {
				p.Clusters[1].Name, r.Clusters[1].Name = long, long
			},
			want: "cluster " + long + ": bundle app: flux: Kustomization name \"" + long + "-app\" is 64 characters; Flux object names are DNS-1123 labels of at most 63: shorten the cluster or bundle name",
		},
		{
			name: "timeout Flux does not read",
			change: func(p *plan.Plan, r *render.Result) {
				p.Clusters[1].Batches[0].Bundles[0].Timeout = "1500us"
			},
			want: `cluster west: bundle app: flux: timeout "1500us": Flux takes a duration of ms, s, m and h, like 90s or 1h30m`,
		},
		{
			name: "bundle named like the kustomize file",
			change: func(p *plan.Plan, r *render.Result) {
				p.Clusters[1].Batches[0].Bundles[0].Name = "kustomization"
				r.Clusters[1].Batches[0].Bundles[0].Name = "kustomization"
			},
			want: `cluster west: bundle kustomization: flux: its Kustomization would be written to west/flux/kustomization.yaml, which wookie writes itself: rename the bundle`,
		},
		{
			name: "unknown mode",
			opts: Options{FluxMode: "helm"},
			want: `flux: mode "helm": want rendered or chart`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := fixture(t)
			if tt.change != nil {
				tt.change(p, r)
			}
			opts := tt.opts
			opts.Format = FormatFlux
			tree, _, err := Build(p, r, opts)
			if err == nil {
				t.Fatalf("no error; files %q", slices.Sorted(maps.Keys(tree)))
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if tree != nil {
				t.Errorf("a tree comes with the error")
			}
		})
	}
}

func TestFluxIgnoreDifferences(t *testing.T) {
	webhook := []mirrorIgnoreRule{{
		Paths:  []string{"/webhooks/0/clientConfig/caBundle"},
		Target: &mirrorSelector{Group: `admissionregistration\.k8s\.io`, Version: "v1", Kind: "ValidatingWebhookConfiguration", Name: "operator-validator"},
	}}
	tests := []struct {
		name   string
		mode   string
		change func(p *plan.Plan)
		want   map[string][]mirrorIgnoreRule // bundle -> rules
	}{
		{
			// The fixture's webhook configuration, cluster-scoped.
			name: "cluster-scoped object",
			want: map[string][]mirrorIgnoreRule{"operator": webhook},
		},
		{
			// A namespaced object named without its namespace is selected
			// in the one it is rendered in; the core group selects by kind.
			name: "namespaced object",
			change: func(p *plan.Plan) {
				u := &p.Clusters[0].Batches[2].Bundles[1]
				u.IgnoreDifferences = append(u.IgnoreDifferences, plan.IgnoreDifference{
					APIVersion: "v1", Kind: "ConfigMap", Name: "tpl", JSONPointers: []string{"/data/tpl", "/data/a~1b"},
				})
			},
			want: map[string][]mirrorIgnoreRule{"operator": webhook, "settings": {{
				Paths:  []string{"/data/tpl", "/data/a~1b"},
				Target: &mirrorSelector{Version: "v1", Kind: "ConfigMap", Name: "tpl", Namespace: "mesh"},
			}}},
		},
		{
			// helm-controller installs the chart; its drift detection is
			// off, and the Kustomization only applies the HelmRelease.
			name: "chart installed by helm-controller",
			mode: ModeChart,
			want: map[string][]mirrorIgnoreRule{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := fixture(t)
			if tt.change != nil {
				tt.change(p)
			}
			tree, warnings, err := Build(p, r, Options{Format: FormatFlux, FluxMode: tt.mode})
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings: %q", warnings)
			}
			got := map[string][]mirrorIgnoreRule{}
			for bundle, k := range readFlux(t, tree).kustomizations["east"] {
				if k.Spec.Ignore != nil {
					got[bundle] = k.Spec.Ignore
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ignore rules by bundle (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFluxWithPeer hands the output to Flux's own CLI: for each cluster,
// `flux build kustomization --dry-run --recursive` starts from a
// Kustomization pointed at <cluster>/flux, as the user's would be, and
// builds every bundle's Kustomization from the directory in the
// repository it names, with kustomize, the way kustomize-controller does,
// without a cluster. Every object wookie wrote must come out, once per file
// it is in. (flux comes from hack/peers/build.sh --all, which builds it
// without the install manifests that only flux install and bootstrap use.)
func TestFluxWithPeer(t *testing.T) {
	flux := peerBinary(t, "flux")
	for _, mode := range []string{ModeRendered, ModeChart} {
		t.Run(mode, func(t *testing.T) {
			p, r := fixture(t)
			// kustomize refuses a directory that has an object twice.
			settings := &r.Clusters[0].Batches[2].Bundles[1]
			hook := fixtureDecode(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tpl, namespace: mesh}\n")[0]
			hook.Hook = "pre"
			settings.Objects = append([]*render.Object{hook}, settings.Objects...)
			tree, _, err := Build(p, r, Options{Format: FormatFlux, FluxMode: mode})
			if err != nil {
				t.Fatal(err)
			}
			repo := t.TempDir()
			if err := WriteTree(filepath.Join(repo, "clusters"), tree); err != nil {
				t.Fatal(err)
			}
			for _, cluster := range []string{"east", "west"} {
				var want []string
				for name, data := range tree {
					if !strings.HasPrefix(name, cluster+"/") || strings.HasSuffix(name, "/flux/kustomization.yaml") {
						continue
					}
					docs, _ := fluxDocs(t, name, data)
					for _, doc := range docs {
						want = append(want, fluxObjectID(t, doc))
					}
				}
				slices.Sort(want)

				root := filepath.Join(t.TempDir(), "root.yaml")
				data, err := yaml.Marshal(map[string]any{
					"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
					"kind":       "Kustomization",
					"metadata":   map[string]any{"name": "wookie-" + cluster, "namespace": "flux-system"},
					"spec": map[string]any{
						"interval":  "10m",
						"path":      "./clusters/" + cluster + "/flux",
						"prune":     true,
						"sourceRef": map[string]any{"kind": "GitRepository", "name": "flux-system"},
					},
				})
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(root, data, 0o644); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(flux, "build", "kustomization", "wookie-"+cluster,
					"--path", filepath.Join(repo, "clusters", cluster, "flux"),
					"--kustomization-file", root, "--dry-run", "--recursive",
					"--local-sources", "GitRepository/flux-system/flux-system="+repo)
				cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(repo, "no-kubeconfig"))
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Run(); err != nil {
					t.Fatalf("%s: flux build kustomization: %v\n%s", cluster, err, stderr.Bytes())
				}
				var got []string
				docs, _ := fluxDocs(t, "flux build output", stdout.Bytes())
				for _, doc := range docs {
					got = append(got, fluxObjectID(t, doc))
				}
				slices.Sort(got)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%s: objects flux builds (-wookie +flux):\n%s", cluster, diff)
				}
			}
		})
	}
}

// fluxObjectID identifies an object of a YAML document: kind, namespace
// and name.
func fluxObjectID(t *testing.T, doc []byte) string {
	t.Helper()
	var o struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &o); err != nil {
		t.Fatal(err)
	}
	return o.Kind + " " + o.Metadata.Namespace + "/" + o.Metadata.Name
}

// TestFluxHookTwice checks that an object a chart makes both as a hook and
// as a template is written once, in its final form: kustomize refuses a
// directory that has an object twice.
func TestFluxHookTwice(t *testing.T) {
	p, r := fixture(t)
	base := &r.Clusters[0].Batches[0].Bundles[1]
	hook := fixtureDecode(t, "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: base-reader, namespace: mesh, annotations: {helm.sh/hook: pre-install}}\n")[0]
	hook.Hook = "pre"
	base.Objects = append([]*render.Object{hook}, base.Objects...)
	tree, _, err := Build(p, r, Options{Format: FormatFlux})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range readFlux(t, tree).manifests["east/crds/base"] {
		meta := o["metadata"].(map[string]any)
		id := o["kind"].(string) + "/" + meta["name"].(string)
		if ann, _ := meta["annotations"].(map[string]any); ann["helm.sh/hook"] != nil {
			id += " (hook)"
		}
		got = append(got, id)
	}
	want := []string{"Namespace/mesh", "CustomResourceDefinition/widgets.example.org", "ServiceAccount/base-reader"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("east/crds/base/manifests.yaml objects (-want +got):\n%s", diff)
	}
	if len(base.Objects) != 3 {
		t.Errorf("the rendered bundle lost objects: %d", len(base.Objects))
	}
}

// TestFluxPrune checks that Flux, like wookie deploy, keeps CRDs,
// Namespaces and PersistentVolumeClaims unless their bundle says prune.
func TestFluxPrune(t *testing.T) {
	tests := []struct {
		name  string
		prune []string // bundles with prune: true
		want  []string // objects Flux keeps, as dir: kind/name
	}{
		{
			name: "default",
			want: []string{
				"east/crds/base: CustomResourceDefinition/widgets.example.org",
				"east/crds/base: Namespace/mesh",
				"east/crds/operator-crds: CustomResourceDefinition/gadgets.example.org",
				"east/crds/operator-crds: Namespace/mesh",
				"east/namespaces/ns-mesh: Namespace/mesh",
				"east/services/app: Namespace/apps",
			},
		},
		{
			// A generated CRD bundle follows its chart's bundle; the
			// Namespaces wookie adds are never pruned.
			name:  "prune",
			prune: []string{"base", "operator", "ns-mesh"},
			want: []string{
				"east/crds/base: Namespace/mesh",
				"east/crds/operator-crds: Namespace/mesh",
				"east/services/app: Namespace/apps",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := fixture(t)
			for bi := range p.Clusters[0].Batches {
				for ui := range p.Clusters[0].Batches[bi].Bundles {
					u := &p.Clusters[0].Batches[bi].Bundles[ui]
					u.Prune = slices.Contains(tt.prune, u.Name)
				}
			}
			// An object in mesh gives the CRD bundle an added Namespace
			// too, which its chart's prune must not reach.
			crds := &r.Clusters[0].Batches[0].Bundles[0]
			crds.Objects = append(crds.Objects, fixtureDecode(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: mesh}\n")...)
			tree, _, err := Build(p, r, Options{Format: FormatFlux})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for dir, objs := range readFlux(t, tree).manifests {
				for _, o := range objs {
					meta := o["metadata"].(map[string]any)
					if ann, _ := meta["annotations"].(map[string]any); ann["kustomize.toolkit.fluxcd.io/prune"] == "disabled" {
						got = append(got, dir+": "+o["kind"].(string)+"/"+meta["name"].(string))
					}
				}
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("kept objects (-want +got):\n%s", diff)
			}
			for _, o := range crds.Objects {
				if o.GetAnnotations() != nil {
					t.Errorf("the rendered %s has annotations now: %v", o.ID(), o.GetAnnotations())
				}
			}
		})
	}
}
