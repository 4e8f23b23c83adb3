package emit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/chart/charttest"
)

// readFleetYAML decodes a fleet.yaml strictly: a field wookie does not
// know is a test failure.
func readFleetYAML(t *testing.T, data []byte) fleetYAML {
	t.Helper()
	var fy fleetYAML
	if err := yaml.UnmarshalStrict(data, &fy); err != nil {
		t.Fatalf("fleet.yaml does not parse back: %v\n%s", err, data)
	}
	return fy
}

func TestFleetRendered(t *testing.T) {
	p, r := fixture(t)
	tree, warnings, err := Build(p, r, Options{Format: FormatFleet})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	wantFiles := []string{
		"east/crds/base/fleet.yaml", "east/crds/base/manifests.yaml",
		"east/crds/operator-crds/fleet.yaml", "east/crds/operator-crds/manifests.yaml",
		"east/namespaces/ns-mesh/fleet.yaml", "east/namespaces/ns-mesh/manifests.yaml",
		"east/operators/operator/fleet.yaml", "east/operators/operator/manifests.yaml",
		"east/operators/settings/fleet.yaml", "east/operators/settings/manifests.yaml",
		"east/services/app/fleet.yaml", "east/services/app/manifests.yaml",
		"gitrepo.yaml",
		"west/services/app/fleet.yaml", "west/services/app/manifests.yaml",
	}
	if diff := cmp.Diff(wantFiles, slices.Sorted(maps.Keys(tree))); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}

	// The order Fleet sees, recomputed from the files: bundle names back
	// to wookie's bundles, dependsOn as edges.
	byFleetName := map[string]string{}
	files := map[string]fleetYAML{}
	for name, data := range tree {
		if !strings.HasSuffix(name, "/fleet.yaml") {
			continue
		}
		fy := readFleetYAML(t, data)
		dir := strings.TrimSuffix(name, "/fleet.yaml")
		files[dir] = fy
		fleetName := fy.Name
		if fleetName == "" {
			fleetName = FleetBundleName("wookie/clusters/" + dir)
		}
		byFleetName[fleetName] = dir
	}
	for _, cluster := range []string{"east", "west"} {
		edges := map[string][]string{}
		for dir, fy := range files {
			if !strings.HasPrefix(dir, cluster+"/") {
				continue
			}
			bundle := dir[strings.LastIndex(dir, "/")+1:]
			edges[bundle] = []string{}
			for _, d := range fy.DependsOn {
				dep, ok := byFleetName[d.Name]
				if !ok {
					t.Fatalf("%s: dependsOn %s, which no fleet.yaml makes", dir, d.Name)
				}
				if !strings.HasPrefix(dep, cluster+"/") {
					t.Fatalf("%s: dependsOn %s of another cluster", dir, dep)
				}
				edges[bundle] = append(edges[bundle], dep[strings.LastIndex(dep, "/")+1:])
			}
		}
		if diff := cmp.Diff(planOrder(r, cluster), closure(t, edges)); diff != "" {
			t.Errorf("cluster %s: order (-plan +fleet):\n%s", cluster, diff)
		}
	}

	op := files["east/operators/operator"]
	want := fleetYAML{
		Labels:           map[string]string{"wookie.dev/batch": "operators", "wookie.dev/bundle": "operator", "wookie.dev/cluster": "east"},
		DefaultNamespace: "mesh",
		Helm:             &fleetHelm{ReleaseName: "operator"},
		Diff: &fleetDiff{ComparePatches: []fleetComparePatch{{
			APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration", Name: "operator-validator",
			JSONPointers: []string{"/webhooks/0/clientConfig/caBundle"},
		}}},
		DependsOn: []fleetDependsOn{
			{"wookie-clusters-east-crds-base"}, {"wookie-clusters-east-namespaces-ns-mesh"}, {"wookie-clusters-east-crds-operator-crds"},
		},
		TargetCustomizations: []fleetTarget{
			{Name: "east", ClusterSelector: &labelSelector{MatchLabels: map[string]string{"region": "east"}}},
			{Name: "others", ClusterSelector: &labelSelector{}, DoNotDeploy: true},
		},
	}
	if diff := cmp.Diff(want, op); diff != "" {
		t.Errorf("east/operators/operator/fleet.yaml (-want +got):\n%s", diff)
	}
	if got := files["west/services/app"].TargetCustomizations[0]; got.ClusterName != "west" {
		t.Errorf("west selects %+v, want clusterName west", got)
	}
	if !bytes.Contains(tree["east/operators/settings/manifests.yaml"], []byte("{{ .Values.x }}")) {
		t.Errorf("settings manifests lost their text:\n%s", tree["east/operators/settings/manifests.yaml"])
	}

	var gitrepo map[string]any
	if err := yaml.Unmarshal(tree["gitrepo.yaml"], &gitrepo); err != nil {
		t.Fatal(err)
	}
	spec := gitrepo["spec"].(map[string]any)
	if diff := cmp.Diff([]any{"clusters/east", "clusters/west"}, spec["paths"]); diff != "" {
		t.Errorf("gitrepo paths (-want +got):\n%s", diff)
	}
	if spec["branch"] != "main" || spec["repo"] != "https://git.example.org/platform/deploy.git" {
		t.Errorf("gitrepo spec: %v", spec)
	}
}

func TestFleetChartMode(t *testing.T) {
	p, r := fixture(t)
	tree, _, err := Build(p, r, Options{Format: FormatFleet, FleetMode: ModeChart})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir       string
		helm      fleetHelm
		manifests bool
	}{
		{"east/crds/base", fleetHelm{ReleaseName: "base", Repo: "https://charts.example.org/stable", Chart: "base", Version: "1.0.0", Values: map[string]any{"x": float64(1)}}, false},
		{"east/operators/operator", fleetHelm{ReleaseName: "operator", Chart: "oci://registry.example.org/charts/operator", Version: "2.0.0",
			Values: map[string]any{"greeting": "${ .ClusterName }"}, DisablePreProcess: true}, false},
		// The chart's CRDs stay a separate, rendered bundle.
		{"east/crds/operator-crds", fleetHelm{ReleaseName: "operator-crds"}, true},
		{"east/operators/settings", fleetHelm{ReleaseName: "settings"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			fy := readFleetYAML(t, tree[tt.dir+"/fleet.yaml"])
			if diff := cmp.Diff(tt.helm, *fy.Helm); diff != "" {
				t.Errorf("helm (-want +got):\n%s", diff)
			}
			if _, ok := tree[tt.dir+"/manifests.yaml"]; ok != tt.manifests {
				t.Errorf("manifests.yaml written: %v, want %v", ok, tt.manifests)
			}
		})
	}
}

func TestFleetBundles(t *testing.T) {
	p, r := fixture(t)
	// A large bundle is compressed like fleet apply does.
	big := r.Clusters[1].Batches[0].Bundles[0].Objects[0]
	big.Object["data"] = map[string]any{"blob": strings.Repeat("wookie ", fleetCompressAt/6)}
	tree, _, err := Build(p, r, Options{Format: FormatFleet, FleetBundles: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, cluster := range []string{"east", "west"} {
		docs := splitDocs(tree["bundles/"+cluster+".yaml"])
		if cluster == "east" && len(docs) != 6 || cluster == "west" && len(docs) != 1 {
			t.Fatalf("%s: %d bundles", cluster, len(docs))
		}
		for _, doc := range docs {
			var b struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Metadata   struct {
					Name      string            `json:"name"`
					Namespace string            `json:"namespace"`
					Labels    map[string]string `json:"labels"`
				} `json:"metadata"`
				Spec fleetYAML `json:"spec"`
			}
			if err := yaml.UnmarshalStrict([]byte(doc), &b); err != nil {
				t.Fatalf("%s: %v", cluster, err)
			}
			if b.Kind != "Bundle" || b.Metadata.Namespace != "fleet-default" || len(b.Spec.Targets) != 1 || len(b.Spec.Resources) != 1 {
				t.Errorf("%s: bundle %s: %+v", cluster, b.Metadata.Name, b)
			}
			res := b.Spec.Resources[0]
			content := res.Content
			if res.Encoding == "base64+gz" {
				raw, err := base64.StdEncoding.DecodeString(content)
				if err != nil {
					t.Fatal(err)
				}
				zr, err := gzip.NewReader(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				plain, err := io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
				content = string(plain)
			}
			dir := b.Metadata.Labels["wookie.dev/cluster"] + "/" + b.Metadata.Labels["wookie.dev/batch"] + "/" + b.Metadata.Labels["wookie.dev/bundle"]
			if content != string(tree[dir+"/manifests.yaml"]) {
				t.Errorf("bundle %s: embedded manifests differ from %s/manifests.yaml", b.Metadata.Name, dir)
			}
			if wantGz := cluster == "west"; (res.Encoding == "base64+gz") != wantGz {
				t.Errorf("bundle %s: encoding %q", b.Metadata.Name, res.Encoding)
			}
		}
	}
}

func TestFleetErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		edit func(*testing.T, *Options)
		want string
	}{
		{"bundles with chart mode", Options{Format: FormatFleet, FleetMode: ModeChart, FleetBundles: true}, nil,
			"fleet: --fleet-bundles embeds the rendered manifests"},
		{"unknown mode", Options{Format: FormatFleet, FleetMode: "helm"}, nil, `fleet: mode "helm"`},
		{"unknown format", Options{Format: "kustomize"}, nil, `unknown format "kustomize": want one of manifests, fleet, helmfile, argocd, flux`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := fixture(t)
			_, _, err := Build(p, r, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestFleetLongNames: a directory whose derived name Fleet would cut gets
// a readable name in fleet.yaml, and dependents use it.
func TestFleetLongNames(t *testing.T) {
	p, r := fixture(t)
	p.GitOps.Path = "a/rather/deep/directory/inside/the/repository"
	tree, _, err := Build(p, r, Options{Format: FormatFleet})
	if err != nil {
		t.Fatal(err)
	}
	op := readFleetYAML(t, tree["east/operators/operator/fleet.yaml"])
	if op.Name != "wookie-east-operator" {
		t.Errorf("name %q, want wookie-east-operator", op.Name)
	}
	settings := readFleetYAML(t, tree["east/operators/settings/fleet.yaml"])
	if !slices.Contains(settings.DependsOn, fleetDependsOn{"wookie-east-operator"}) {
		t.Errorf("settings dependsOn %v", settings.DependsOn)
	}
}

// splitDocs splits a YAML stream at its document separators.
func splitDocs(stream []byte) []string {
	var docs []string
	for _, d := range docSep.Split(string(stream), -1) {
		if strings.TrimSpace(d) != "" {
			docs = append(docs, d)
		}
	}
	return docs
}

var docSep = regexp.MustCompile(`(?m)^---\n`)

// TestFleetWithPeer hands the Fleet output to Fleet's own CLI, built by
// hack/peers/build.sh: `fleet apply -o -` reads the GitRepo layout the way
// Fleet's gitjob does and prints the Bundles it would create, without
// contacting a cluster (v0.12.0 needs only a loadable kubeconfig). The
// Bundles must have the names wookie computed, the dependsOn, targets and
// resources of the fleet.yaml files, for both modes' rendered bundles.
func TestFleetWithPeer(t *testing.T) {
	fleet := peerBinary(t, "fleet")
	p, r := fixture(t)
	tree, _, err := Build(p, r, Options{Format: FormatFleet})
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	// The fixture's gitops.path is "clusters": the output sits there.
	if err := WriteTree(filepath.Join(repo, "clusters"), tree); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(dummyKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	got := map[string]fleetApplied{}
	// One run per bundle directory: fleet apply -o - writes the Bundles of
	// one path without separators between them (v0.12.0).
	for name := range tree {
		if !strings.HasSuffix(name, "/fleet.yaml") {
			continue
		}
		cmd := exec.Command(fleet, "apply", "-o", "-", "wookie", "clusters/"+strings.TrimSuffix(name, "/fleet.yaml"))
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HOME="+t.TempDir())
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("fleet apply %s: %v\n%s", name, err, stderr.String())
		}
		var b fleetApplied
		if err := yaml.Unmarshal(out, &b); err != nil {
			t.Fatalf("fleet apply output: %v\n%s", err, out)
		}
		if b.Kind != "Bundle" {
			t.Fatalf("fleet apply %s: printed a %s", name, b.Kind)
		}
		got[b.Metadata.Name] = b
	}
	want := 0
	for name, data := range tree {
		if !strings.HasSuffix(name, "/fleet.yaml") {
			continue
		}
		want++
		fy := readFleetYAML(t, data)
		dir := strings.TrimSuffix(name, "/fleet.yaml")
		fleetName := or(fy.Name, FleetBundleName("wookie/clusters/"+dir))
		b, ok := got[fleetName]
		if !ok {
			t.Errorf("%s: Fleet made no bundle %s; it made %v", dir, fleetName, slices.Sorted(maps.Keys(got)))
			continue
		}
		if diff := cmp.Diff(fy.DependsOn, b.Spec.DependsOn); diff != "" {
			t.Errorf("%s: dependsOn (-wookie +fleet):\n%s", dir, diff)
		}
		if diff := cmp.Diff(fy.TargetCustomizations, b.Spec.Targets); diff != "" {
			t.Errorf("%s: targets (-wookie +fleet):\n%s", dir, diff)
		}
		if b.Spec.DefaultNamespace != fy.DefaultNamespace || b.Spec.Helm == nil || b.Spec.Helm.ReleaseName != fy.Helm.ReleaseName {
			t.Errorf("%s: defaultNamespace %q, helm %+v", dir, b.Spec.DefaultNamespace, b.Spec.Helm)
		}
		for k, v := range fy.Labels {
			if b.Metadata.Labels[k] != v {
				t.Errorf("%s: label %s=%q, want %q", dir, k, b.Metadata.Labels[k], v)
			}
		}
		var manifests string
		for _, res := range b.Spec.Resources {
			if res.Name == "manifests.yaml" {
				manifests = res.Content
			}
		}
		if manifests != string(tree[dir+"/manifests.yaml"]) {
			t.Errorf("%s: Fleet's resource manifests.yaml differs from wookie's", dir)
		}
	}
	if len(got) != want {
		t.Errorf("Fleet made %d bundles, wookie wrote %d fleet.yaml files", len(got), want)
	}

	// The GitRepo's paths as gitjob passes them: Fleet walks each and must
	// find exactly the bundle directories, no stray root bundle.
	cmd := exec.Command(fleet, "apply", "-o", "-", "wookie", "clusters/east", "clusters/west")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fleet apply: %v", err)
	}
	if n := len(regexp.MustCompile(`(?m)^kind: Bundle$`).FindAll(out, -1)); n != want {
		t.Errorf("fleet apply on the GitRepo's paths made %d bundles, want %d", n, want)
	}
}

// fleetApplied is the part of a Bundle printed by fleet apply that the
// peer test compares.
type fleetApplied struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		DefaultNamespace string           `json:"defaultNamespace"`
		DependsOn        []fleetDependsOn `json:"dependsOn"`
		Targets          []fleetTarget    `json:"targets"`
		Resources        []fleetResource  `json:"resources"`
		Helm             *fleetHelm       `json:"helm"`
	} `json:"spec"`
}

// TestFleetChartWithPeer: in chart mode Fleet pulls the chart itself. Its
// CLI downloads the chart named by fleet.yaml from a chart repository on
// 127.0.0.1 and embeds it in the Bundle, which proves repo, chart and
// version are what Fleet understands.
func TestFleetChartWithPeer(t *testing.T) {
	fleet := peerBinary(t, "fleet")
	repo := charttest.NewRepo(t, charttest.RepoOptions{},
		charttest.Package(t, charttest.Chart{Name: "base", Version: "1.0.0", Files: map[string]string{"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\n"}}))
	p, r := fixture(t)
	p.Clusters[0].Batches[0].Bundles[0].Chart.Repo = repo.URL
	tree, _, err := Build(p, r, Options{Format: FormatFleet, FleetMode: ModeChart})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteTree(filepath.Join(dir, "clusters"), tree); err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(dummyKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fleet, "apply", "-o", "-", "wookie", "clusters/east/crds/base")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("fleet apply: %v\n%s", err, stderr.String())
	}
	var b fleetApplied
	if err := yaml.Unmarshal(out, &b); err != nil {
		t.Fatal(err)
	}
	if b.Spec.Helm == nil || b.Spec.Helm.Chart != "base" || b.Spec.Helm.Version != "1.0.0" || b.Spec.Helm.Repo != repo.URL {
		t.Errorf("helm options %+v", b.Spec.Helm)
	}
	var names []string
	for _, res := range b.Spec.Resources {
		names = append(names, res.Name)
	}
	if !slices.ContainsFunc(names, func(n string) bool {
		return strings.HasPrefix(n, ".chart/") && strings.HasSuffix(n, "/base/templates/cm.yaml")
	}) {
		t.Errorf("Fleet did not embed the pulled chart: resources %q", names)
	}
}

// dummyKubeconfig is a loadable kubeconfig that nothing contacts.
const dummyKubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
`
