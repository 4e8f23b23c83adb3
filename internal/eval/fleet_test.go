package eval

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
)

// TestFleetGitOpsSettings: gitops.fleet.management and a cluster's
// gitops.fleet.workspace and apiServer reach the Plan.
func TestFleetGitOpsSettings(t *testing.T) {
	res := evalConfig(t, `targets: "local-k3d": enable: true
gitops: fleet: management: "wookie-local"
clusters: "wookie-local": gitops: fleet: {workspace: "team-a", apiServer: "https://mgmt.example.org:6443"}
`, "")
	if diff := cmp.Diff(&plan.FleetGitOps{GitRepo: "wookie", Namespace: "fleet-default", Management: "wookie-local"}, res.Plan.GitOps.Fleet); diff != "" {
		t.Errorf("gitops.fleet (-want +got):\n%s", diff)
	}
	want := &plan.ClusterGitOps{Fleet: &plan.FleetCluster{Workspace: "team-a", APIServer: "https://mgmt.example.org:6443"}}
	if diff := cmp.Diff(want, res.Plan.Clusters[0].GitOps); diff != "" {
		t.Errorf("cluster gitops (-want +got):\n%s", diff)
	}
	evalConfig(t, `targets: "local-k3d": enable: true
clusters: "wookie-local": gitops: fleet: apiServer: "http://mgmt:6443"
`, "gitops.fleet.apiServer")
	evalConfig(t, `targets: "local-k3d": enable: true
clusters: "wookie-local": gitops: fleet: workspace: "Team"
`, "gitops.fleet.workspace")
}

// fleetBundle is what TestFleetProject compares of a bundle.
type fleetBundle struct {
	Cluster, Batch, Name, Namespace string
	Chart                           string
	DependsOn                       []string
	Labels                          map[string]string
}

// fleetBundles returns the bundles of p labelled wookie.dev/installs: fleet.
func fleetBundles(p *plan.Plan) []fleetBundle {
	var out []fleetBundle
	for _, c := range p.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				if u.Labels["wookie.dev/installs"] != "fleet" {
					continue
				}
				fb := fleetBundle{Cluster: c.Name, Batch: b.Name, Name: u.Name, Namespace: u.Namespace, DependsOn: u.DependsOn, Labels: u.Labels}
				if u.Chart != nil {
					fb.Chart = u.Chart.Repo + " " + u.Chart.Name + "@" + u.Chart.Version
				}
				out = append(out, fb)
			}
		}
	}
	return out
}

// chartValues returns the values of the chart of bundle name of cluster.
func chartValues(t *testing.T, p *plan.Plan, cluster, name string) plan.Object {
	t.Helper()
	for _, c := range p.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				if c.Name == cluster && u.Name == name && u.Chart != nil {
					return u.Chart.Values
				}
			}
		}
	}
	t.Fatalf("cluster %s: no chart bundle %s", cluster, name)
	return nil
}

// TestFleetProject: the fleet project installs Fleet on the management
// cluster and sets the GitOps settings deploy --via fleet reads.
func TestFleetProject(t *testing.T) {
	installs := map[string]string{"wookie.dev/installs": "fleet"}
	const repo = "https://rancher.github.io/fleet-helm-charts/"
	bundlesOn := func(cluster string) []fleetBundle {
		return []fleetBundle{
			{Cluster: cluster, Batch: "fleet-crds", Name: "fleet-crd", Namespace: "cattle-fleet-system", Chart: repo + " fleet-crd@0.12.0", Labels: installs},
			{Cluster: cluster, Batch: "fleet-crds", Name: "ns-cattle-fleet-system", Namespace: "cattle-fleet-system", Labels: installs},
			{Cluster: cluster, Batch: "fleet", Name: "fleet", Namespace: "cattle-fleet-system", Chart: repo + " fleet@0.12.0", DependsOn: []string{"fleet-crd"}, Labels: installs},
		}
	}
	tests := []struct {
		name        string
		config      string
		bundles     []fleetBundle
		gitops      *plan.FleetGitOps
		clusters    map[string]*plan.ClusterGitOps
		values      plan.Object // of the fleet chart
		mgmt        string
		otherCharts int // chart bundles besides Fleet's
	}{
		{
			name:     "one cluster",
			config:   `targets: "local-k3d": enable: true` + "\nprojects: fleet: enable: true\n",
			bundles:  bundlesOn("wookie-local"),
			gitops:   &plan.FleetGitOps{GitRepo: "wookie", Namespace: "fleet-default", Management: "wookie-local"},
			clusters: map[string]*plan.ClusterGitOps{"wookie-local": {Fleet: &plan.FleetCluster{ClusterName: "local", Workspace: "fleet-local"}}},
			values: plan.Object{
				"apiServerURL": "", "agentTLSMode": "system-store",
				"bootstrap": map[string]any{"enabled": true, "namespace": "fleet-local"},
			},
			mgmt: "wookie-local",
		},
		{
			name: "every option",
			config: `targets: "local-k3d": enable: true
projects: fleet: {
	enable:       true
	version:      "0.12.1"
	workspace:    "downstream"
	apiServerURL: "https://mgmt.example.org:6443"
	apiServerCA:  "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	agentTLSMode: "strict"
	values: {debug: true, bootstrap: agentNamespace: "fleet-agent"}
	crdValues: {}
}
clusters: "wookie-local": gitops: fleet: clusterName: "mgmt"
`,
			bundles: func() []fleetBundle {
				b := bundlesOn("wookie-local")
				b[0].Chart, b[2].Chart = repo+" fleet-crd@0.12.1", repo+" fleet@0.12.1"
				return b
			}(),
			gitops:   &plan.FleetGitOps{GitRepo: "wookie", Namespace: "downstream", Management: "wookie-local"},
			clusters: map[string]*plan.ClusterGitOps{"wookie-local": {Fleet: &plan.FleetCluster{ClusterName: "mgmt", Workspace: "fleet-local"}}},
			values: plan.Object{
				"apiServerURL": "https://mgmt.example.org:6443", "agentTLSMode": "strict", "debug": true,
				"apiServerCA": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
				"bootstrap":   map[string]any{"enabled": true, "namespace": "fleet-local", "agentNamespace": "fleet-agent"},
			},
			mgmt: "wookie-local",
		},
		{
			name: "API server URL from the management cluster's gitops.fleet.apiServer",
			config: `targets: "local-k3d": enable: true
projects: fleet: enable: true
clusters: "wookie-local": gitops: fleet: {apiServer: "https://wookie-local.example.org:6443", workspace: "mine"}
`,
			bundles:  bundlesOn("wookie-local"),
			gitops:   &plan.FleetGitOps{GitRepo: "wookie", Namespace: "fleet-default", Management: "wookie-local"},
			clusters: map[string]*plan.ClusterGitOps{"wookie-local": {Fleet: &plan.FleetCluster{ClusterName: "local", Workspace: "mine", APIServer: "https://wookie-local.example.org:6443"}}},
			values: plan.Object{
				"apiServerURL": "https://wookie-local.example.org:6443", "agentTLSMode": "system-store",
				"bootstrap": map[string]any{"enabled": true, "namespace": "mine"},
			},
			mgmt: "wookie-local",
		},
		{
			name: "multi-k3d: every cluster's API server from the mesh, the management cluster's for the agents",
			config: `targets: "multi-k3d": {enable: true, clusters: {east: {}, west: {}, north: {}}}
projects: fleet: {enable: true, cluster: "east"}
clusters: north: gitops: fleet: apiServer: "https://north.example.org"
`,
			bundles: bundlesOn("east"),
			gitops:  &plan.FleetGitOps{GitRepo: "wookie", Namespace: "fleet-default", Management: "east"},
			clusters: map[string]*plan.ClusterGitOps{
				"east":  {Fleet: &plan.FleetCluster{ClusterName: "local", Workspace: "fleet-local", APIServer: "https://k3d-east-serverlb:6443"}},
				"north": {Fleet: &plan.FleetCluster{APIServer: "https://north.example.org"}},
				"west":  {Fleet: &plan.FleetCluster{APIServer: "https://k3d-west-serverlb:6443"}},
			},
			values: plan.Object{
				"apiServerURL": "https://k3d-east-serverlb:6443", "agentTLSMode": "system-store",
				"bootstrap": map[string]any{"enabled": true, "namespace": "fleet-local"},
			},
			mgmt: "east",
		},
		{
			name: "downstream clusters named",
			config: `targets: "multi-k3d": {enable: true, clusters: {east: {}, west: {}, north: {}}}
projects: fleet: {enable: true, cluster: "east", downstream: ["west", "north"]}
`,
			bundles: bundlesOn("east"),
			gitops:  &plan.FleetGitOps{GitRepo: "wookie", Namespace: "fleet-default", Management: "east", Downstream: []string{"north", "west"}},
			clusters: map[string]*plan.ClusterGitOps{
				"east":  {Fleet: &plan.FleetCluster{ClusterName: "local", Workspace: "fleet-local", APIServer: "https://k3d-east-serverlb:6443"}},
				"north": {Fleet: &plan.FleetCluster{APIServer: "https://k3d-north-serverlb:6443"}},
				"west":  {Fleet: &plan.FleetCluster{APIServer: "https://k3d-west-serverlb:6443"}},
			},
			values: plan.Object{
				"apiServerURL": "https://k3d-east-serverlb:6443", "agentTLSMode": "system-store",
				"bootstrap": map[string]any{"enabled": true, "namespace": "fleet-local"},
			},
			mgmt: "east",
		},
		{
			name:    "with the wookie project",
			config:  base + "projects: fleet: enable: true\n",
			bundles: bundlesOn("wookie-local"),
			gitops:  &plan.FleetGitOps{GitRepo: "wookie", Namespace: "fleet-default", Management: "wookie-local"},
			clusters: map[string]*plan.ClusterGitOps{
				"wookie-local": {Fleet: &plan.FleetCluster{ClusterName: "local", Workspace: "fleet-local"}},
			},
			values: plan.Object{
				"apiServerURL": "", "agentTLSMode": "system-store",
				"bootstrap": map[string]any{"enabled": true, "namespace": "fleet-local"},
			},
			mgmt:        "wookie-local",
			otherCharts: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := evalConfig(t, tt.config, "")
			if diff := cmp.Diff(tt.bundles, fleetBundles(res.Plan)); diff != "" {
				t.Errorf("Fleet's bundles (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.gitops, res.Plan.GitOps.Fleet); diff != "" {
				t.Errorf("gitops.fleet (-want +got):\n%s", diff)
			}
			got := map[string]*plan.ClusterGitOps{}
			charts := 0
			for _, c := range res.Plan.Clusters {
				if c.GitOps != nil {
					got[c.Name] = c.GitOps
				}
				for _, b := range c.Batches {
					for _, u := range b.Bundles {
						if u.Chart != nil && u.Labels["wookie.dev/installs"] == "" {
							charts++
						}
					}
				}
			}
			if diff := cmp.Diff(tt.clusters, got); diff != "" {
				t.Errorf("clusters' gitops (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.values, chartValues(t, res.Plan, tt.mgmt, "fleet")); diff != "" {
				t.Errorf("values of the fleet chart (-want +got):\n%s", diff)
			}
			if charts != tt.otherCharts {
				t.Errorf("%d other chart bundles, want %d", charts, tt.otherCharts)
			}
		})
	}
}

// TestFleetProjectErrors: the management cluster must be known.
func TestFleetProjectErrors(t *testing.T) {
	tests := []struct{ name, config, want string }{
		{
			name:   "several clusters, none named",
			config: `targets: "multi-k3d": {enable: true, clusters: {east: {}, west: {}}}` + "\nprojects: fleet: enable: true\n",
			want:   "assertion fleet-cluster failed: projects.fleet.cluster is unset, and the Plan has clusters east, west: name the one Fleet runs in (the management cluster)",
		},
		{
			name:   "names no cluster",
			config: `targets: "multi-k3d": {enable: true, clusters: {east: {}, west: {}}}` + "\nprojects: fleet: {enable: true, cluster: \"north\"}\n",
			want:   "assertion fleet-cluster failed: projects.fleet.cluster: north names no cluster of the Plan (east, west)",
		},
		{
			name:   "downstream names no cluster, and the management cluster",
			config: `targets: "multi-k3d": {enable: true, clusters: {east: {}, west: {}}}` + "\nprojects: fleet: {enable: true, cluster: \"east\", downstream: [\"north\", \"east\"]}\n",
			want:   "assertion fleet-downstream failed: projects.fleet.downstream: north, east: name clusters of the Plan (east, west) other than the management cluster east",
		},
		{
			name:   "agentTLSMode",
			config: `targets: "local-k3d": enable: true` + "\nprojects: fleet: {enable: true, agentTLSMode: \"none\"}\n",
			want:   "projects.fleet.agentTLSMode",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, names := writeFiles(t, [][2]string{{"wookie.cue", tt.config}})
			_, err := Evaluate(Config{Dir: dir, Files: []string{dir + "/" + names[0]}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
