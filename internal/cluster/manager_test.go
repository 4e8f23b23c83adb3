package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"

	"wookie.dev/wookie/internal/cluster/clustertest"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/testenv"
)

// k3dCluster is a Plan cluster made by k3d with servers and agents.
func k3dCluster(name string, servers, agents int) plan.Cluster {
	return plan.Cluster{
		Name: name, Target: "local-k3d", Context: "k3d-" + name, KubeVersion: "1.31.4",
		K3d: &plan.K3dCluster{Name: name, Servers: servers, Agents: agents, Image: "rancher/k3s:v1.31.4-k3s1", DisableTraefik: true,
			Ports: []plan.K3dPort{{Name: "http", HostPort: 8080, ContainerPort: 80}}},
	}
}

// preflightCalls are the calls every operation starts with.
var preflightCalls = []string{
	"k3d version",
	"docker info --format {{.ServerVersion}}",
	"k3d cluster list -o json",
}

// TestLifecycle creates, checks, starts, lists and deletes a cluster
// with the stand-in k3d, whose "cluster" is the test control plane (a
// kube-apiserver with a kwok node): it checks the k3d command lines, the
// config file k3d gets, the wait for the API server and the node, and that
// a cluster k3d has is never created again.
func TestLifecycle(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "lifecycle"})
	dir, kc := fakeEnv(t)
	t.Setenv("FAKEK3D_APISERVER", env.Kubeconfig)
	var events []string
	m := &Manager{ConfigDir: filepath.Join(dir, "state"), Timeout: 30 * time.Second, Interval: 100 * time.Millisecond,
		OnEvent: func(e Event) {
			events = append(events, e.Type+" "+e.Cluster+" "+strings.ReplaceAll(e.Message, dir, "$DIR"))
		}}
	dev := k3dCluster("dev", 1, 0)
	ctx := context.Background()

	res, err := m.Create(ctx, []plan.Cluster{dev})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Result{{Cluster: "dev", Action: "created", Nodes: 1}}, res); diff != "" {
		t.Errorf("first create (-want +got):\n%s", diff)
	}
	want := append(append([]string{}, preflightCalls...), "k3d cluster create --config $DIR/state/dev.yaml  # KUBECONFIG=$DIR/kubeconfig")
	if diff := cmp.Diff(want, calls(t, dir)); diff != "" {
		t.Errorf("first create: calls (-want +got):\n%s", diff)
	}
	wantFile, err := ConfigFile(&dev)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(dir, "state", "dev.yaml"), filepath.Join(dir, "created-dev.yaml")} {
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(wantFile), string(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", f, diff)
		}
	}
	cfg, err := clientcmd.LoadFromFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Contexts["k3d-dev"] == nil || cfg.CurrentContext != "" {
		t.Errorf("kubeconfig: contexts %v, current %q; want k3d-dev, none current", cfg.Contexts, cfg.CurrentContext)
	}

	// A second create leaves the cluster alone.
	os.Remove(filepath.Join(dir, "calls.log"))
	if res, err = m.Create(ctx, []plan.Cluster{dev}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Result{{Cluster: "dev", Action: "exists", Nodes: 1}}, res); diff != "" {
		t.Errorf("second create (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(preflightCalls, calls(t, dir)); diff != "" {
		t.Errorf("second create: calls (-want +got):\n%s", diff)
	}

	// A stopped cluster is started, not created; a different node count is
	// reported, not acted on.
	os.Remove(filepath.Join(dir, "calls.log"))
	if err := clustertest.WriteClusters(dir, []clustertest.Cluster{{Name: "dev", ServersCount: 1}}); err != nil {
		t.Fatal(err)
	}
	if res, err = m.Create(ctx, []plan.Cluster{k3dCluster("dev", 1, 2)}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Result{{Cluster: "dev", Action: "started", Nodes: 1}}, res); diff != "" {
		t.Errorf("create of a stopped cluster (-want +got):\n%s", diff)
	}
	want = append(append([]string{}, preflightCalls...), "k3d cluster start dev  # KUBECONFIG=$DIR/kubeconfig")
	if diff := cmp.Diff(want, calls(t, dir)); diff != "" {
		t.Errorf("create of a stopped cluster: calls (-want +got):\n%s", diff)
	}

	// List: the k3d cluster exists and answers; a kubeconfig cluster
	// whose context is missing does not.
	staging := plan.Cluster{Name: "staging", Target: "kubeconfig", Context: "staging-admin", KubeVersion: "1.31.0"}
	sts, err := m.List(ctx, []plan.Cluster{dev, staging})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	wantSts := []Status{
		{Cluster: "dev", Target: "local-k3d", Context: "k3d-dev", Kubeconfig: kc, K3d: "dev", Exists: &yes, Servers: "1/1", Agents: "0/0",
			Reachable: true, Server: env.Server, Version: "v" + testenv.KubernetesVersion},
		{Cluster: "staging", Target: "kubeconfig", Context: "staging-admin", Kubeconfig: kc,
			Problem: `kubeconfig context "staging-admin": context "staging-admin" does not exist`},
	}
	if diff := cmp.Diff(wantSts, sts); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	// kubeconfig get.
	out, err := m.KubeconfigOf(ctx, &dev)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := clientcmd.Load(out); err != nil || got.CurrentContext != "k3d-dev" {
		t.Errorf("kubeconfig of dev: %v, %v", got, err)
	}

	// Delete removes the cluster, its context and its config file; a
	// second delete finds nothing to do.
	os.Remove(filepath.Join(dir, "calls.log"))
	if res, err = m.Delete(ctx, []plan.Cluster{dev}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Result{{Cluster: "dev", Action: "deleted"}}, res); diff != "" {
		t.Errorf("delete (-want +got):\n%s", diff)
	}
	if res, err := m.Delete(ctx, nil); err != nil || res != nil {
		t.Errorf("delete of no cluster: %v %v", res, err)
	}
	want = append(append([]string{}, preflightCalls...), "k3d cluster delete dev  # KUBECONFIG=$DIR/kubeconfig")
	if diff := cmp.Diff(want, calls(t, dir)); diff != "" {
		t.Errorf("delete: calls (-want +got):\n%s", diff)
	}
	if res, err = m.Delete(ctx, []plan.Cluster{dev}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Result{{Cluster: "dev", Action: "absent"}}, res); diff != "" {
		t.Errorf("second delete (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "dev.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("config file after delete: %v", err)
	}
	if cfg, err := clientcmd.LoadFromFile(kc); err != nil || cfg.Contexts["k3d-dev"] != nil {
		t.Errorf("kubeconfig after delete: %v %v", cfg.Contexts, err)
	}

	wantEvents := []string{
		"creating dev $DIR/state/dev.yaml",
		"created dev 1 nodes Ready",
		"exists dev 1 nodes Ready",
		"starting dev ",
		"started dev 1 nodes Ready; k3d made it with 1 servers and 0 agents, the Plan asks for 1 and 2: delete and create it to change that",
		"deleting dev ",
		"deleted dev ",
		"absent dev k3d has no cluster dev",
	}
	if diff := cmp.Diff(wantEvents, events); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

// TestCreateTimeout: a cluster whose nodes never all register, or whose
// API server never answers, fails after the timeout, saying what was not
// ready.
func TestCreateTimeout(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "timeout"})
	tests := []struct {
		name      string
		apiserver string
		cluster   plan.Cluster
		want      string
	}{{
		name:      "two agents never register",
		apiserver: env.Kubeconfig,
		cluster:   k3dCluster("dev", 1, 2),
		want:      "cluster dev: not ready after 10s: 1 of 3 nodes registered",
	}, {
		name:    "the API server never answers",
		cluster: k3dCluster("dev", 1, 0),
		want:    "cluster dev: not ready after 10s: API server https://127.0.0.1:1: dial tcp 127.0.0.1:1: connect: connection refused",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := fakeEnv(t)
			t.Setenv("FAKEK3D_APISERVER", tt.apiserver)
			// 10s: long enough for a loaded machine's test API server to
			// answer the node list within it, under -race too (4s was not,
			// in .ci/run's race stage).
			m := &Manager{ConfigDir: dir, Timeout: 10 * time.Second, Interval: 100 * time.Millisecond}
			start := time.Now()
			_, err := m.Create(context.Background(), []plan.Cluster{tt.cluster})
			var nr *NotReadyError
			if !errors.As(err, &nr) {
				t.Fatalf("err = %v, want a NotReadyError", err)
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if took := time.Since(start); took > 25*time.Second {
				t.Errorf("took %s, want about the timeout", took)
			}
		})
	}
}

// TestBadInput: what is wrong before or while k3d runs is one clear error,
// and nothing is created.
func TestBadInput(t *testing.T) {
	dev := k3dCluster("dev", 1, 0)
	tests := []struct {
		name      string
		path      []string // stand-ins on PATH; nil: both
		env       map[string]string
		clusters  []plan.Cluster
		want      string
		wantType  any
		wantCalls []string
	}{{
		name:     "k3d not installed",
		path:     []string{"docker"},
		clusters: []plan.Cluster{dev},
		want:     "k3d is not installed (not found on PATH)",
		wantType: &MissingToolError{},
	}, {
		name:      "docker not installed",
		path:      []string{"k3d"},
		clusters:  []plan.Cluster{dev},
		want:      "docker is not installed (not found on PATH)",
		wantType:  &MissingToolError{},
		wantCalls: []string{"k3d version"},
	}, {
		name:      "the Docker daemon is down",
		env:       map[string]string{"FAKEDOCKER_DOWN": "1"},
		clusters:  []plan.Cluster{dev},
		want:      "the Docker daemon does not answer: docker info: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
		wantType:  &DaemonError{},
		wantCalls: preflightCalls[:2],
	}, {
		name:     "k3d fails",
		env:      map[string]string{"FAKEK3D_FAIL": "create"},
		clusters: []plan.Cluster{dev},
		want: `cluster dev: k3d cluster create --config $DIR/dev.yaml: exit code 1, output:
    INFO[0000] Using config file $DIR/dev.yaml (k3d.io/v1alpha5#simple)
    INFO[0000] Prep: Network
    INFO[0000] Created network 'k3d-dev'
    ERRO[0001] Failed Cluster Start: Failed to start server k3d-dev-serverlb: runtime failed to start node 'k3d-dev-serverlb': docker failed to start container for node 'k3d-dev-serverlb': Error response from daemon: driver failed programming external connectivity on endpoint k3d-dev-serverlb: Bind for 0.0.0.0:8080 failed: port is already allocated
    ERRO[0001] Failed to create cluster >>> Rolling Back
    FATA[0000] Cluster creation FAILED, all changes have been rolled back!`,
		wantType:  &ExitError{},
		wantCalls: append(append([]string{}, preflightCalls...), "k3d cluster create --config $DIR/dev.yaml  # KUBECONFIG=$DIR/kubeconfig"),
	}, {
		name:     "not a k3d cluster",
		clusters: []plan.Cluster{dev, {Name: "staging", Target: "kubeconfig", Context: "staging-admin", KubeVersion: "1.31.0"}},
		want:     "cluster staging: not a k3d cluster (target kubeconfig): wookie creates and deletes only k3d clusters",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := fakeEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.path != nil {
				onlyOnPath(t, tt.path...)
			}
			m := &Manager{ConfigDir: dir, Timeout: time.Second}
			_, err := m.Create(context.Background(), tt.clusters)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tt.want, strings.ReplaceAll(err.Error(), dir, "$DIR")); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if tt.wantType != nil {
				switch tt.wantType.(type) {
				case *MissingToolError:
					var e *MissingToolError
					if !errors.As(err, &e) {
						t.Errorf("error is %T, want %T", err, tt.wantType)
					}
				case *DaemonError:
					var e *DaemonError
					if !errors.As(err, &e) {
						t.Errorf("error is %T, want %T", err, tt.wantType)
					}
				case *ExitError:
					var e *ExitError
					if !errors.As(err, &e) {
						t.Errorf("error is %T, want %T", err, tt.wantType)
					}
				}
			}
			if diff := cmp.Diff(tt.wantCalls, calls(t, dir)); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if cs, err := clustertest.ReadClusters(dir); err != nil || len(cs) > 0 {
				t.Errorf("k3d has clusters %v (%v); want none", cs, err)
			}
		})
	}
}

// TestProgress: with Progress set, k3d's output is shown as it runs,
// indented, and left out of the error.
func TestProgress(t *testing.T) {
	dir, _ := fakeEnv(t)
	t.Setenv("FAKEK3D_FAIL", "create")
	var progress strings.Builder
	m := &Manager{ConfigDir: dir, Progress: &progress}
	_, err := m.Create(context.Background(), []plan.Cluster{k3dCluster("dev", 1, 0)})
	if got, want := strings.ReplaceAll(errString(err), dir, "$DIR"), "cluster dev: k3d cluster create --config $DIR/dev.yaml: exit code 1"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	lines := strings.Split(strings.TrimSuffix(progress.String(), "\n"), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "    INFO[0000] Using config file") || !strings.HasPrefix(lines[5], "    FATA[0000] Cluster creation FAILED") {
		t.Errorf("progress:\n%s", progress.String())
	}
}

// errString is err's message, or "" for none.
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
