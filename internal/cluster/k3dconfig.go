package cluster

import (
	"fmt"
	"strconv"

	yaml "go.yaml.in/yaml/v2"

	"wookie.dev/wookie/internal/plan"
)

// The k3d config file format wookie writes.
const (
	K3dAPIVersion = "k3d.io/v1alpha5"
	K3dKind       = "Simple"
)

// The types below are k3d's SimpleConfig (pkg/config/v1alpha5) as far as
// wookie uses it, with the key names k3d reads the file with (its
// mapstructure tags, which differ from its json tags: token, not
// clusterToken). Fields are written in this order.

type k3dConfig struct {
	APIVersion string         `yaml:"apiVersion"`
	Kind       string         `yaml:"kind"`
	Metadata   k3dMetadata    `yaml:"metadata"`
	Servers    int            `yaml:"servers"`
	Agents     int            `yaml:"agents"`
	KubeAPI    *k3dKubeAPI    `yaml:"kubeAPI,omitempty"`
	Image      string         `yaml:"image"`
	Network    string         `yaml:"network,omitempty"`
	Ports      []k3dPort      `yaml:"ports,omitempty"`
	Registries *k3dRegistries `yaml:"registries,omitempty"`
	Options    k3dOptions     `yaml:"options"`
}

type k3dMetadata struct {
	Name string `yaml:"name"`
}

type k3dKubeAPI struct {
	HostPort string `yaml:"hostPort"`
}

type k3dPort struct {
	Port        string   `yaml:"port"`
	NodeFilters []string `yaml:"nodeFilters"`
}

type k3dRegistries struct {
	Use    []string `yaml:"use,omitempty"`
	Config string   `yaml:"config,omitempty"`
}

type k3dOptions struct {
	K3d        k3dOptionsK3d        `yaml:"k3d"`
	K3s        k3dOptionsK3s        `yaml:"k3s"`
	Kubeconfig k3dOptionsKubeconfig `yaml:"kubeconfig"`
}

type k3dOptionsK3d struct {
	Wait bool `yaml:"wait"`
}

type k3dOptionsK3s struct {
	ExtraArgs []k3dArg `yaml:"extraArgs,omitempty"`
}

type k3dArg struct {
	Arg         string   `yaml:"arg"`
	NodeFilters []string `yaml:"nodeFilters"`
}

type k3dOptionsKubeconfig struct {
	UpdateDefaultKubeconfig bool `yaml:"updateDefaultKubeconfig"`
	SwitchCurrentContext    bool `yaml:"switchCurrentContext"`
}

// disableTraefik is the k3s argument that turns Traefik off.
var disableTraefik = k3dArg{Arg: "--disable=traefik", NodeFilters: []string{"server:*"}}

// ConfigFile returns the k3d config file that creates cluster c, which has
// K3d set: the same bytes for the same cluster. Ports go to the load
// balancer; Traefik is disabled with a k3s argument on the servers, before
// the Plan's own; k3d waits for the servers and adds the cluster's context
// to the kubeconfig without making it the current one.
func ConfigFile(c *plan.Cluster) ([]byte, error) {
	k := c.K3d
	if k == nil {
		return nil, fmt.Errorf("cluster %s: not a k3d cluster (target %s)", c.Name, c.Target)
	}
	cfg := k3dConfig{
		APIVersion: K3dAPIVersion,
		Kind:       K3dKind,
		Metadata:   k3dMetadata{Name: k.Name},
		Servers:    k.Servers,
		Agents:     k.Agents,
		Image:      k.Image,
		Network:    k.Network,
		Options: k3dOptions{
			K3d:        k3dOptionsK3d{Wait: true},
			Kubeconfig: k3dOptionsKubeconfig{UpdateDefaultKubeconfig: true},
		},
	}
	if k.APIPort != 0 {
		cfg.KubeAPI = &k3dKubeAPI{HostPort: strconv.Itoa(k.APIPort)}
	}
	for _, p := range k.Ports {
		cfg.Ports = append(cfg.Ports, k3dPort{
			Port:        fmt.Sprintf("%d:%d", p.HostPort, p.ContainerPort),
			NodeFilters: []string{"loadbalancer"},
		})
	}
	if r := k.Registries; r != nil && (len(r.Use) > 0 || r.Config != "") {
		cfg.Registries = &k3dRegistries{Use: r.Use, Config: r.Config}
	}
	if k.DisableTraefik {
		cfg.Options.K3s.ExtraArgs = append(cfg.Options.K3s.ExtraArgs, disableTraefik)
	}
	for _, a := range k.K3sArgs {
		cfg.Options.K3s.ExtraArgs = append(cfg.Options.K3s.ExtraArgs, k3dArg{Arg: a.Arg, NodeFilters: a.NodeFilters})
	}
	body, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: k3d config: %w", c.Name, err)
	}
	header := fmt.Sprintf("# k3d config of cluster %s, written by wookie from its Plan; wookie\n# cluster create rewrites it before running k3d cluster create --config.\n", c.Name)
	return append([]byte(header), body...), nil
}
