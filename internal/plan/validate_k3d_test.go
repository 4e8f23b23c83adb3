package plan

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// k3dCluster returns a valid k3d cluster: one server, ports http 8080 and
// https 8443, API port apiPort (0: none).
func k3dCluster(name string, apiPort int) Cluster {
	return Cluster{
		Name: name, Target: "local-k3d", Context: "k3d-" + name, KubeVersion: "1.31.4",
		K3d: &K3dCluster{
			Name: name, Servers: 1, Image: "rancher/k3s:v1.31.4-k3s1", APIPort: apiPort,
			Ports: []K3dPort{{Name: "https", HostPort: 8443, ContainerPort: 443}, {Name: "http", HostPort: 8080, ContainerPort: 80}},
		},
	}
}

// shiftPorts moves c's ports by n, so that it shares no host port with
// k3dCluster's.
func shiftPorts(c Cluster, n int) Cluster {
	for i := range c.K3d.Ports {
		c.K3d.Ports[i].HostPort += n
	}
	return c
}

func TestK3dValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Plan, k *K3dCluster)
		want   Errors
	}{
		{
			name:   "valid",
			mutate: func(*Plan, *K3dCluster) {},
		},
		{
			name: "every option",
			mutate: func(_ *Plan, k *K3dCluster) {
				k.Agents, k.Network, k.DisableTraefik = 2, "wookie-mesh", true
				k.K3sArgs = []K3sArg{{Arg: "--disable=metrics-server", NodeFilters: []string{"server:*", "agent:0,1", "agent:0-2", "all", "server:0:direct"}}}
				k.Registries = &K3dRegistries{Use: []string{"k3d-registry.localhost:5000"}, Config: "mirrors:\n  docker.io:\n    endpoint: [http://mirror:5000]\n"}
			},
		},
		{
			name: "two clusters on one network, ports apart",
			mutate: func(p *Plan, _ *K3dCluster) {
				p.Clusters = append(p.Clusters, shiftPorts(k3dCluster("west", 6551), 1))
			},
		},
		{
			name:   "name not a label",
			mutate: func(_ *Plan, k *K3dCluster) { k.Name = "Dev_1" },
			want:   Errors{{Cluster: "dev", Field: "k3d.name", Msg: notLabel("Dev_1")}},
		},
		{
			name:   "name too long for k3d",
			mutate: func(_ *Plan, k *K3dCluster) { k.Name = "a-very-long-cluster-name-for-k3d-x" },
			want:   Errors{{Cluster: "dev", Field: "k3d.name", Msg: `"a-very-long-cluster-name-for-k3d-x" is 34 characters; k3d allows at most 32`}},
		},
		{
			name:   "context is not k3d's",
			mutate: func(p *Plan, _ *K3dCluster) { p.Clusters[0].Context = "dev" },
			want:   Errors{{Cluster: "dev", Field: "context", Msg: `"dev": k3d names the context of k3d cluster dev k3d-dev; use that`}},
		},
		{
			name:   "servers, agents, image",
			mutate: func(_ *Plan, k *K3dCluster) { k.Servers, k.Agents, k.Image = 0, -1, "" },
			want: Errors{
				{Cluster: "dev", Field: "k3d.agents", Msg: "-1: want 0 or more"},
				{Cluster: "dev", Field: "k3d.image", Msg: "required"},
				{Cluster: "dev", Field: "k3d.servers", Msg: "0: want at least 1"},
			},
		},
		{
			name:   "image and network with spaces",
			mutate: func(_ *Plan, k *K3dCluster) { k.Image, k.Network = "rancher/k3s latest", "-mesh" },
			want: Errors{
				{Cluster: "dev", Field: "k3d.image", Msg: `"rancher/k3s latest" is not an image reference`},
				{Cluster: "dev", Field: "k3d.network", Msg: `"-mesh" is not a Docker network name (letters, digits, '_', '.' and '-', starting with a letter or digit)`},
			},
		},
		{
			name: "ports out of range",
			mutate: func(_ *Plan, k *K3dCluster) {
				k.APIPort = 70000
				k.Ports = []K3dPort{{Name: "http", HostPort: 0, ContainerPort: 65536}, {HostPort: 9000, ContainerPort: 90}}
			},
			want: Errors{
				{Cluster: "dev", Field: "k3d.apiPort", Msg: "70000: want a port from 1 to 65535, or 0 for one k3d picks"},
				{Cluster: "dev", Field: "k3d.ports.http.containerPort", Msg: "65536: want a port from 1 to 65535"},
				{Cluster: "dev", Field: "k3d.ports.http.hostPort", Msg: "0: want a port from 1 to 65535"},
				{Cluster: "dev", Field: "k3d.ports[1].name", Msg: "required"},
			},
		},
		{
			name: "host ports collide inside the cluster",
			mutate: func(_ *Plan, k *K3dCluster) {
				k.APIPort = 8080
				k.Ports = append(k.Ports, K3dPort{Name: "web", HostPort: 8080, ContainerPort: 8080}, K3dPort{Name: "http", HostPort: 9090, ContainerPort: 90})
			},
			want: Errors{
				{Cluster: "dev", Field: "k3d.ports", Msg: "host port 8080 is used by apiPort, port http and port web"},
				{Cluster: "dev", Field: "k3d.ports", Msg: `name "http" used by 2 ports`},
			},
		},
		{
			name: "k3s args",
			mutate: func(_ *Plan, k *K3dCluster) {
				k.K3sArgs = []K3sArg{{Arg: "disable=traefik", NodeFilters: []string{"server:*"}}, {Arg: "--x"}, {NodeFilters: []string{"server:x1", "node"}}}
			},
			want: Errors{
				{Cluster: "dev", Field: "k3d.k3sArgs[0]", Msg: `arg "disable=traefik": want a flag such as --disable=metrics-server`},
				{Cluster: "dev", Field: "k3d.k3sArgs[1]", Msg: "nodeFilters: want at least one, e.g. server:*"},
				{Cluster: "dev", Field: "k3d.k3sArgs[2]", Msg: "arg is required"},
				{Cluster: "dev", Field: "k3d.k3sArgs[2]", Msg: `node filter "node": want server, agent, loadbalancer or all, optionally with :* or node indexes (server:0, agent:1,2, agent:0-2)`},
				{Cluster: "dev", Field: "k3d.k3sArgs[2]", Msg: `node filter "server:x1": want server, agent, loadbalancer or all, optionally with :* or node indexes (server:0, agent:1,2, agent:0-2)`},
			},
		},
		{
			name:   "registries",
			mutate: func(_ *Plan, k *K3dCluster) { k.Registries = &K3dRegistries{Use: []string{""}, Config: "mirrors: [a"} },
			want: Errors{
				{Cluster: "dev", Field: "k3d.registries.config", Msg: "not a YAML mapping (the content of registries.yaml): error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'"},
				{Cluster: "dev", Field: "k3d.registries.use[0]", Msg: `"": want a registry as NAME:PORT, e.g. k3d-registry.localhost:5000`},
			},
		},
		{
			name: "two clusters with one k3d name",
			mutate: func(p *Plan, _ *K3dCluster) {
				w := shiftPorts(k3dCluster("west", 0), 1)
				w.K3d.Name, w.Context = "dev", "k3d-dev"
				p.Clusters = append([]Cluster{w}, p.Clusters...)
			},
			want: Errors{{Cluster: "west", Field: "k3d.name", Msg: `"dev" is also the k3d name of cluster dev`}},
		},
		{
			name: "host ports collide between clusters",
			mutate: func(p *Plan, k *K3dCluster) {
				k.APIPort = 6550
				a := k3dCluster("alpha", 0)
				a.K3d.Ports[1].HostPort = 9080 // http; https stays 8443
				b := shiftPorts(k3dCluster("west", 6550), 1)
				b.K3d.Ports = append(b.K3d.Ports, K3dPort{Name: "eastwest", HostPort: 9080, ContainerPort: 15443})
				p.Clusters = append(p.Clusters, b, a)
			},
			want: Errors{
				{Cluster: "dev", Field: "k3d.ports", Msg: "host port 8443 (port https) is also used by cluster alpha (port https)"},
				{Cluster: "west", Field: "k3d.apiPort", Msg: "host port 6550 (apiPort) is also used by cluster dev (apiPort)"},
				{Cluster: "west", Field: "k3d.ports", Msg: "host port 9080 (port eastwest) is also used by cluster alpha (port http)"},
			},
		},
		{
			name: "a cluster without k3d shares nothing",
			mutate: func(p *Plan, _ *K3dCluster) {
				p.Clusters = append(p.Clusters, Cluster{Name: "staging", Target: "kubeconfig", Context: "k3d-dev", KubeVersion: "1.31.0"})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{k3dCluster("dev", 0)}}
			tt.mutate(p, p.Clusters[0].K3d)
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

func TestK3dCanonical(t *testing.T) {
	in := k3dCluster("dev", 0)
	in.K3d.K3sArgs = []K3sArg{{Arg: "--b", NodeFilters: []string{"server:*"}}, {Arg: "--a", NodeFilters: []string{"server:*"}}}
	in.K3d.Registries = &K3dRegistries{Use: []string{"z:5000", "a:5000", "z:5000"}}
	bare := k3dCluster("bare", 0)
	bare.K3d.Ports, bare.K3d.K3sArgs, bare.K3d.Registries = []K3dPort{}, []K3sArg{}, &K3dRegistries{Use: []string{}}
	p := &Plan{APIVersion: APIVersion, Kind: Kind, Clusters: []Cluster{in, bare}}
	if err := Normalize(p); err != nil {
		t.Fatal(err)
	}
	got := []*K3dCluster{p.Clusters[0].K3d, p.Clusters[1].K3d}
	want := []*K3dCluster{
		{Name: "bare", Servers: 1, Image: "rancher/k3s:v1.31.4-k3s1"},
		{
			Name: "dev", Servers: 1, Image: "rancher/k3s:v1.31.4-k3s1",
			Ports:      []K3dPort{{Name: "http", HostPort: 8080, ContainerPort: 80}, {Name: "https", HostPort: 8443, ContainerPort: 443}},
			K3sArgs:    []K3sArg{{Arg: "--b", NodeFilters: []string{"server:*"}}, {Arg: "--a", NodeFilters: []string{"server:*"}}},
			Registries: &K3dRegistries{Use: []string{"a:5000", "z:5000"}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Normalize (-want +got):\n%s", diff)
	}
}
