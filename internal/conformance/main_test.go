package conformance

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"wookie.dev/wookie/internal/cli"
)

// TestMain gives every wookie run of the package an empty credentials file
// and a state directory of its own (for the Istio CA of wookie certs), so
// nothing of the user's is read or written. The runs share them: each
// case's configuration lives in a directory named after the case, which
// names its state.
func TestMain(m *testing.M) {
	os.Exit(func() int {
		dir, err := os.MkdirTemp("", "wookie-conformance-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		creds := filepath.Join(dir, "credentials.yaml")
		if err := os.WriteFile(creds, []byte("apiVersion: wookie.dev/v1alpha1\nkind: Credentials\nrepositories: []\n"), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		os.Setenv("WOOKIE_CREDENTIALS", creds)
		os.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
		os.Unsetenv("WOOKIE_CACHE_DIR")
		return m.Run()
	}())
}

// chartsDir is the Helm repository of the real upstream charts: the folder
// realcharts in ../shared beside the repository's root, used in place.
// Without it the test is skipped, or fails when CI is set.
func chartsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "realcharts"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.yaml")); err != nil {
		msg := fmt.Sprintf("the real charts are missing: %v (a Helm repository of Istio's and Percona's charts in ../shared/realcharts beside the repository)", err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// serveCharts serves the real charts' repository over HTTP on 127.0.0.1
// for the duration of the test, and returns the folder and its URL.
func serveCharts(t *testing.T) (dir, url string) {
	t.Helper()
	dir = chartsDir(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	return dir, srv.URL
}

// wookie runs the CLI in-process with args and returns its stdout and
// stderr; a non-zero exit fails the test.
func wookie(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	code, stdout, stderr := wookieCode(args...)
	if code != 0 {
		t.Fatalf("wookie %s: exit %d\n%s%s", strings.Join(args, " "), code, stderr, stdout)
	}
	return stdout, stderr
}

// wookieCode runs the CLI in-process with args and returns its exit code,
// stdout and stderr.
func wookieCode(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = cli.Run(args, bytes.NewReader(nil), &out, &errOut)
	return code, out.String(), errOut.String()
}

// Istio releases in the real charts' repository, oldest first; the last
// is wookie's default.
var istioReleases = []string{"1.22.8", "1.23.6", "1.24.2", "1.24.6", "1.25.5", "1.26.8", "1.27.9", "1.28.10", "1.29.6", "1.30.3"}

// PXC releases (pxc-operator and pxc-db) in the real charts' repository.
var pxcReleases = []string{"1.19.1", "1.20.0"}

// istioKube is, by Istio minor, the newest Kubernetes minor the release
// supports (istio.io's table of supported releases, as the wookie project
// knows it): the clusters of a case run it, so that every case is a
// supported combination. The newest release keeps the targets' default.
var istioKube = map[string]string{
	"1.22": "1.30.0", "1.23": "1.30.0", "1.24": "1.31.0", "1.25": "1.32.0",
	"1.26": "1.33.0", "1.27": "1.33.0", "1.28": "1.34.0", "1.29": "1.35.0",
}

// topology is a shape of the mesh: the target configuration (CUE) that
// makes it, with %s for the clusters' kubeVersion field.
type topology struct {
	name   string
	target string
}

var topologies = []topology{
	{"standalone", `targets: "local-k3d": {enable: true%s}`},
	// Two primaries on one network: no east-west gateways.
	{"multi-primary-one-network", `targets: "multi-k3d": {enable: true, clusters: {alpha: network: "mesh", beta: network: "mesh"}, clusters: [_]: {%s}}`},
	// Two primaries, each a network of its own (the multi-k3d default),
	// as examples/multi-primary.
	{"multi-primary-two-networks", `targets: "multi-k3d": {enable: true, clusters: {alpha: {}, beta: {}}, clusters: [_]: {%s}}`},
	// A primary and a remote on two networks, as examples/multi-k3d.
	{"primary-remote", `targets: "multi-k3d": {enable: true, clusters: {east: clusterRole: "primary", west: clusterRole: "remote"}, clusters: [_]: {%s}}`},
}

// stack is one conformance case: an Istio release in a topology, and a
// PXC release or none.
type stack struct {
	istio    string
	topology topology
	pxc      string
	// refused, when set, is part of the error wookie refuses the
	// configuration with.
	refused string
}

func (s stack) name() string {
	name := "istio-" + s.istio + "/" + s.topology.name
	if s.pxc != "" {
		name = "pxc-" + s.pxc + "/" + name
	}
	return name
}

// stacks lists every case: each Istio release in each topology, and each
// PXC release with the standalone stack of the newest Istio.
func stacks() []stack {
	var out []stack
	for _, v := range istioReleases {
		for _, top := range topologies {
			s := stack{istio: v, topology: top}
			if top.name == "primary-remote" && (minor(v) == "1.22" || minor(v) == "1.23") {
				// Before 1.24 a remote used the istiod-remote chart, which
				// wookie does not install.
				s.refused = "which Istio " + v + " lacks"
			}
			out = append(out, s)
		}
	}
	for _, v := range pxcReleases {
		out = append(out, stack{istio: istioReleases[len(istioReleases)-1], topology: topologies[0], pxc: v})
	}
	return out
}

// config is the case's configuration, with the charts of the Istio and
// Percona catalogs served from url.
func (s stack) config(url string) string {
	kube := ""
	if v, ok := istioKube[minor(s.istio)]; ok {
		kube = fmt.Sprintf("kubeVersion: %q", v)
		if s.topology.name == "standalone" {
			kube = ", " + kube
		}
	}
	var b strings.Builder
	b.WriteString("package wookie\n\n")
	fmt.Fprintf(&b, s.topology.target+"\n", kube)
	fmt.Fprintf(&b, "projects: wookie: {enable: true, istio: version: %q}\n", s.istio)
	if s.pxc != "" {
		fmt.Fprintf(&b, "projects: wookie: pxc: {enable: true, version: %q}\n", s.pxc)
	}
	fmt.Fprintf(&b, "charts: istio: [_]: repo: %q\ncharts: percona: [_]: repo: %q\n", url, url)
	return b.String()
}

// minor is the "1.N" of a version "1.N.P".
func minor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	return parts[0] + "." + parts[1]
}

// workspace is a case's configuration directory and the flags every
// wookie command of the case gets.
type workspace struct {
	dir   string
	flags []string // -f, --cache-dir, --lock-file
}

// newWorkspace writes the case's configuration into a directory under root
// named after the case (which names its state: the Istio CA) and returns
// the flags that select it, with the shared chart cache.
func newWorkspace(t *testing.T, root, cache, url string, s stack) *workspace {
	t.Helper()
	dir := filepath.Join(root, regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(s.name(), "-"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "wookie.cue")
	if err := os.WriteFile(cfg, []byte(s.config(url)), 0o644); err != nil {
		t.Fatal(err)
	}
	return &workspace{dir: dir, flags: []string{"-f", cfg, "--cache-dir", cache, "--lock-file", filepath.Join(dir, "wookie.lock")}}
}

// run runs a wookie command on the workspace's configuration.
func (w *workspace) run(t *testing.T, command string, args ...string) (stdout, stderr string) {
	t.Helper()
	return wookie(t, append(append([]string{command}, w.flags...), args...)...)
}
