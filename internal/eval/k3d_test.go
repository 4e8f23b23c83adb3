package eval

import (
	"path/filepath"
	"regexp"
	"testing"

	"cuelang.org/go/cue"
	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
)

// TestK3dTargets checks what the local-k3d and multi-k3d targets put into
// the Plan's k3d fields and the clusters' provides.kinds, and the mesh
// settings multi-k3d leaves in CUE for projects to read.
func TestK3dTargets(t *testing.T) {
	k3sKinds := map[string]string{
		"Addon.k3s.cattle.io": "Namespaced", "ETCDSnapshotFile.k3s.cattle.io": "Cluster",
		"HelmChart.helm.cattle.io": "Namespaced", "HelmChartConfig.helm.cattle.io": "Namespaced",
	}
	withTraefik := map[string]string{}
	for k, v := range k3sKinds {
		withTraefik[k] = v
	}
	for _, k := range []string{"IngressRoute", "IngressRouteTCP", "IngressRouteUDP", "Middleware", "MiddlewareTCP",
		"ServersTransport", "ServersTransportTCP", "TLSOption", "TLSStore", "TraefikService"} {
		withTraefik[k+".traefik.io"] = "Namespaced"
	}
	type cluster struct {
		Context     string
		KubeVersion string
		K3d         *plan.K3dCluster
		Kinds       map[string]string
		Mesh        map[string]string
	}
	defaultPorts := []plan.K3dPort{{Name: "http", HostPort: 8080, ContainerPort: 80}, {Name: "https", HostPort: 8443, ContainerPort: 443}}
	tests := []struct {
		name   string
		config string
		want   map[string]cluster
	}{{
		name:   "local-k3d defaults",
		config: `targets: "local-k3d": enable: true`,
		want: map[string]cluster{"wookie-local": {
			Context: "k3d-wookie-local", KubeVersion: "1.36.4", Kinds: k3sKinds,
			K3d: &plan.K3dCluster{Name: "wookie-local", Servers: 1, Image: "rancher/k3s:v1.36.4-k3s1", Ports: defaultPorts, DisableTraefik: true},
		}},
	}, {
		name: "local-k3d options",
		config: `targets: "local-k3d": {
	enable: true, clusterName: "dev", servers: 3, agents: 2, image: "rancher/k3s:v1.30.8-k3s1", kubeVersion: "1.30.9"
	apiPort: 6550, eastWestPort: 15443, disableTraefik: false, dockerNetwork: "lab"
	ports: https: hostPort: 9443
	registries: {use: dev: ["k3d-reg:5000"], config: "mirrors: {}"}
	k3sArgs: dev: [{arg: "--disable=metrics-server"}, {arg: "--x", nodeFilters: ["agent:*"]}]
}`,
		want: map[string]cluster{"dev": {
			Context: "k3d-dev", KubeVersion: "1.30.9", Kinds: withTraefik,
			K3d: &plan.K3dCluster{
				Name: "dev", Servers: 3, Agents: 2, Image: "rancher/k3s:v1.30.8-k3s1", Network: "lab", APIPort: 6550,
				Ports: []plan.K3dPort{
					{Name: "east-west", HostPort: 15443, ContainerPort: 15443},
					{Name: "http", HostPort: 8080, ContainerPort: 80},
					{Name: "https", HostPort: 9443, ContainerPort: 443},
				},
				K3sArgs:    []plan.K3sArg{{Arg: "--disable=metrics-server", NodeFilters: []string{"server:*"}}, {Arg: "--x", NodeFilters: []string{"agent:*"}}},
				Registries: &plan.K3dRegistries{Use: []string{"k3d-reg:5000"}, Config: "mirrors: {}"},
			},
		}},
	}, {
		name: "multi-k3d",
		config: `targets: "multi-k3d": {
	enable: true, image: "rancher/k3s:v1.32.1-k3s1", registries: use: mesh: ["k3d-reg:5000"]
	clusters: {
		east: {apiPort: 6550, ports: http: {hostPort: 8080, containerPort: 80}}
		west: {clusterRole: "remote", network: "net-w", agents: 1, image: "rancher/k3s:v1.31.4-k3s1", eastWestPort: 15443}
	}
}`,
		want: map[string]cluster{
			"east": {
				Context: "k3d-east", KubeVersion: "1.32.1", Kinds: k3sKinds,
				K3d: &plan.K3dCluster{
					Name: "east", Servers: 1, Image: "rancher/k3s:v1.32.1-k3s1", Network: "wookie-mesh", APIPort: 6550, DisableTraefik: true,
					Ports: []plan.K3dPort{{Name: "http", HostPort: 8080, ContainerPort: 80}}, Registries: &plan.K3dRegistries{Use: []string{"k3d-reg:5000"}},
				},
				Mesh: map[string]string{"clusterRole": "primary", "network": "east", "apiServer": "https://k3d-east-serverlb:6443"},
			},
			"west": {
				Context: "k3d-west", KubeVersion: "1.31.4", Kinds: k3sKinds,
				K3d: &plan.K3dCluster{
					Name: "west", Servers: 1, Agents: 1, Image: "rancher/k3s:v1.31.4-k3s1", Network: "wookie-mesh", DisableTraefik: true,
					Ports: []plan.K3dPort{{Name: "east-west", HostPort: 15443, ContainerPort: 15443}}, Registries: &plan.K3dRegistries{Use: []string{"k3d-reg:5000"}},
				},
				Mesh: map[string]string{"clusterRole": "remote", "network": "net-w", "apiServer": "https://k3d-west-serverlb:6443"},
			},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, names := writeFiles(t, [][2]string{{"wookie.cue", tt.config}})
			res, err := Evaluate(Config{Dir: dir, Files: []string{filepath.Join(dir, names[0])}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]cluster{}
			for _, c := range res.Plan.Clusters {
				g := cluster{Context: c.Context, KubeVersion: c.KubeVersion, K3d: c.K3d}
				if c.Provides != nil {
					g.Kinds = c.Provides.Kinds
				}
				if m := res.Value.LookupPath(cue.MakePath(cue.Str("clusters"), cue.Str(c.Name), cue.Str("mesh"))); m.Exists() {
					if err := m.Decode(&g.Mesh); err != nil {
						t.Fatal(err)
					}
				}
				got[c.Name] = g
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("clusters (-want +got):\n%s", diff)
			}
		})
	}
}

// TestK3dErrors gives bad target configurations and the exact message
// each must produce.
func TestK3dErrors(t *testing.T) {
	tests := []struct {
		name, config, want string
	}{{
		name:   "a remote without a primary",
		config: `targets: "multi-k3d": {enable: true, clusters: {west: clusterRole: "remote", north: clusterRole: "remote"}}`,
		want:   "assertion mesh-primary failed: clusters north, west: mesh.clusterRole is remote, and no cluster is a primary: a remote uses the control plane of a primary, so make at least one cluster primary",
	}, {
		name: "host ports collide between multi-k3d clusters",
		config: `targets: "multi-k3d": {enable: true, clusters: {
	east: {apiPort: 6550, ports: http: {hostPort: 8080, containerPort: 80}}
	west: {apiPort: 6550, eastWestPort: 8080}
}}`,
		want: "assertion multi-k3d-ports failed: targets.multi-k3d.clusters: east.apiPort and west.apiPort both use host port 6550; east.ports.http and west.eastWestPort both use host port 8080: k3d clusters share the host, so every host port must differ",
	}, {
		name: "host ports collide between local-k3d and multi-k3d",
		config: `targets: "local-k3d": enable: true
targets: "multi-k3d": {enable: true, clusters: east: ports: web: {hostPort: 8443, containerPort: 443}}`,
		want: "cluster wookie-local: k3d.ports: host port 8443 (port https) is also used by cluster east (port web)",
	}, {
		name:   "host ports collide inside local-k3d",
		config: `targets: "local-k3d": {enable: true, apiPort: 8080}`,
		want:   "assertion local-k3d-ports failed: targets.local-k3d: apiPort and ports.http both use host port 8080",
	}, {
		name: "two clusters with one name",
		config: `targets: "local-k3d": enable: true
targets: "multi-k3d": {enable: true, clusters: "wookie-local": {}}`,
		want: `embedded:modules/targets/local-k3d/local-k3d.cue:LINE:COL: clusters."wookie-local".target: conflicting values "multi-k3d" and "local-k3d"`,
	}, {
		name:   "multi-k3d without clusters",
		config: `targets: "multi-k3d": enable: true`,
		want:   `assertion multi-k3d-clusters failed: targets.multi-k3d.clusters: name at least one cluster, e.g. clusters: east: clusterRole: "primary"`,
	}, {
		name:   "no version in the image tag",
		config: `targets: "multi-k3d": {enable: true, clusters: {east: {}, west: image: "k3s:latest"}}`,
		want:   "assertion multi-k3d-kube-version failed: targets.multi-k3d.clusters: west: the image tag names no Kubernetes version (like v1.36.4-k3s1); set kubeVersion",
	}, {
		name:   "a role that does not exist",
		config: `targets: "multi-k3d": {enable: true, clusters: east: clusterRole: "primay"}`,
		want:   `wookie.cue:1:67: targets."multi-k3d".clusters.east.clusterRole: "primay" is not allowed: want "primary" | "remote"`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, names := writeFiles(t, [][2]string{{"wookie.cue", tt.config}})
			_, err := Evaluate(Config{Dir: dir, Files: names})
			if err == nil {
				t.Fatal("no error")
			}
			// Positions in wookie's own modules move as they are edited.
			got := embeddedPos.ReplaceAllString(err.Error(), "$1:LINE:COL:")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// embeddedPos is a position in one of wookie's own modules.
var embeddedPos = regexp.MustCompile(`(embedded:modules/[^:]+):[0-9]+:[0-9]+:`)
