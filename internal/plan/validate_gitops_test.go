package plan

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFleetValidation: gitops.fleet.management names a cluster of the
// Plan, a cluster's Fleet workspace is a DNS label and its Fleet API
// server an https URL.
func TestFleetValidation(t *testing.T) {
	tests := []struct {
		name       string
		management string
		downstream []string
		fleet      FleetCluster // of cluster dev
		want       Errors
	}{
		{
			name: "none set",
		},
		{
			name:       "every field",
			management: "west",
			fleet:      FleetCluster{ClusterName: "local", Workspace: "fleet-local", APIServer: "https://k3d-dev-serverlb:6443"},
		},
		{
			name:  "API server without a port",
			fleet: FleetCluster{APIServer: "https://dev.example.org"},
		},
		{
			name:       "management names no cluster",
			management: "north",
			want:       Errors{{Field: "gitops.fleet.management", Msg: `"north" is not a cluster of the Plan (dev, west): name the cluster Fleet runs in`}},
		},
		{
			name:       "downstream",
			management: "west",
			downstream: []string{"dev"},
		},
		{
			name:       "downstream names no cluster, and the management cluster",
			management: "west",
			downstream: []string{"north", "west"},
			want: Errors{
				{Field: "gitops.fleet.downstream", Msg: `"north" is not a cluster of the Plan (dev, west)`},
				{Field: "gitops.fleet.downstream", Msg: `"west" is the management cluster, which Fleet deploys to anyway`},
			},
		},
		{
			name:  "workspace not a label",
			fleet: FleetCluster{Workspace: "Fleet_Default"},
			want:  Errors{{Cluster: "dev", Field: "gitops.fleet.workspace", Msg: notLabel("Fleet_Default")}},
		},
		{
			name:  "API server over http",
			fleet: FleetCluster{APIServer: "http://dev:6443"},
			want:  Errors{{Cluster: "dev", Field: "gitops.fleet.apiServer", Msg: `"http://dev:6443": want the API server's URL, https://HOST[:PORT]`}},
		},
		{
			name:  "API server without a host",
			fleet: FleetCluster{APIServer: "https://"},
			want:  Errors{{Cluster: "dev", Field: "gitops.fleet.apiServer", Msg: `"https://": want the API server's URL, https://HOST[:PORT]`}},
		},
		{
			name:  "API server as host:port",
			fleet: FleetCluster{APIServer: "dev:6443"},
			want:  Errors{{Cluster: "dev", Field: "gitops.fleet.apiServer", Msg: `"dev:6443": want the API server's URL, https://HOST[:PORT]`}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			west := shiftPorts(k3dCluster("west", 0), 1)
			dev := k3dCluster("dev", 0)
			dev.GitOps = &ClusterGitOps{Fleet: &tt.fleet}
			p := &Plan{
				APIVersion: APIVersion, Kind: Kind,
				GitOps:   &GitOps{Fleet: &FleetGitOps{Management: tt.management, Downstream: tt.downstream}},
				Clusters: []Cluster{west, dev},
			}
			err := Normalize(p)
			var got Errors
			if err != nil && !errors.As(err, &got) {
				t.Fatalf("Normalize returned %T, want Errors: %v", err, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Normalize errors (-want +got):\n%s", diff)
			}
		})
	}
}
