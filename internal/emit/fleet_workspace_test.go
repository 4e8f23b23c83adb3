package emit

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
)

// TestFleetWorkspaces: a cluster's Bundles go to its workspace, and
// gitrepo.yaml holds one GitRepo per workspace, sorted by workspace, each
// reading the directories of its clusters.
func TestFleetWorkspaces(t *testing.T) {
	tests := []struct {
		name       string
		east, west string // gitops.fleet.workspace of each cluster
		namespace  string // gitops.fleet.namespace
		want       map[string]string
		gitRepos   []string // workspace and paths of each GitRepo, in order
	}{{
		name:     "none set",
		want:     map[string]string{"east": "fleet-default", "west": "fleet-default"},
		gitRepos: []string{"fleet-default: clusters/east clusters/west"},
	}, {
		name:      "namespace only",
		namespace: "fleet-local",
		want:      map[string]string{"east": "fleet-local", "west": "fleet-local"},
		gitRepos:  []string{"fleet-local: clusters/east clusters/west"},
	}, {
		name:     "management cluster in fleet-local",
		west:     "fleet-local",
		want:     map[string]string{"east": "fleet-default", "west": "fleet-local"},
		gitRepos: []string{"fleet-default: clusters/east", "fleet-local: clusters/west"},
	}, {
		name:     "sorted by workspace, not by cluster",
		east:     "zz-team",
		west:     "aa-team",
		want:     map[string]string{"east": "zz-team", "west": "aa-team"},
		gitRepos: []string{"aa-team: clusters/west", "zz-team: clusters/east"},
	}, {
		name:     "both in one workspace that is not the namespace",
		east:     "team",
		west:     "team",
		want:     map[string]string{"east": "team", "west": "team"},
		gitRepos: []string{"team: clusters/east clusters/west"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r := fixture(t)
			if tt.namespace != "" {
				p.GitOps.Fleet = &plan.FleetGitOps{Namespace: tt.namespace}
			}
			for i, ws := range []string{tt.east, tt.west} {
				if ws == "" {
					continue
				}
				c := &p.Clusters[i]
				if c.GitOps == nil {
					c.GitOps = &plan.ClusterGitOps{}
				}
				if c.GitOps.Fleet == nil {
					c.GitOps.Fleet = &plan.FleetCluster{}
				}
				c.GitOps.Fleet.Workspace = ws
			}
			tree, _, err := Build(p, r, Options{Format: FormatFleet, FleetBundles: true})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, cluster := range []string{"east", "west"} {
				for _, doc := range splitDocs(tree["bundles/"+cluster+".yaml"]) {
					var b struct {
						Metadata struct{ Namespace string } `json:"metadata"`
					}
					if err := yaml.Unmarshal([]byte(doc), &b); err != nil {
						t.Fatal(err)
					}
					if prev, ok := got[cluster]; ok && prev != b.Metadata.Namespace {
						t.Errorf("%s: Bundles in %s and %s", cluster, prev, b.Metadata.Namespace)
					}
					got[cluster] = b.Metadata.Namespace
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("workspaces of the Bundles (-want +got):\n%s", diff)
			}
			var repos []string
			for _, doc := range splitDocs(tree["gitrepo.yaml"]) {
				var g struct {
					Kind     string
					Metadata struct{ Name, Namespace string }
					Spec     struct {
						Paths   []string
						Targets []fleetTarget
					}
				}
				if err := yaml.Unmarshal([]byte(doc), &g); err != nil {
					t.Fatal(err)
				}
				if g.Kind != "GitRepo" || g.Metadata.Name != "wookie" || len(g.Spec.Targets) != len(g.Spec.Paths) {
					t.Errorf("GitRepo %+v", g)
				}
				for i, path := range g.Spec.Paths {
					want := fleetTarget{Name: path[strings.LastIndex(path, "/")+1:]}
					if want.Name != g.Spec.Targets[i].Name {
						t.Errorf("GitRepo %s: path %s, target %s", g.Metadata.Namespace, path, g.Spec.Targets[i].Name)
					}
				}
				repos = append(repos, g.Metadata.Namespace+": "+strings.Join(g.Spec.Paths, " "))
			}
			if diff := cmp.Diff(tt.gitRepos, repos); diff != "" {
				t.Errorf("GitRepos (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFleetBundlesInMemory: FleetBundles gives the Bundles that
// --fleet-bundles writes, object for object, whatever the Fleet options.
func TestFleetBundlesInMemory(t *testing.T) {
	for _, opts := range []Options{{}, {Format: FormatHelmfile, FleetMode: ModeChart}} {
		p, r := fixture(t)
		big := r.Clusters[1].Batches[0].Bundles[0].Objects[0]
		big.Object["data"] = map[string]any{"blob": strings.Repeat("wookie ", fleetCompressAt/6)}
		p.Clusters[1].GitOps = &plan.ClusterGitOps{Fleet: &plan.FleetCluster{ClusterName: "local", Workspace: "fleet-local"}}
		tree, _, err := Build(p, r, Options{Format: FormatFleet, FleetBundles: true})
		if err != nil {
			t.Fatal(err)
		}
		bundles, warnings, err := FleetBundles(p, r, opts)
		if err != nil {
			t.Fatal(err)
		}
		if len(warnings) != 0 {
			t.Errorf("warnings: %q", warnings)
		}
		var ids []string
		docs := map[string][][]byte{}
		for _, b := range bundles {
			ids = append(ids, b.Cluster+"/"+b.Bundle+" "+b.Workspace+"/"+b.Name)
			meta := b.Object["metadata"].(map[string]any)
			if meta["name"] != b.Name || meta["namespace"] != b.Workspace {
				t.Errorf("%s/%s: metadata %v", b.Cluster, b.Bundle, meta)
			}
			data, err := yaml.Marshal(b.Object)
			if err != nil {
				t.Fatal(err)
			}
			docs[b.Cluster] = append(docs[b.Cluster], data)
		}
		wantIDs := []string{
			"east/operator-crds fleet-default/wookie-clusters-east-crds-operator-crds",
			"east/base fleet-default/wookie-clusters-east-crds-base",
			"east/ns-mesh fleet-default/wookie-clusters-east-namespaces-ns-mesh",
			"east/operator fleet-default/wookie-clusters-east-operators-operator",
			"east/settings fleet-default/wookie-clusters-east-operators-settings",
			"east/app fleet-default/wookie-clusters-east-services-app",
			"west/app fleet-local/wookie-clusters-west-services-app",
		}
		if diff := cmp.Diff(wantIDs, ids); diff != "" {
			t.Errorf("bundles (-want +got):\n%s", diff)
		}
		for _, cluster := range []string{"east", "west"} {
			if diff := cmp.Diff(string(tree["bundles/"+cluster+".yaml"]), string(joinDocs(docs[cluster]))); diff != "" {
				t.Errorf("%s: FleetBundles differ from bundles/%s.yaml (-file +memory):\n%s", cluster, cluster, diff)
			}
		}
		west := bundles[len(bundles)-1].Object["spec"].(map[string]any)["resources"].([]any)[0].(map[string]any)
		if west["encoding"] != "base64+gz" {
			t.Errorf("west/app: encoding %v, want base64+gz", west["encoding"])
		}
	}
}

// TestFleetTakeOwnership: a bundle that makes its own namespace has Helm
// take over the Namespace that Fleet's agent creates before it installs
// the release; no other bundle does.
func TestFleetTakeOwnership(t *testing.T) {
	p, r := fixture(t)
	bundles, _, err := FleetBundles(p, r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, b := range bundles {
		helm, _ := b.Object["spec"].(map[string]any)["helm"].(map[string]any)
		if own, _ := helm["takeOwnership"].(bool); own {
			got[b.Cluster+"/"+b.Bundle] = true
		}
	}
	want := map[string]bool{"east/ns-mesh": true} // west has no namespace bundle
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bundles with helm.takeOwnership (-want +got):\n%s", diff)
	}
}
