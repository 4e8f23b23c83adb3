package clustertest

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// Cluster is one cluster the fake k3d has.
type Cluster struct {
	Name           string `json:"name"`
	Network        string `json:"network,omitempty"`
	ServersCount   int    `json:"serversCount"`
	ServersRunning int    `json:"serversRunning"`
	AgentsCount    int    `json:"agentsCount"`
	AgentsRunning  int    `json:"agentsRunning"`
}

// WriteClusters sets the clusters the fake k3d in dir has.
func WriteClusters(dir string, clusters []Cluster) error {
	if clusters == nil {
		clusters = []Cluster{}
	}
	data, err := json.MarshalIndent(clusters, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "clusters.json"), data, 0o644)
}

// ReadClusters returns the clusters the fake k3d in dir has.
func ReadClusters(dir string) ([]Cluster, error) {
	data, err := os.ReadFile(filepath.Join(dir, "clusters.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var cs []Cluster
	if err := json.Unmarshal(data, &cs); err != nil {
		return nil, fmt.Errorf("clusters.json: %w", err)
	}
	return cs, nil
}

// Calls returns the calls recorded in dir, one per line.
func Calls(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "calls.log"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"), nil
}

// fake is one run of a stand-in.
type fake struct {
	dir  string
	args []string
}

// start records the call and returns the fake, or exits when FAKEK3D_DIR
// is unset.
func start(name string) *fake {
	dir := os.Getenv("FAKEK3D_DIR")
	if dir == "" {
		fmt.Fprintf(os.Stderr, "fake %s: FAKEK3D_DIR is not set\n", name)
		os.Exit(3)
	}
	f := &fake{dir: dir, args: os.Args[1:]}
	line := strings.Join(append([]string{name}, f.args...), " ")
	if kc, ok := os.LookupEnv("KUBECONFIG"); ok && name == "k3d" && len(f.args) > 1 && f.args[0] == "cluster" && f.args[1] != "list" {
		line += "  # KUBECONFIG=" + kc
	}
	log, err := os.OpenFile(filepath.Join(dir, "calls.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err == nil {
		fmt.Fprintln(log, line)
		err = log.Close()
	}
	if err != nil {
		f.fatal("record call: %v", err)
	}
	return f
}

func (f *fake) fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "FATA[0000] "+format+"\n", args...)
	os.Exit(1)
}

func (f *fake) info(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "INFO[0000] "+format+"\n", args...)
}

// DockerMain is the fake docker: it answers docker info.
func DockerMain() {
	f := start("docker")
	if len(f.args) == 0 || f.args[0] != "info" {
		fmt.Fprintf(os.Stderr, "fake docker: unknown command %q\n", f.args)
		os.Exit(2)
	}
	if os.Getenv("FAKEDOCKER_DOWN") == "1" {
		fmt.Fprintln(os.Stderr, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
		os.Exit(1)
	}
	fmt.Println("28.2.2")
}

// K3dMain is the fake k3d.
func K3dMain() {
	f := start("k3d")
	a := f.args
	switch {
	case len(a) == 1 && a[0] == "version":
		fmt.Println("k3d version v5.9.0 (fake)")
		fmt.Println("k3s version v1.31.4-k3s1 (default)")
	case len(a) == 4 && a[0] == "cluster" && a[1] == "list" && a[2] == "-o" && a[3] == "json":
		f.list()
	case len(a) == 4 && a[0] == "cluster" && a[1] == "create" && a[2] == "--config":
		f.create(a[3])
	case len(a) == 3 && a[0] == "cluster" && a[1] == "start":
		f.startCluster(a[2])
	case len(a) == 3 && a[0] == "cluster" && a[1] == "delete":
		f.delete(a[2])
	case len(a) == 3 && a[0] == "kubeconfig" && a[1] == "get":
		f.kubeconfigGet(a[2])
	default:
		fmt.Fprintf(os.Stderr, "fake k3d: unknown command %q\n", a)
		os.Exit(2)
	}
}

func (f *fake) clusters() []Cluster {
	cs, err := ReadClusters(f.dir)
	if err != nil {
		f.fatal("%v", err)
	}
	return cs
}

func (f *fake) find(name string) (int, []Cluster) {
	cs := f.clusters()
	return slices.IndexFunc(cs, func(c Cluster) bool { return c.Name == name }), cs
}

// list prints the clusters as k3d cluster list -o json does: k3d's
// Cluster fields (a few of them) and the node counts.
func (f *fake) list() {
	type entry struct {
		Name    string `json:"name"`
		Network struct {
			Name     string `json:"Name"`
			External bool   `json:"External"`
		} `json:"network"`
		Nodes          []map[string]any `json:"nodes"`
		ServersRunning int              `json:"serversRunning"`
		ServersCount   int              `json:"serversCount"`
		AgentsRunning  int              `json:"agentsRunning"`
		AgentsCount    int              `json:"agentsCount"`
		LoadBalancer   bool             `json:"hasLoadbalancer,omitempty"`
	}
	out := []entry{}
	for _, c := range f.clusters() {
		e := entry{Name: c.Name, ServersRunning: c.ServersRunning, ServersCount: c.ServersCount,
			AgentsRunning: c.AgentsRunning, AgentsCount: c.AgentsCount, LoadBalancer: true, Nodes: []map[string]any{}}
		e.Network.Name = cmp.Or(c.Network, "k3d-"+c.Name)
		for i := range c.ServersCount {
			e.Nodes = append(e.Nodes, map[string]any{"name": fmt.Sprintf("k3d-%s-server-%d", c.Name, i), "role": "server"})
		}
		out = append(out, e)
	}
	data, err := json.Marshal(out)
	if err != nil {
		f.fatal("%v", err)
	}
	fmt.Println(string(data))
}

// simpleConfig is k3d's v1alpha5 SimpleConfig with the key names k3d
// reads the file with (its mapstructure tags), the fields wookie may
// write and a few it must not confuse (token is not clusterToken).
type simpleConfig struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Servers *int `json:"servers"`
	Agents  *int `json:"agents"`
	KubeAPI struct {
		Host     string `json:"host"`
		HostIP   string `json:"hostIP"`
		HostPort string `json:"hostPort"`
	} `json:"kubeAPI"`
	Image   string `json:"image"`
	Network string `json:"network"`
	Subnet  string `json:"subnet"`
	Token   string `json:"token"`
	Ports   []struct {
		Port        string   `json:"port"`
		NodeFilters []string `json:"nodeFilters"`
	} `json:"ports"`
	Registries struct {
		Use    []string `json:"use"`
		Config string   `json:"config"`
	} `json:"registries"`
	Options struct {
		K3d struct {
			Wait    bool   `json:"wait"`
			Timeout string `json:"timeout"`
		} `json:"k3d"`
		K3s struct {
			ExtraArgs []struct {
				Arg         string   `json:"arg"`
				NodeFilters []string `json:"nodeFilters"`
			} `json:"extraArgs"`
		} `json:"k3s"`
		Kubeconfig struct {
			UpdateDefaultKubeconfig bool `json:"updateDefaultKubeconfig"`
			SwitchCurrentContext    bool `json:"switchCurrentContext"`
		} `json:"kubeconfig"`
	} `json:"options"`
}

// create creates the cluster file describes.
func (f *fake) create(file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		f.fatal("Failed to read config file %s: %v", file, err)
	}
	var cfg simpleConfig
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		f.fatal("Failed to load config file %s: %v", file, err)
	}
	if cfg.APIVersion != "k3d.io/v1alpha5" || cfg.Kind != "Simple" {
		f.fatal("config file %s: apiVersion %q kind %q: want k3d.io/v1alpha5 Simple", file, cfg.APIVersion, cfg.Kind)
	}
	name := cfg.Metadata.Name
	if name == "" || cfg.Servers == nil || cfg.Agents == nil || cfg.Image == "" {
		f.fatal("config file %s: metadata.name, servers, agents and image are required (by this fake)", file)
	}
	f.info("Using config file %s (k3d.io/v1alpha5#simple)", file)
	if os.Getenv("FAKEK3D_FAIL") == "create" {
		f.info("Prep: Network")
		f.info("Created network 'k3d-%s'", name)
		fmt.Fprintf(os.Stderr, "ERRO[0001] Failed Cluster Start: Failed to start server k3d-%s-serverlb: runtime failed to start node 'k3d-%s-serverlb': docker failed to start container for node 'k3d-%s-serverlb': Error response from daemon: driver failed programming external connectivity on endpoint k3d-%s-serverlb: Bind for 0.0.0.0:8080 failed: port is already allocated\n", name, name, name, name)
		fmt.Fprintln(os.Stderr, "ERRO[0001] Failed to create cluster >>> Rolling Back")
		f.fatal("Cluster creation FAILED, all changes have been rolled back!")
	}
	i, cs := f.find(name)
	if i >= 0 {
		f.fatal("Failed to create cluster '%s' because a cluster with that name already exists", name)
	}
	if err := os.WriteFile(filepath.Join(f.dir, "created-"+name+".yaml"), data, 0o644); err != nil {
		f.fatal("%v", err)
	}
	cs = append(cs, Cluster{Name: name, Network: cfg.Network, ServersCount: *cfg.Servers, ServersRunning: *cfg.Servers, AgentsCount: *cfg.Agents, AgentsRunning: *cfg.Agents})
	if err := WriteClusters(f.dir, cs); err != nil {
		f.fatal("%v", err)
	}
	if cfg.Options.Kubeconfig.UpdateDefaultKubeconfig {
		f.info("Updating default kubeconfig with a new context for cluster %s", name)
		f.editKubeconfig(func(kc *clientcmdapi.Config) {
			k3d := f.clusterConfig(name)
			ctx := "k3d-" + name
			kc.Clusters[ctx] = k3d.Clusters[ctx]
			kc.AuthInfos["admin@"+ctx] = k3d.AuthInfos["admin@"+ctx]
			kc.Contexts[ctx] = k3d.Contexts[ctx]
			if cfg.Options.Kubeconfig.SwitchCurrentContext {
				kc.CurrentContext = ctx
			}
		})
	}
	f.info("Cluster '%s' created successfully!", name)
}

// clusterConfig is the kubeconfig of cluster name: context, cluster
// k3d-<name> and user admin@k3d-<name>, with the server and credentials of
// $FAKEK3D_APISERVER's current context, or an unreachable server.
func (f *fake) clusterConfig(name string) *clientcmdapi.Config {
	ctx := "k3d-" + name
	cluster := &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", InsecureSkipTLSVerify: true}
	user := &clientcmdapi.AuthInfo{Token: "fake"}
	if path := os.Getenv("FAKEK3D_APISERVER"); path != "" {
		src, err := clientcmd.LoadFromFile(path)
		if err != nil {
			f.fatal("FAKEK3D_APISERVER: %v", err)
		}
		c := src.Contexts[src.CurrentContext]
		if c == nil {
			f.fatal("FAKEK3D_APISERVER: no current context")
		}
		cluster, user = src.Clusters[c.Cluster], src.AuthInfos[c.AuthInfo]
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters[ctx] = cluster
	kc.AuthInfos["admin@"+ctx] = user
	kc.Contexts[ctx] = &clientcmdapi.Context{Cluster: ctx, AuthInfo: "admin@" + ctx}
	kc.CurrentContext = ctx
	return kc
}

// editKubeconfig changes the kubeconfig k3d writes to: the one file of
// $KUBECONFIG, or ~/.kube/config. Like k3d it refuses several files.
func (f *fake) editKubeconfig(edit func(*clientcmdapi.Config)) {
	path := os.Getenv("KUBECONFIG")
	if strings.Contains(path, string(os.PathListSeparator)) {
		f.fatal("failed to get default kubeconfig path: multiple kubeconfigs specified via KUBECONFIG env var: Please reduce to one entry, unset KUBECONFIG or explicitly choose an output")
	}
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			f.fatal("%v", err)
		}
		path = filepath.Join(home, ".kube", "config")
	}
	kc, err := clientcmd.LoadFromFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kc, err = clientcmdapi.NewConfig(), nil
	}
	if err != nil {
		f.fatal("load kubeconfig %s: %v", path, err)
	}
	edit(kc)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.fatal("%v", err)
	}
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		f.fatal("write kubeconfig %s: %v", path, err)
	}
}

func (f *fake) startCluster(name string) {
	i, cs := f.find(name)
	if i < 0 {
		f.fatal("Failed to get cluster %s: No nodes found for given cluster", name)
	}
	cs[i].ServersRunning, cs[i].AgentsRunning = cs[i].ServersCount, cs[i].AgentsCount
	if err := WriteClusters(f.dir, cs); err != nil {
		f.fatal("%v", err)
	}
	f.info("Started cluster '%s'", name)
}

func (f *fake) delete(name string) {
	i, cs := f.find(name)
	if i < 0 {
		f.info("No nodes found for given cluster")
		return
	}
	f.info("Deleting cluster '%s'", name)
	if err := WriteClusters(f.dir, slices.Delete(cs, i, i+1)); err != nil {
		f.fatal("%v", err)
	}
	f.info("Removing cluster details from default kubeconfig...")
	f.editKubeconfig(func(kc *clientcmdapi.Config) {
		ctx := "k3d-" + name
		delete(kc.Clusters, ctx)
		delete(kc.AuthInfos, "admin@"+ctx)
		delete(kc.Contexts, ctx)
		if kc.CurrentContext == ctx {
			kc.CurrentContext = ""
		}
	})
	f.info("Successfully deleted cluster %s!", name)
}

func (f *fake) kubeconfigGet(name string) {
	if i, _ := f.find(name); i < 0 {
		f.fatal("Failed to get cluster '%s': No nodes found for given cluster", name)
	}
	data, err := clientcmd.Write(*f.clusterConfig(name))
	if err != nil {
		f.fatal("%v", err)
	}
	os.Stdout.Write(data)
}
