package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/cluster/clustertest"
	"wookie.dev/wookie/internal/testenv"
	"wookie.dev/wookie/pkg/pipeline"
)

// runIn runs wookie with stdin as standard input.
func runIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// fakeK3d points the stand-in k3d (on PATH, see TestMain) at a directory
// of its own and at the API server of apiserver's kubeconfig, and wookie's
// state and kubeconfig at dir. It returns the stand-in's directory.
func fakeK3d(t *testing.T, dir, apiserver string) string {
	t.Helper()
	fake := filepath.Join(dir, ".k3d")
	if err := os.MkdirAll(fake, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAKEK3D_DIR", fake)
	t.Setenv("FAKEK3D_APISERVER", apiserver)
	t.Setenv("FAKEK3D_FAIL", "")
	t.Setenv("FAKEDOCKER_DOWN", "")
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, ".state"))
	t.Setenv("KUBECONFIG", filepath.Join(dir, ".kube", "config"))
	return fake
}

// k3dCalls returns the k3d calls the stand-in recorded since the last
// call, without the checks every command starts with, and forgets them.
func k3dCalls(t *testing.T, fake, dir string) []string {
	t.Helper()
	lines, err := clustertest.Calls(fake)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(fake, "calls.log"))
	var out []string
	for _, l := range lines {
		switch l {
		case "k3d version", "docker info --format {{.ServerVersion}}", "k3d cluster list -o json":
			continue
		}
		out = append(out, strings.ReplaceAll(l, dir, "$DIR"))
	}
	return out
}

// TestClusterCommands runs cluster create, list, kubeconfig and delete
// and down end to end on a multi-k3d configuration plus an existing
// cluster. The stand-in k3d "creates" a cluster by adding a context
// k3d-<name> for the test control plane to $KUBECONFIG, so wookie's wait
// for the API server and the node is real.
func TestClusterCommands(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "clusters"})
	dir := t.TempDir()
	fake := fakeK3d(t, dir, env.Kubeconfig)
	if err := os.Mkdir(filepath.Join(dir, "mesh"), 0o755); err != nil {
		t.Fatal(err)
	}
	workIn(t, filepath.Join(dir, "mesh"), fmt.Sprintf(`targets: "multi-k3d": {
	enable: true
	clusters: {
		east: {apiPort: 6550, ports: http: {hostPort: 8080, containerPort: 80}}
		west: clusterRole: "remote"
	}
}
targets: kubeconfig: {enable: true, clusterName: "staging", context: %q, path: %q}
`, env.Context, env.Kubeconfig))

	// Nothing exists yet; the existing cluster answers.
	code, out, stderr := run(t, "cluster", "list", "-o", "json")
	if code != 0 {
		t.Fatalf("list: %d %s", code, stderr)
	}
	var sts []struct {
		Cluster   string
		Exists    *bool
		Reachable bool
		Problem   string
	}
	if err := json.Unmarshal([]byte(out), &sts); err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, s := range sts {
		got = append(got, fmt.Sprintf("%s exists=%v reachable=%v %s", s.Cluster, s.Exists != nil && *s.Exists, s.Reachable, s.Problem))
	}
	want := []string{
		"east exists=false reachable=false k3d has no such cluster",
		"staging exists=false reachable=true ",
		"west exists=false reachable=false k3d has no such cluster",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("list before create (-want +got):\n%s", diff)
	}

	// create makes both k3d clusters, in order, and waits for them.
	code, out, stderr = run(t, "cluster", "create", "--timeout", "60s")
	if code != 0 || out != "" {
		t.Fatalf("create: %d %q %s", code, out, stderr)
	}
	for _, c := range []string{"east", "west"} {
		if !strings.Contains(stderr, "✓ "+c+"  created, 1 nodes Ready") {
			t.Errorf("create: no line for %s:\n%s", c, stderr)
		}
	}
	wantCalls := []string{
		"k3d cluster create --config $DIR/.state/wookie/mesh/k3d/east.yaml  # KUBECONFIG=$DIR/.kube/config",
		"k3d cluster create --config $DIR/.state/wookie/mesh/k3d/west.yaml  # KUBECONFIG=$DIR/.kube/config",
	}
	if diff := cmp.Diff(wantCalls, k3dCalls(t, fake, dir)); diff != "" {
		t.Errorf("create: k3d calls (-want +got):\n%s", diff)
	}

	// Again: left alone.
	code, _, stderr = run(t, "cluster", "create", "west")
	if code != 0 || !strings.Contains(stderr, "✓ west  exists and is healthy, left alone: 1 nodes Ready") {
		t.Errorf("second create: %d %s", code, stderr)
	}
	if calls := k3dCalls(t, fake, dir); len(calls) != 0 {
		t.Errorf("second create: k3d calls %q", calls)
	}

	code, out, stderr = run(t, "cluster", "list")
	if code != 0 {
		t.Fatalf("list: %d %s", code, stderr)
	}
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		rows = append(rows, strings.Join(strings.Fields(l), " "))
	}
	wantRows := []string{
		"CLUSTER TARGET CONTEXT EXISTS SERVERS AGENTS REACHABLE VERSION OR PROBLEM",
		"east multi-k3d k3d-east yes 1/1 0/0 yes v" + testenv.KubernetesVersion,
		"staging kubeconfig clusters - - - yes v" + testenv.KubernetesVersion,
		"west multi-k3d k3d-west yes 1/1 0/0 yes v" + testenv.KubernetesVersion,
	}
	if diff := cmp.Diff(wantRows, rows); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	// kubeconfig: k3d's for a k3d cluster, file and context otherwise.
	if code, out, stderr := run(t, "cluster", "kubeconfig", "east"); code != 0 || !strings.Contains(out, "current-context: k3d-east") {
		t.Errorf("kubeconfig east: %d %s %s", code, out, stderr)
	}
	if code, out, _ := run(t, "cluster", "kubeconfig", "staging"); code != 0 || out != "kubeconfig: "+env.Kubeconfig+"\ncontext: clusters\n" {
		t.Errorf("kubeconfig staging: %d %q", code, out)
	}
	k3dCalls(t, fake, dir)

	// down asks; no answer, or another than yes, deletes nothing.
	for _, answer := range []string{"", "n\n", "yes please\n"} {
		code, _, stderr := runIn(t, answer, "down")
		if code != 1 || !strings.Contains(stderr, "Delete the k3d clusters east, west, with everything in them? [y/N] ") ||
			!strings.Contains(stderr, "wookie: not confirmed: nothing deleted") {
			t.Errorf("down, answer %q: %d %s", answer, code, stderr)
		}
	}
	if calls := k3dCalls(t, fake, dir); len(calls) != 0 {
		t.Errorf("down not confirmed: k3d calls %q", calls)
	}
	// y deletes the selected clusters that exist.
	code, _, stderr = runIn(t, "y\n", "down", "--cluster", "west")
	if code != 0 || !strings.Contains(stderr, "Delete the k3d clusters west, with") || !strings.Contains(stderr, "✓ west  deleted") {
		t.Errorf("down west: %d %s", code, stderr)
	}
	if diff := cmp.Diff([]string{"k3d cluster delete west  # KUBECONFIG=$DIR/.kube/config"}, k3dCalls(t, fake, dir)); diff != "" {
		t.Errorf("down west: k3d calls (-want +got):\n%s", diff)
	}
	code, _, stderr = run(t, "cluster", "delete")
	if code != 0 || !strings.Contains(stderr, "- west  nothing to delete: k3d has no cluster west") || !strings.Contains(stderr, "✓ east  deleted") {
		t.Errorf("delete: %d %s", code, stderr)
	}
	if diff := cmp.Diff([]string{"k3d cluster delete east  # KUBECONFIG=$DIR/.kube/config"}, k3dCalls(t, fake, dir)); diff != "" {
		t.Errorf("delete: k3d calls (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, ".state", "wookie", "mesh", "k3d", "east.yaml")); !os.IsNotExist(err) {
		t.Errorf("east's k3d config after delete: %v", err)
	}
}

// TestUp: up creates the missing k3d cluster and deploys to it (the test
// control plane behind the stand-in k3d); a second up leaves the cluster
// alone and changes nothing. A configuration that does not render creates
// no cluster.
func TestUp(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "up"})
	dir := renderSetup(t, "./charts", "")
	fake := fakeK3d(t, dir, env.Kubeconfig)

	code, _, stderr := run(t, "up", "--timeout", "60s", "--cluster-timeout", "60s")
	if code != 0 {
		t.Fatalf("up: %d %s", code, stderr)
	}
	for _, want := range []string{"✓ wookie-local  created, 1 nodes Ready", "✓ wookie-local services/istio-ingressgateway", "✓ deployed 6 bundles"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("up: no %q in:\n%s", want, stderr)
		}
	}
	if diff := cmp.Diff([]string{"k3d cluster create --config $DIR/.state/wookie/" + configNameOf(dir) + "/k3d/wookie-local.yaml  # KUBECONFIG=$DIR/.kube/config"}, k3dCalls(t, fake, dir)); diff != "" {
		t.Errorf("up: k3d calls (-want +got):\n%s", diff)
	}

	code, _, stderr = run(t, "up", "-q")
	if code != 0 || stderr != "" {
		t.Errorf("up -q: %d %q", code, stderr)
	}
	code, _, stderr = run(t, "up")
	if code != 0 || !strings.Contains(stderr, "✓ wookie-local  exists and is healthy, left alone") || !strings.Contains(stderr, "created 0, configured 0, unchanged") {
		t.Errorf("second up: %d %s", code, stderr)
	}
	if calls := k3dCalls(t, fake, dir); len(calls) != 0 {
		t.Errorf("second up: k3d calls %q", calls)
	}

	// A chart that cannot be rendered: no cluster is created.
	if err := clustertest.WriteClusters(fake, nil); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = run(t, "up", "-f", "wookie.cue", "-f", writeFile(t, dir, "broken.cue", `charts: istio: istiod: repo: "./nowhere"`))
	if code != 1 || !strings.Contains(stderr, "nowhere") {
		t.Errorf("up with a broken chart: %d %s", code, stderr)
	}
	if lines, _ := clustertest.Calls(fake); len(lines) != 0 {
		t.Errorf("up with a broken chart ran %q", lines)
	}
}

// configNameOf is the configuration name wookie gives the directory dir;
// "" for ./wookie.cue or the embedded default.
func configNameOf(dir string) string {
	cfg := pipeline.Config{}
	if dir != "" {
		cfg.Files = []string{dir}
	}
	p, err := pipeline.New(cfg)
	if err != nil {
		panic(err)
	}
	return p.ConfigName()
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
