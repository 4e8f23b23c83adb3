package emit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
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
