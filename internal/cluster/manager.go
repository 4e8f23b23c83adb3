package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"wookie.dev/wookie/internal/atomicfile"
	"wookie.dev/wookie/internal/plan"
)

// DefaultTimeout bounds the wait for a cluster's API server and nodes.
const DefaultTimeout = 3 * time.Minute

// Manager creates, deletes and inspects the clusters of a Plan.
type Manager struct {
	// Runner runs k3d and docker; nil means Exec.
	Runner Runner
	// ConfigDir holds the k3d config files, <ConfigDir>/<cluster>.yaml.
	ConfigDir string
	// Kubeconfig replaces every cluster's kubeconfig file when set.
	Kubeconfig string
	// Timeout bounds the wait for a cluster to be ready; 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Interval is how often readiness is looked at; 0 means 1s.
	Interval time.Duration
	// Progress, when set, receives k3d's output while it creates, starts
	// or deletes a cluster.
	Progress io.Writer
	// OnEvent receives progress; nil drops it.
	OnEvent func(Event)
}

// Event is one step of Create or Delete, for progress lines.
type Event struct {
	// Cluster is the Plan's cluster.
	Cluster string `json:"cluster"`
	// Type is creating, created, starting, started, exists, deleting,
	// deleted or absent.
	Type string `json:"type"`
	// Message says more, for created, started, exists and absent.
	Message string `json:"message,omitempty"`
	// Seconds is how long the step took, for created, started, exists and
	// deleted.
	Seconds float64 `json:"seconds,omitempty"`
}

// Result says what Create or Delete did to one cluster.
type Result struct {
	// Cluster is the Plan's cluster.
	Cluster string `json:"cluster"`
	// Action is created, started, exists (healthy, left alone), deleted or
	// absent (nothing to delete).
	Action string `json:"action"`
	// Nodes is the number of Ready nodes after Create.
	Nodes int `json:"nodes,omitempty"`
}

func (m *Manager) runner() Runner {
	if m.Runner == nil {
		return Exec{}
	}
	return m.Runner
}

func (m *Manager) emit(e Event) {
	if m.OnEvent != nil {
		m.OnEvent(e)
	}
}

func (m *Manager) timeout() time.Duration {
	if m.Timeout > 0 {
		return m.Timeout
	}
	return DefaultTimeout
}

func (m *Manager) interval() time.Duration {
	if m.Interval > 0 {
		return m.Interval
	}
	return time.Second
}

// KubeconfigPath is the kubeconfig file of c: override when set, else the
// cluster's own, else the first file of $KUBECONFIG or ~/.kube/config
// (where k3d writes a new cluster's context).
func KubeconfigPath(c *plan.Cluster, override string) string {
	switch {
	case override != "":
		return override
	case c.Kubeconfig != "":
		return c.Kubeconfig
	}
	return clientcmd.NewDefaultClientConfigLoadingRules().GetDefaultFilename()
}

// target is how to reach c.
func (m *Manager) target(c *plan.Cluster) Target {
	return Target{Kubeconfig: KubeconfigPath(c, m.Kubeconfig), Context: c.Context}
}

// k3dEnv points k3d at c's kubeconfig file, so that it adds (or removes)
// the cluster's context there.
func (m *Manager) k3dEnv(c *plan.Cluster) []string {
	return []string{"KUBECONFIG=" + KubeconfigPath(c, m.Kubeconfig)}
}

// requireK3d fails unless every cluster has K3d.
func requireK3d(clusters []plan.Cluster) error {
	for i := range clusters {
		if clusters[i].K3d == nil {
			return fmt.Errorf("cluster %s: not a k3d cluster (target %s): wookie creates and deletes only k3d clusters", clusters[i].Name, clusters[i].Target)
		}
	}
	return nil
}

// k3dHas returns the clusters k3d has, by name, after checking that every
// one of clusters has K3d and that k3d and docker work; nothing runs for
// no clusters.
func (m *Manager) k3dHas(ctx context.Context, clusters []plan.Cluster) (map[string]k3dEntry, error) {
	if err := requireK3d(clusters); err != nil {
		return nil, err
	}
	if len(clusters) == 0 {
		return nil, nil
	}
	if err := m.preflight(ctx); err != nil {
		return nil, err
	}
	return m.listK3d(ctx)
}

// Create makes every cluster, in order, that k3d does not have, starts
// those that are stopped, and then waits until each is ready; a running
// cluster is only checked. Every cluster must have K3d. Before anything
// runs it checks that k3d and docker are installed and the daemon
// answers. It stops at the first failure, returning what it did so far.
func (m *Manager) Create(ctx context.Context, clusters []plan.Cluster) ([]Result, error) {
	have, err := m.k3dHas(ctx, clusters)
	if err != nil {
		return nil, err
	}
	var results []Result
	for i := range clusters {
		c := &clusters[i]
		r, err := m.create(ctx, c, have)
		if err != nil {
			return results, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		results = append(results, r)
	}
	return results, nil
}

// create makes, starts or checks one cluster.
func (m *Manager) create(ctx context.Context, c *plan.Cluster, have map[string]k3dEntry) (Result, error) {
	start := time.Now()
	k := c.K3d
	want := k.Servers + k.Agents
	res := Result{Cluster: c.Name}
	entry, exists := have[k.Name]
	if exists {
		// An existing cluster has the nodes it was made with.
		want = entry.ServersCount + entry.AgentsCount
	}
	switch {
	case exists && entry.running():
		res.Action = "exists"
	case exists:
		res.Action = "started"
		m.emit(Event{Cluster: c.Name, Type: "starting"})
		if _, err := m.runner().Run(ctx, Command{Name: "k3d", Args: []string{"cluster", "start", k.Name}, Env: m.k3dEnv(c), Progress: m.Progress}); err != nil {
			return res, err
		}
	default:
		res.Action = "created"
		data, err := ConfigFile(c)
		if err != nil {
			return res, err
		}
		file := filepath.Join(m.ConfigDir, c.Name+".yaml")
		if err := atomicfile.Write(file, data, 0o644); err != nil {
			return res, fmt.Errorf("write k3d config: %w", err)
		}
		m.emit(Event{Cluster: c.Name, Type: "creating", Message: file})
		if _, err := m.runner().Run(ctx, Command{Name: "k3d", Args: []string{"cluster", "create", "--config", file}, Env: m.k3dEnv(c), Progress: m.Progress}); err != nil {
			return res, err
		}
	}
	nodes, err := waitReady(ctx, m.target(c), want, m.timeout(), m.interval())
	res.Nodes = nodes
	if err != nil {
		if res.Action == "exists" {
			return res, fmt.Errorf("k3d cluster %s exists but is not healthy: %w", k.Name, err)
		}
		return res, err
	}
	msg := fmt.Sprintf("%d nodes Ready", nodes)
	if exists && (entry.ServersCount != k.Servers || entry.AgentsCount != k.Agents) {
		msg += fmt.Sprintf("; k3d made it with %d servers and %d agents, the Plan asks for %d and %d: delete and create it to change that",
			entry.ServersCount, entry.AgentsCount, k.Servers, k.Agents)
	}
	m.emit(Event{Cluster: c.Name, Type: res.Action, Message: msg, Seconds: time.Since(start).Seconds()})
	return res, nil
}

// Delete deletes every cluster k3d has, in order, with its k3d config
// file; a cluster k3d does not have is reported absent. Every cluster
// must have K3d.
func (m *Manager) Delete(ctx context.Context, clusters []plan.Cluster) ([]Result, error) {
	have, err := m.k3dHas(ctx, clusters)
	if err != nil {
		return nil, err
	}
	var results []Result
	for i := range clusters {
		c := &clusters[i]
		if _, ok := have[c.K3d.Name]; !ok {
			m.emit(Event{Cluster: c.Name, Type: "absent", Message: fmt.Sprintf("k3d has no cluster %s", c.K3d.Name)})
			results = append(results, Result{Cluster: c.Name, Action: "absent"})
			continue
		}
		start := time.Now()
		m.emit(Event{Cluster: c.Name, Type: "deleting"})
		if _, err := m.runner().Run(ctx, Command{Name: "k3d", Args: []string{"cluster", "delete", c.K3d.Name}, Env: m.k3dEnv(c), Progress: m.Progress}); err != nil {
			return results, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		if err := os.Remove(filepath.Join(m.ConfigDir, c.Name+".yaml")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return results, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		m.emit(Event{Cluster: c.Name, Type: "deleted", Seconds: time.Since(start).Seconds()})
		results = append(results, Result{Cluster: c.Name, Action: "deleted"})
	}
	return results, nil
}

// Existing returns the clusters k3d has among clusters, which must all
// have K3d, in order.
func (m *Manager) Existing(ctx context.Context, clusters []plan.Cluster) ([]plan.Cluster, error) {
	have, err := m.k3dHas(ctx, clusters)
	if err != nil {
		return nil, err
	}
	var out []plan.Cluster
	for _, c := range clusters {
		if _, ok := have[c.K3d.Name]; ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// Status is what List reports of one cluster.
type Status struct {
	// Cluster is the Plan's cluster.
	Cluster string `json:"cluster"`
	// Target is the target that contributed it.
	Target string `json:"target"`
	// Context is the kubeconfig context that reaches it.
	Context string `json:"context"`
	// Kubeconfig is the kubeconfig file.
	Kubeconfig string `json:"kubeconfig"`
	// K3d is the k3d cluster's name; empty for a cluster wookie does not
	// create.
	K3d string `json:"k3d,omitempty"`
	// Exists reports whether k3d has the cluster; nil unless K3d is set.
	Exists *bool `json:"exists,omitempty"`
	// Servers and Agents are the running and the total nodes of each role
	// as k3d counts them ("1/1"), for a cluster k3d has.
	Servers string `json:"servers,omitempty"`
	Agents  string `json:"agents,omitempty"`
	// Reachable reports whether the API server answered.
	Reachable bool `json:"reachable"`
	// Server is the API server's URL from the kubeconfig.
	Server string `json:"server,omitempty"`
	// Version is the API server's Kubernetes version.
	Version string `json:"version,omitempty"`
	// Problem says why the API server was not reached.
	Problem string `json:"problem,omitempty"`
}

// List reports every cluster: whether k3d has it (for k3d clusters) and
// whether its API server answers, asked in parallel. k3d and docker are
// needed only when a cluster has K3d.
func (m *Manager) List(ctx context.Context, clusters []plan.Cluster) ([]Status, error) {
	var k3d []plan.Cluster
	for _, c := range clusters {
		if c.K3d != nil {
			k3d = append(k3d, c)
		}
	}
	have, err := m.k3dHas(ctx, k3d)
	if err != nil {
		return nil, err
	}
	out := make([]Status, len(clusters))
	var wg sync.WaitGroup
	for i := range clusters {
		c := &clusters[i]
		t := m.target(c)
		st := &out[i]
		*st = Status{Cluster: c.Name, Target: c.Target, Context: c.Context, Kubeconfig: t.Kubeconfig}
		if c.K3d != nil {
			st.K3d = c.K3d.Name
			e, ok := have[c.K3d.Name]
			st.Exists = &ok
			if !ok {
				st.Problem = "k3d has no such cluster"
				continue
			}
			st.Servers = fmt.Sprintf("%d/%d", e.ServersRunning, e.ServersCount)
			st.Agents = fmt.Sprintf("%d/%d", e.AgentsRunning, e.AgentsCount)
		}
		wg.Go(func() {
			server, version, err := reachable(ctx, t)
			st.Server, st.Version = server, version
			if err != nil {
				st.Problem = err.Error()
				return
			}
			st.Reachable = true
		})
	}
	wg.Wait()
	return out, nil
}

// KubeconfigOf returns the kubeconfig k3d gives for c, a k3d cluster (k3d
// kubeconfig get).
func (m *Manager) KubeconfigOf(ctx context.Context, c *plan.Cluster) ([]byte, error) {
	if err := requireK3d([]plan.Cluster{*c}); err != nil {
		return nil, err
	}
	if err := m.preflight(ctx); err != nil {
		return nil, err
	}
	out, err := m.runner().Run(ctx, Command{Name: "k3d", Args: []string{"kubeconfig", "get", c.K3d.Name}})
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	return out, nil
}
