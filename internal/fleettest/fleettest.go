package fleettest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/peertest"
	"wookie.dev/wookie/internal/testenv"
)

// Names that Fleet's chart uses and its processes expect.
const (
	// SystemNamespace is where the controller and each agent run and keep
	// their leases and the agent its fleet-agent Secret.
	SystemNamespace = "cattle-fleet-system"
	// Workspace is the namespace of the Cluster objects and of the Bundles
	// that target them.
	Workspace = "fleet-local"
	// LocalCluster is the name of the management cluster's Cluster object.
	LocalCluster = "local"
)

// Resources of Fleet's API that tests read and write.
var (
	ClusterResource          = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusters"}
	BundleResource           = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "bundles"}
	BundleDeploymentResource = schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "bundledeployments"}
	crdResource              = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// errNetns says that an agent could not get a network namespace of its
// own: Start skips the test then, unless peertest.Required.
var errNetns = errors.New("fleet agent: network namespace (needs Linux and root or CAP_SYS_ADMIN)")

// startTimeout bounds each wait of Start (CRDs, a Cluster's namespace, an
// agent's first check-in).
const startTimeout = 90 * time.Second

// Fleet is Fleet's controller and agents running for a test.
type Fleet struct {
	// Management is the Env that holds Fleet's CRDs, Clusters and Bundles.
	Management *testenv.Env
	// Clusters maps the name of each Cluster whose agent runs to its Env:
	// LocalCluster to Management, each downstream Env of Start by its
	// context name, and those of RunImportedAgent.
	Clusters map[string]*testenv.Env
	// Dynamic is a client of Management.
	Dynamic dynamic.Interface

	agent string // fleetagent binary
	dir   string
	procs []*proc
	stop  chan struct{}
}

// Start runs Fleet on mgmt (CRDs, ConfigMap fleet-controller, the
// controller and agentmanagement; when the ConfigMap exists, Fleet's chart
// is installed, and its CRDs and configuration are used as they are) and registers mgmt as Cluster "local"
// and each Env of downstream as a Cluster named after its context, all in
// Workspace, each with an agent that needs no registration (its Secret
// fleet-agent written beforehand). It returns when every agent has checked
// in. Everything it starts stops in t.Cleanup.
func Start(t testing.TB, mgmt *testenv.Env, downstream ...*testenv.Env) *Fleet {
	t.Helper()
	controller := peertest.Binary(t, "fleetcontroller")
	agent := peertest.Binary(t, "fleetagent")
	crds := peertest.File(t, "crds/fleet/crds.yaml")

	f := &Fleet{
		Management: mgmt,
		Clusters:   map[string]*testenv.Env{LocalCluster: mgmt},
		Dynamic:    dynamic.NewForConfigOrDie(mgmt.RESTConfig()),
		agent:      agent,
		dir:        t.TempDir(),
		stop:       make(chan struct{}),
	}
	for _, d := range downstream {
		if _, dup := f.Clusters[d.Context]; dup {
			t.Fatalf("fleettest: two clusters named %q", d.Context)
		}
		f.Clusters[d.Context] = d
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range f.procs {
				t.Logf("fleettest: end of %s (%s):\n%s", p.name, p.logPath, p.tail(40))
			}
		}
		close(f.stop)
		for i := len(f.procs) - 1; i >= 0; i-- {
			f.procs[i].stop()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*startTimeout)
	defer cancel()
	if err := f.start(ctx, controller, agent, crds, downstream); err != nil {
		if errors.Is(err, errNetns) && !peertest.Required() {
			t.Skipf("fleettest: %v", err)
		}
		t.Fatalf("fleettest: %v", err)
	}
	return f
}

func (f *Fleet) start(ctx context.Context, controller, agent, crds string, downstream []*testenv.Env) error {
	mcs := kubernetes.NewForConfigOrDie(f.Management.RESTConfig())
	// Fleet's chart installed (the fleet project, by wookie deploy) has
	// made the CRDs and the ConfigMap fleet-controller: only its
	// Deployments, whose Pods kwok fakes, are missing, and the processes
	// below stand in for them.
	_, err := mcs.CoreV1().ConfigMaps(SystemNamespace).Get(ctx, "fleet-controller", metav1.GetOptions{})
	installed := err == nil
	if !installed {
		if err := f.applyCRDs(ctx, crds); err != nil {
			return err
		}
	}
	for _, ns := range []string{SystemNamespace, Workspace} {
		if err := createNamespace(ctx, mcs, ns); err != nil {
			return err
		}
	}
	// Fleet's config, as the chart's ConfigMap fleet-controller writes it:
	// without it agentmanagement refuses to import a cluster (an empty
	// agentTLSMode is invalid). The management cluster's URL and CA are
	// what imported agents get to register with.
	if !installed {
		if err := f.writeConfig(ctx, mcs); err != nil {
			return err
		}
	}
	// The controller (Bundles -> BundleDeployments, Cluster status) and
	// agentmanagement (a Cluster's namespace, without which the controller
	// waits forever). Both bind their metrics and probes where asked.
	// KUBECONFIG too, not only --kubeconfig: agentmanagement's import
	// builds the agent's manifests with a client of the default loading
	// rules (in a Pod, the in-cluster config), else http://localhost:8080.
	env := append(os.Environ(),
		"KUBECONFIG="+f.Management.Kubeconfig,
		"FLEET_METRICS_BIND_ADDRESS=127.0.0.1:0",
		"FLEET_HEALTHPROBE_BIND_ADDRESS=127.0.0.1:0",
		"CATTLE_ELECTION_LEASE_DURATION=15s",
		"CATTLE_ELECTION_RENEW_DEADLINE=10s",
		"CATTLE_ELECTION_RETRY_PERIOD=2s",
	)
	for _, args := range [][]string{
		{"--kubeconfig", f.Management.Kubeconfig, "--namespace", SystemNamespace, "--disable-metrics"},
		{"agentmanagement", "--kubeconfig", f.Management.Kubeconfig, "--namespace", SystemNamespace, "--disable-bootstrap"},
	} {
		name := "fleetcontroller"
		if args[0] == "agentmanagement" {
			name += "-agentmanagement"
		}
		cmd := exec.Command(controller, args...)
		cmd.Env = env
		if err := f.run(name, cmd); err != nil {
			return err
		}
	}
	for _, d := range append([]*testenv.Env{f.Management}, downstream...) {
		name := d.Context
		if d == f.Management {
			name = LocalCluster
		}
		if err := f.register(ctx, name, d, agent); err != nil {
			return err
		}
	}
	return nil
}

// run starts cmd as process name, logging to a file in f.dir.
func (f *Fleet) run(name string, cmd *exec.Cmd) error {
	p, err := startProc(name, filepath.Join(f.dir, name+".log"), cmd)
	if err != nil {
		return err
	}
	f.procs = append(f.procs, p)
	return nil
}

// register creates Cluster name in Workspace, waits for the namespace that
// agentmanagement gives it, writes the agent's fleet-agent Secret into
// cluster's SystemNamespace, starts the agent in a network namespace of its
// own and waits for its first check-in.
func (f *Fleet) register(ctx context.Context, name string, cluster *testenv.Env, agent string) error {
	cl := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1",
		"kind":       "Cluster",
		"metadata": map[string]any{
			"name":      name,
			"namespace": Workspace,
			"labels":    map[string]any{"name": name},
		},
		"spec": map[string]any{},
	}}
	if _, err := f.Dynamic.Resource(ClusterResource).Namespace(Workspace).Create(ctx, cl, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("cluster %s: %w", name, err)
	}
	var deployNS string
	err := poll(ctx, startTimeout, func() (bool, error) {
		c, err := f.Dynamic.Resource(ClusterResource).Namespace(Workspace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		deployNS, _, _ = unstructured.NestedString(c.Object, "status", "namespace")
		return deployNS != "", nil
	})
	if err != nil {
		return fmt.Errorf("cluster %s: wait for status.namespace (set by agentmanagement): %w", name, err)
	}

	// The agent skips Fleet's registration (ClusterRegistration, token,
	// approval) when Secret fleet-agent holds a kubeconfig that can list
	// BundleDeployments in its context's namespace: here the management
	// cluster's admin credentials, scoped to the Cluster's namespace.
	kc, err := kubeconfigIn(f.Management.Kubeconfig, deployNS)
	if err != nil {
		return fmt.Errorf("cluster %s: %w", name, err)
	}
	cs := kubernetes.NewForConfigOrDie(cluster.RESTConfig())
	if err := createNamespace(ctx, cs, SystemNamespace); err != nil {
		return fmt.Errorf("cluster %s: %w", name, err)
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet-agent", Namespace: SystemNamespace},
		Data: map[string][]byte{
			"kubeconfig":          kc,
			"clusterNamespace":    []byte(Workspace),
			"clusterName":         []byte(name),
			"deploymentNamespace": []byte(deployNS),
		},
	}
	if _, err := cs.CoreV1().Secrets(SystemNamespace).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("cluster %s: agent secret: %w", name, err)
	}

	return f.startAgent(ctx, Workspace, name, cluster, agent)
}

// RunImportedAgent runs the agent of a downstream cluster registered the
// way Fleet documents (manager-initiated): a Cluster name in namespace
// workspace with spec.kubeConfigSecret naming a Secret there whose key
// "value" is cluster's kubeconfig, and "apiServerURL" and "apiServerCA"
// those of Management. Fleet's agentmanagement then deploys the agent to
// cluster, but kwok only fakes its Pod, so the test runs it: RunImportedAgent
// waits for the Secret fleet-agent-bootstrap that agentmanagement puts in
// cluster's SystemNamespace, starts the agent, which registers itself
// (ClusterRegistration, then the credentials agentmanagement grants), and
// returns after its first check-in.
func (f *Fleet) RunImportedAgent(t testing.TB, workspace, name string, cluster *testenv.Env) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*startTimeout)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(cluster.RESTConfig())
	err := poll(ctx, startTimeout, func() (bool, error) {
		_, err := cs.CoreV1().Secrets(SystemNamespace).Get(ctx, "fleet-agent-bootstrap", metav1.GetOptions{})
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("fleettest: cluster %s: wait for agentmanagement's Secret %s/fleet-agent-bootstrap: %v", name, SystemNamespace, err)
	}
	if err := f.startAgent(ctx, workspace, name, cluster, f.agent); err != nil {
		if errors.Is(err, errNetns) && !peertest.Required() {
			t.Skipf("fleettest: %v", err)
		}
		t.Fatalf("fleettest: %v", err)
	}
	f.Clusters[name] = cluster
}

// startAgent starts Fleet's agent for Cluster name in workspace, whose API server is
// cluster's, in a network namespace of its own, and waits for its first
// check-in.
func (f *Fleet) startAgent(ctx context.Context, workspace, name string, cluster *testenv.Env, agent string) error {
	pname := "fleetagent-" + name
	env := append(os.Environ(),
		"KUBECONFIG="+cluster.Kubeconfig,
		"NAMESPACE="+SystemNamespace,
		"CHECKIN_INTERVAL=5s",
		"CATTLE_ELECTION_LEASE_DURATION=15s",
		"CATTLE_ELECTION_RENEW_DEADLINE=10s",
		"CATTLE_ELECTION_RETRY_PERIOD=2s",
	)
	// The agent binds :8080 and :8081 (fixed in its code), so each runs in
	// a network namespace of its own, where the API servers' addresses
	// are forwarded to the host's; it waits for the forwarders (the gate
	// file) before it starts.
	gate := filepath.Join(f.dir, pname+".go")
	cmd := exec.Command("/bin/sh", "-c", `while [ ! -e "$1" ]; do sleep 0.1; done; exec "$0"`, agent, gate)
	cmd.Env = env
	inOwnNetns(cmd)
	if err := f.run(pname, cmd); err != nil {
		return fmt.Errorf("%w: %w", errNetns, err)
	}
	p := f.procs[len(f.procs)-1]
	addrs := []string{}
	for _, e := range []*testenv.Env{cluster, f.Management} {
		u, err := url.Parse(e.Server)
		if err != nil {
			return fmt.Errorf("cluster %s: %w", name, err)
		}
		if len(addrs) == 0 || addrs[0] != u.Host {
			addrs = append(addrs, u.Host)
		}
	}
	if err := forwardInto(p.cmd.Process.Pid, addrs, f.stop); err != nil {
		return fmt.Errorf("cluster %s: %w: %w", name, errNetns, err)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		return fmt.Errorf("cluster %s: %w", name, err)
	}
	err := poll(ctx, startTimeout, func() (bool, error) {
		if p.exited() {
			return false, fmt.Errorf("%s exited", p.name)
		}
		c, err := f.Dynamic.Resource(ClusterResource).Namespace(workspace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		seen, _, _ := unstructured.NestedString(c.Object, "status", "agent", "lastSeen")
		return seen != "", nil
	})
	if err != nil {
		return fmt.Errorf("cluster %s: wait for the agent's check-in: %w", name, err)
	}
	return nil
}

// writeConfig creates the ConfigMap fleet-controller in SystemNamespace.
func (f *Fleet) writeConfig(ctx context.Context, cs kubernetes.Interface) error {
	kc, err := clientcmd.LoadFromFile(f.Management.Kubeconfig)
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	var ca []byte
	if c, ok := kc.Contexts[kc.CurrentContext]; ok && kc.Clusters[c.Cluster] != nil {
		ca = kc.Clusters[c.Cluster].CertificateAuthorityData
	}
	cfg, err := json.Marshal(map[string]any{
		"apiServerURL":              f.Management.Server,
		"apiServerCA":               ca, // base64, as the chart writes it
		"agentTLSMode":              "strict",
		"agentCheckinInterval":      "5s",
		"garbageCollectionInterval": "15m",
		"bootstrap":                 map[string]any{"namespace": "-"},
	})
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "fleet-controller", Namespace: SystemNamespace},
		Data:       map[string]string{"config": string(cfg)},
	}
	if _, err := cs.CoreV1().ConfigMaps(SystemNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("configmap fleet-controller: %w", err)
	}
	return nil
}

// kubeconfigIn returns the kubeconfig at path with its current context's
// namespace set to ns.
func kubeconfigIn(path, ns string) ([]byte, error) {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	c, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return nil, fmt.Errorf("kubeconfig %s: no current context", path)
	}
	c.Namespace = ns
	return clientcmd.Write(*cfg)
}

// applyCRDs applies the CRDs in file with server-side apply and waits
// until they are served.
func (f *Fleet) applyCRDs(ctx context.Context, file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("fleet CRDs: %w", err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var names []string
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("fleet CRDs: %w", err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return fmt.Errorf("fleet CRDs: %w", err)
		}
		if strings.TrimSpace(string(js)) == "null" {
			continue
		}
		var u unstructured.Unstructured
		if err := u.UnmarshalJSON(js); err != nil {
			return fmt.Errorf("fleet CRDs: %w", err)
		}
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		if _, err := f.Dynamic.Resource(crdResource).Patch(ctx, u.GetName(), types.ApplyPatchType, js,
			metav1.PatchOptions{FieldManager: "fleettest", Force: ptr(true)}); err != nil {
			return fmt.Errorf("fleet CRD %s: %w", u.GetName(), err)
		}
		names = append(names, u.GetName())
	}
	for _, n := range names {
		err := poll(ctx, startTimeout, func() (bool, error) {
			c, err := f.Dynamic.Resource(crdResource).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			conds, _, _ := unstructured.NestedSlice(c.Object, "status", "conditions")
			for _, c := range conds {
				m, _ := c.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return fmt.Errorf("fleet CRD %s: wait for Established: %w", n, err)
		}
	}
	return nil
}

func createNamespace(ctx context.Context, cs kubernetes.Interface, name string) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: %w", name, err)
	}
	return nil
}

// poll calls cond every 250ms until it returns true or an error, or
// timeout passes; the last error cond returned is in the timeout's.
func poll(ctx context.Context, timeout time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		var se apierrors.APIStatus
		if err != nil && !errors.As(err, &se) {
			return err
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last: %w)", ctx.Err(), err)
			}
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func ptr[T any](v T) *T { return &v }
