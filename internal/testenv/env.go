package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options says which parts of the control plane to start. etcd and
// kube-apiserver always run.
type Options struct {
	// Controllers starts kube-controller-manager (Deployments get
	// ReplicaSets and Pods, namespaces are finalized, the default
	// ServiceAccount appears). Start waits for the default ServiceAccount
	// in namespace default before it returns.
	Controllers bool
	// Scheduler starts kube-scheduler, which binds Pods to Nodes.
	Scheduler bool
	// Kwok starts kwok and creates the fake Node "kwok-node-0", which it
	// keeps Ready and on which it runs Pods without containers. Pods only
	// run when they are scheduled and created, so Kwok implies Controllers
	// and Scheduler.
	Kwok bool
	// Name names the cluster, user and context in the kubeconfig, so
	// that two Envs can stand for two clusters; "testenv" when empty.
	Name string
}

// KwokNodeName is the name of the fake Node that Options.Kwok creates.
const KwokNodeName = "kwok-node-0"

// Timeouts of the start-up steps.
const (
	readyTimeout = 60 * time.Second // kube-apiserver /readyz
	stepTimeout  = 60 * time.Second // default ServiceAccount, Ready Node
)

// Env is a running control plane on 127.0.0.1 for tests.
type Env struct {
	Kubeconfig string // path to a kubeconfig file (cluster-admin via a system:masters client cert)
	Context    string // the kubeconfig's only context
	Server     string // https://127.0.0.1:PORT

	opts     Options
	dir      string
	pki      *pki
	port     int
	etcdURL  string
	procs    map[string]*proc
	order    []string // start order; Stop goes backwards
	timings  []timing
	stopOnce sync.Once
	mu       sync.Mutex
}

type timing struct {
	what string
	took time.Duration
}

// Start starts a control plane for the test and stops it in t.Cleanup,
// printing the end of every process's log when the test has failed. When
// the binaries of hack/testenv/build.sh are missing it skips the test, or
// fails it when WOOKIE_TESTENV_REQUIRED=1 or CI=true.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	if miss := missing(); len(miss) > 0 {
		dir, _ := BinDir()
		msg := fmt.Sprintf("testenv: %s not built in %s; run hack/testenv/build.sh (about 12 minutes the first time)",
			strings.Join(miss, ", "), dir)
		if os.Getenv("WOOKIE_TESTENV_REQUIRED") == "1" || os.Getenv("CI") == "true" {
			t.Fatal(msg + " (WOOKIE_TESTENV_REQUIRED=1 or CI=true: the tests that need a control plane never skip)")
		}
		t.Skip(msg)
	}
	e, err := start(opts, t.TempDir())
	if e != nil {
		t.Cleanup(func() {
			if t.Failed() {
				e.logTails(t.Logf)
			}
			e.Stop()
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("testenv %s: %s", e.Context, e.Timings())
	return e
}

// StartE starts a control plane outside tests, in a new temporary
// directory that Stop removes. On error nothing is left running.
func StartE(opts Options) (*Env, error) {
	if miss := missing(); len(miss) > 0 {
		dir, _ := BinDir()
		return nil, fmt.Errorf("testenv: %s not built in %s; run hack/testenv/build.sh", strings.Join(miss, ", "), dir)
	}
	dir, err := os.MkdirTemp("", "wookie-testenv-")
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	e, err := start(opts, dir)
	if err != nil {
		if e != nil {
			e.Stop()
		} else {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	return e, nil
}

// start brings the control plane up in dir. On error it returns the Env
// built so far (for its logs) when there is one; the caller stops it.
func start(opts Options, dir string) (*Env, error) {
	if opts.Kwok {
		opts.Controllers, opts.Scheduler = true, true
	}
	name := opts.Name
	if name == "" {
		name = "testenv"
	}
	began := time.Now()
	p, err := newPKI()
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	for _, d := range []string{"etcd", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, fmt.Errorf("testenv: %w", err)
		}
	}
	if err := p.write(dir); err != nil {
		return nil, fmt.Errorf("testenv: write certificates: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, fmt.Errorf("testenv: %w", err)
	}
	e := &Env{
		Context: name,
		Server:  "https://127.0.0.1:" + strconv.Itoa(ports[0]),
		opts:    opts,
		dir:     dir,
		pki:     p,
		port:    ports[0],
		etcdURL: "http://127.0.0.1:" + strconv.Itoa(ports[1]),
		procs:   map[string]*proc{},
	}
	e.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := e.writeKubeconfig(); err != nil {
		return e, fmt.Errorf("testenv: kubeconfig: %w", err)
	}
	e.mark("certificates and ports", began)

	bin, _ := BinDir()
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[2])
	if err := e.run("etcd", filepath.Join(bin, "etcd"),
		"--name=testenv",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+e.etcdURL,
		"--advertise-client-urls="+e.etcdURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=testenv="+peerURL,
		"--initial-cluster-state=new",
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	); err != nil {
		return e, err
	}
	if err := e.startAPIServer(); err != nil {
		return e, err
	}
	e.mark("kube-apiserver /readyz", began)

	if opts.Controllers {
		if err := e.run("kube-controller-manager", filepath.Join(bin, "kube-controller-manager"),
			"--kubeconfig="+e.Kubeconfig,
			"--bind-address=127.0.0.1",
			"--secure-port=0",
			"--leader-elect=false",
			"--service-account-private-key-file="+filepath.Join(dir, saKeyFile),
			"--root-ca-file="+filepath.Join(dir, caCertFile),
			"--service-cluster-ip-range=10.96.0.0/24",
			"--use-service-account-credentials=false",
		); err != nil {
			return e, err
		}
	}
	if opts.Scheduler {
		if err := e.run("kube-scheduler", filepath.Join(bin, "kube-scheduler"),
			"--kubeconfig="+e.Kubeconfig,
			"--bind-address=127.0.0.1",
			"--secure-port=0",
			"--leader-elect=false",
		); err != nil {
			return e, err
		}
	}
	if opts.Kwok {
		stages, err := stageFiles()
		if err != nil {
			return e, fmt.Errorf("testenv: kwok stages: %w", err)
		}
		args := []string{
			"--kubeconfig=" + e.Kubeconfig,
			"--manage-all-nodes=false",
			"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
			"--node-lease-duration-seconds=40",
			"--cidr=10.0.0.0/16",
			"--node-ip=127.0.0.1",
		}
		for _, s := range stages {
			args = append(args, "--config="+s)
		}
		if err := e.run("kwok", filepath.Join(bin, "kwok"), args...); err != nil {
			return e, err
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	if opts.Controllers {
		if err := e.waitDefaultServiceAccount(ctx); err != nil {
			return e, err
		}
		e.mark("default ServiceAccount", began)
	}
	if opts.Kwok {
		if err := e.createKwokNode(ctx); err != nil {
			return e, err
		}
		e.mark("Node "+KwokNodeName+" Ready", began)
	}
	return e, nil
}

// startAPIServer starts kube-apiserver on e.port and waits for /readyz.
func (e *Env) startAPIServer() error {
	bin, _ := BinDir()
	d := e.dir
	err := e.run("kube-apiserver", filepath.Join(bin, "kube-apiserver"),
		"--etcd-servers="+e.etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(e.port),
		"--tls-cert-file="+filepath.Join(d, serverCertFile),
		"--tls-private-key-file="+filepath.Join(d, serverKeyFile),
		"--client-ca-file="+filepath.Join(d, caCertFile),
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+filepath.Join(d, saPubFile),
		"--service-account-signing-key-file="+filepath.Join(d, saKeyFile),
		"--service-cluster-ip-range=10.96.0.0/24",
		"--authorization-mode=RBAC",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
	)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	return e.waitReady(ctx)
}

// run starts one process with its log in logs/<name>.log and records it.
func (e *Env) run(name, bin string, args ...string) error {
	p := &proc{name: name, bin: bin, args: args, logPath: filepath.Join(e.dir, "logs", name+".log")}
	if err := p.start(); err != nil {
		return fmt.Errorf("testenv: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.procs[name]; !ok {
		e.order = append(e.order, name)
	}
	e.procs[name] = p
	return nil
}

// proc returns the process started under name, or nil.
func (e *Env) proc(name string) *proc {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.procs[name]
}

// died returns an error when any started process has exited, with the end
// of its log; start-up waits use it to fail at once instead of timing out.
func (e *Env) died() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, name := range e.order {
		p := e.procs[name]
		if done, err := p.exited(); done {
			if err == nil {
				err = errors.New("exited")
			}
			return fmt.Errorf("testenv: %s: %w; end of %s:\n%s", name, err, p.logPath, p.tail(30))
		}
	}
	return nil
}

func (e *Env) mark(what string, since time.Time) {
	e.timings = append(e.timings, timing{what, time.Since(since)})
}

// Timings reports how long start-up took to reach each step, measured from
// the call to Start or StartE.
func (e *Env) Timings() string {
	parts := make([]string, len(e.timings))
	for i, t := range e.timings {
		parts[i] = fmt.Sprintf("%s %.1fs", t.what, t.took.Seconds())
	}
	return strings.Join(parts, ", ")
}

// RESTConfig returns a client-go configuration for the cluster-admin
// client certificate; each call returns a new copy.
func (e *Env) RESTConfig() *rest.Config {
	return &rest.Config{
		Host: e.Server,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   e.pki.caCert,
			CertData: e.pki.adminCert,
			KeyData:  e.pki.adminKey,
		},
		QPS:     100,
		Burst:   200,
		Timeout: 30 * time.Second,
	}
}

// StopAPIServer kills kube-apiserver (and only it) at once, as a crash
// would; etcd and the other processes keep running.
func (e *Env) StopAPIServer(t testing.TB) {
	t.Helper()
	p := e.proc("kube-apiserver")
	if p == nil {
		t.Fatal("testenv: kube-apiserver was never started")
	}
	p.stop()
}

// StartAPIServer starts kube-apiserver again on the same port with the
// same etcd and certificates, and waits for /readyz.
func (e *Env) StartAPIServer(t testing.TB) {
	t.Helper()
	if p := e.proc("kube-apiserver"); p != nil {
		if done, _ := p.exited(); !done {
			t.Fatal("testenv: kube-apiserver is still running; call StopAPIServer first")
		}
	}
	began := time.Now()
	if err := e.startAPIServer(); err != nil {
		t.Fatal(err)
	}
	t.Logf("testenv %s: kube-apiserver restarted, /readyz after %.1fs", e.Context, time.Since(began).Seconds())
}

// Stop kills every process by its PID (process group), last started first,
// and removes the Env's directory. It is safe to call more than once.
func (e *Env) Stop() {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		order := append([]string(nil), e.order...)
		e.mu.Unlock()
		for i := len(order) - 1; i >= 0; i-- {
			e.proc(order[i]).stop()
		}
		os.RemoveAll(e.dir)
	})
}

// logTails prints the end of every process's log.
func (e *Env) logTails(logf func(string, ...any)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, name := range e.order {
		p := e.procs[name]
		logf("testenv %s: end of %s:\n%s", e.Context, p.logPath, p.tail(40))
	}
}

// writeKubeconfig writes a kubeconfig with one cluster, user and context,
// all named e.Context, with the certificates inline.
func (e *Env) writeKubeconfig() error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[e.Context] = &clientcmdapi.Cluster{
		Server:                   e.Server,
		CertificateAuthorityData: e.pki.caCert,
	}
	cfg.AuthInfos[e.Context] = &clientcmdapi.AuthInfo{
		ClientCertificateData: e.pki.adminCert,
		ClientKeyData:         e.pki.adminKey,
	}
	cfg.Contexts[e.Context] = &clientcmdapi.Context{Cluster: e.Context, AuthInfo: e.Context}
	cfg.CurrentContext = e.Context
	return clientcmd.WriteToFile(*cfg, e.Kubeconfig)
}

// freePorts finds n distinct free TCP ports on 127.0.0.1, holding them all
// open until all are found.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
