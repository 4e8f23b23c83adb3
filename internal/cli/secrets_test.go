package cli

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/testenv"
)

// fakeToken is the service-account token of the sensitive bundle of
// secretsPlan.
const fakeToken = "fake-token-9c1e7a0b3d5f"

// secretsPlan is a Plan of cluster east, reached through context and
// kubeconfig: batch namespaces with the namespace istio-system and the
// generated bundle istio-cacerts (the cacerts Secret of east's intermediate
// CA), batch services with istiod (a ConfigMap standing in for it) after
// istio-cacerts, the sensitive bundle remote-secrets holding fakeToken
// after istiod, and app after remote-secrets.
func secretsPlan(context, kubeconfig string) string {
	return fmt.Sprintf(`apiVersion: wookie.dev/v1alpha1
kind: Plan
clusters:
  - name: east
    target: testenv
    context: %q
    kubeconfig: %q
    kubeVersion: 1.37.2
    batches:
      - name: namespaces
        priority: 200
        bundles:
          - name: ns-istio-system
            namespace: istio-system
            manifests:
              - {apiVersion: v1, kind: Namespace, metadata: {name: istio-system}}
          - name: istio-cacerts
            namespace: istio-system
            dependsOn: [ns-istio-system]
            generate: {istioCACerts: {cluster: east}}
      - name: services
        priority: 600
        bundles:
          - name: istiod
            namespace: istio-system
            dependsOn: [istio-cacerts]
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: istio}, data: {mesh: "trustDomain: cluster.local"}}
          - name: remote-secrets
            namespace: istio-system
            dependsOn: [istiod]
            sensitive: true
            manifests:
              - apiVersion: v1
                kind: Secret
                metadata: {name: istio-remote-secret-west, labels: {istio/multiCluster: "true"}}
                stringData: {west: "users: [{name: west, user: {token: %s}}]"}
          - name: app
            namespace: istio-system
            dependsOn: [remote-secrets]
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: app}}
`, context, kubeconfig, fakeToken)
}

// secretsSetup works in a new directory holding plan.yaml (secretsPlan)
// with its state under state/.
func secretsSetup(t *testing.T, context, kubeconfig string) string {
	t.Helper()
	dir := t.TempDir()
	workIn(t, dir, "")
	t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
	if err := os.WriteFile("plan.yaml", []byte(secretsPlan(context, kubeconfig)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// storeDir is the certificate store of the configuration --from plan.yaml
// in dir.
func storeDir(dir string) string {
	return filepath.Join(dir, "state", "wookie", filepath.Base(dir), "certs")
}

// keyMaterial lists what must never appear in an output without
// --include-secrets: every private key of the store as it is and
// base64-encoded, and the token as it is and base64-encoded.
func keyMaterial(t *testing.T, store string) map[string]string {
	t.Helper()
	out := map[string]string{"token": fakeToken, "base64 token": base64.StdEncoding.EncodeToString([]byte(fakeToken))[:16], "PEM": "PRIVATE KEY"}
	for _, name := range []string{"root-key.pem", "east/ca-key.pem"} {
		data, err := os.ReadFile(filepath.Join(store, name))
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(data)
		if block == nil {
			t.Fatalf("%s: no PEM", name)
		}
		out[name] = string(data)
		// The key's bytes as the PEM file spells them (one line of it),
		// and the file base64-encoded as a Secret's data holds it.
		out[name+" PEM line"] = strings.Split(string(data), "\n")[1]
		b64 := base64.StdEncoding.EncodeToString(data)
		out[name+" base64"] = b64[len(b64)/2 : len(b64)/2+40] // past the prefix every key of its type shares
	}
	return out
}

// leaks names the key material found in the files of tree.
func leaks(tree map[string]string, material map[string]string) []string {
	var out []string
	for _, file := range slices.Sorted(maps.Keys(tree)) {
		for _, what := range slices.Sorted(maps.Keys(material)) {
			if strings.Contains(tree[file], material[what]) {
				out = append(out, file+": "+what)
			}
		}
	}
	return out
}

// sslKey is the key of the TLS Secret that sslChart makes at render time,
// base64-encoded as the Secret's data holds it.
var sslKey = base64.StdEncoding.EncodeToString([]byte("-----BEGIN EC PRIVATE KEY-----\nfake-ssl-key-4f2a\n-----END EC PRIVATE KEY-----\n"))

// sslChart makes, as the pxc-db chart does, a TLS Secret with a key at
// render time; and a service-account token Secret, without data, that the
// cluster fills in.
func sslChart(t *testing.T) []byte {
	return charttest.Package(t, charttest.Chart{Name: "db", Version: "1.0.0", Files: map[string]string{
		"templates/ssl.yaml":   "apiVersion: v1\nkind: Secret\nmetadata: {name: db-ssl}\ntype: kubernetes.io/tls\ndata: {tls.crt: Y2VydA==, tls.key: " + sslKey + "}\n",
		"templates/token.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: db-token, annotations: {kubernetes.io/service-account.name: db}}\ntype: kubernetes.io/service-account-token\n",
	}})
}

// TestRenderSecrets renders a Plan with a generated and a sensitive bundle,
// a chart that makes a TLS Secret and a Secret among the manifests of
// bundle app, in every format: without --include-secrets no key and no
// token appears in any output, the bundles and Secrets are named on stderr
// and nothing points at them, while the token Secret without data stays;
// with it they are there, with a warning counting the bundles. Missing or
// broken certificates fail clearly and write nothing.
func TestRenderSecrets(t *testing.T) {
	dir := secretsSetup(t, "east", "")
	repo := charttest.NewRepo(t, charttest.RepoOptions{}, sslChart(t))
	plan, err := os.ReadFile("plan.yaml")
	if err != nil {
		t.Fatal(err)
	}
	plan = append(plan, fmt.Sprintf(`              - {apiVersion: v1, kind: Secret, metadata: {name: app-password}, stringData: {password: %s}}
          - name: db
            namespace: istio-system
            chart: {repo: %q, name: db, version: 1.0.0}
`, fakeToken, repo.URL)...)
	if err := os.WriteFile("plan.yaml", plan, 0o644); err != nil {
		t.Fatal(err)
	}
	from := []string{"--from", "plan.yaml"}
	if code, _, stderr := run(t, append([]string{"lock"}, from...)...); code != 0 {
		t.Fatalf("lock: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := run(t, append([]string{"certs", "init", "--key-algorithm", "ecdsa"}, from...)...); code != 0 {
		t.Fatalf("certs init: exit %d\n%s", code, stderr)
	}
	store := storeDir(dir)
	material := keyMaterial(t, store)
	material["chart key"] = sslKey
	notes := "note: cluster east: bundle istio-cacerts is left out: it is generated from the certificate store and holds a private key; wookie deploy applies it, --include-secrets writes it\n" +
		"note: cluster east: bundle remote-secrets is left out: it carries secrets (sensitive); wookie deploy applies it, --include-secrets writes it\n" +
		"note: cluster east: bundle db: Secret istio-system/db-ssl (db/templates/ssl.yaml) is left out: it carries secrets; wookie deploy applies it, --include-secrets writes it\n" +
		"note: cluster east: bundle app: Secret istio-system/app-password (manifests[1]) is left out: it carries secrets; wookie deploy applies it, --include-secrets writes it\n"

	for _, args := range [][]string{
		{"--format", "manifests"},
		{"--format", "fleet", "--fleet-bundles"},
		{"--format", "helmfile"},
		{"--format", "argocd"},
		{"--format", "flux"},
		{"-o", "-"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.Join(args, "-"))
			cmd := append([]string{"render", "-o", out, "--git-repo", "https://git.example.org/platform.git"}, args...)
			code, stdout, stderr := run(t, append(cmd, from...)...)
			if code != 0 {
				t.Fatalf("render: exit %d\n%s", code, stderr)
			}
			if !strings.Contains(stderr, notes) || strings.Contains(stderr, "warning: --include-secrets") {
				t.Errorf("stderr:\n%s", stderr)
			}
			tree := map[string]string{"stdout": stdout, "stderr": stderr}
			if args[0] != "-o" {
				tree = readTree(t, out)
				tree["stdout"], tree["stderr"] = stdout, stderr
			}
			if l := leaks(tree, material); len(l) > 0 {
				t.Errorf("secrets in the output:\n%s", strings.Join(l, "\n"))
			}
			all := strings.Join(slices.Collect(func(yield func(string) bool) {
				for k, v := range tree {
					if k != "stderr" && !yield(k+"\n"+v) {
						return
					}
				}
			}), "\n")
			for _, gone := range []string{"istio-cacerts", "remote-secrets", "cacerts", "istio-remote-secret-west", "app-password", "db-ssl"} {
				if strings.Contains(all, gone) {
					t.Errorf("the output names %s", gone)
				}
			}
			if !strings.Contains(all, "name: app") || !strings.Contains(all, "name: istio") {
				t.Errorf("the output lacks bundles app and istiod:\n%s", all)
			}
			if args[1] != "helmfile" && !strings.Contains(all, "name: db-token") {
				// helmfile installs the chart from its repository.
				t.Errorf("the output lacks the token Secret without data:\n%s", all)
			}
		})
	}

	// --include-secrets: the secrets are there, with a warning.
	t.Run("include-secrets", func(t *testing.T) {
		out := filepath.Join(dir, "with-secrets")
		code, _, stderr := run(t, append([]string{"render", "--include-secrets", "-o", out}, from...)...)
		if code != 0 {
			t.Fatalf("render: exit %d\n%s", code, stderr)
		}
		if !strings.Contains(stderr, "warning: --include-secrets: the output holds the secrets (private keys, tokens) of 4 bundles: do not commit it to Git\n") || strings.Contains(stderr, "note:") {
			t.Errorf("stderr:\n%s", stderr)
		}
		tree := readTree(t, out)
		got := leaks(tree, material)
		want := []string{
			"east/namespaces/istio-cacerts.yaml: east/ca-key.pem base64",
			"east/plan.yaml: token",
			"east/services/app.yaml: token",
			"east/services/db.yaml: chart key",
			"east/services/remote-secrets.yaml: token",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("secrets in the output (-want +got):\n%s", diff)
		}
		if strings.Contains(stderr, "PRIVATE KEY") {
			t.Errorf("stderr shows key material:\n%s", stderr)
		}
		code, stdout, _ := run(t, append([]string{"render", "--include-secrets", "-o", "-"}, from...)...)
		if code != 0 || !strings.Contains(stdout, material["east/ca-key.pem base64"]) || !strings.Contains(stdout, fakeToken) {
			t.Errorf("render --include-secrets -o -: exit %d\n%s", code, stdout)
		}
	})

	// check: the sensitive bundle is checked but not flagged; the
	// generated one is left out without a word; the Secrets of app and
	// db are warnings naming where they come from.
	t.Run("check", func(t *testing.T) {
		code, stdout, stderr := run(t, append([]string{"check"}, from...)...)
		want := "east / services / db\n" +
			"  warning  secret           Secret istio-system/db-ssl: a Secret with data, made by the chart (db/templates/ssl.yaml): wookie render and every GitOps format leave it out (wookie deploy applies it), so a GitOps engine would lack it: give the chart an existing Secret (its values name one) or have an operator make it, mark the bundle sensitive: true, or skip rule secret with the reason\n" +
			"east / services / app\n" +
			"  warning  secret           Secret istio-system/app-password: a Secret with data (manifests[1]): wookie render and every GitOps format leave it out (wookie deploy applies it), so a GitOps engine would lack it: create it outside the Plan (External Secrets, Sealed Secrets, SOPS), mark the bundle sensitive: true, or skip rule secret with the reason\n" +
			"0 errors, 2 warnings, 0 skipped in 7 objects\n"
		if code != 0 || stdout != want || strings.Contains(stderr, "note:") {
			t.Errorf("check: exit %d\n%s%s", code, stdout, stderr)
		}
		if code, _, _ := run(t, append([]string{"check", "--strict"}, from...)...); code != 1 {
			t.Errorf("check --strict: exit %d, want 1", code)
		}
	})

	// Broken or missing certificates: a clear error, no key material in
	// it, and nothing written.
	before := readTree(t, filepath.Join(dir, "with-secrets"))
	for _, tt := range []struct {
		name   string
		damage func(t *testing.T)
		want   string
	}{{
		name: "key that does not match",
		damage: func(t *testing.T) {
			copyFile(t, filepath.Join(store, "root-key.pem"), filepath.Join(store, "east", "ca-key.pem"))
		},
		want: fmt.Sprintf("wookie: cluster east: bundle istio-cacerts: intermediate CA of cluster east: %[1]s/east/ca-key.pem does not match %[1]s/east/ca-cert.pem\n", store),
	}, {
		name:   "no intermediate CA",
		damage: func(t *testing.T) { removeAll(t, filepath.Join(store, "east")) },
		want: fmt.Sprintf("wookie: cluster east: bundle istio-cacerts: no intermediate CA for cluster east in %[1]s: missing %[1]s/east: file does not exist\n"+
			"wookie: hint: run 'wookie certs init' (wookie up makes missing certificates itself)\n", store),
	}, {
		name:   "no certificates at all",
		damage: func(t *testing.T) { removeAll(t, store) },
		want: fmt.Sprintf("wookie: cluster east: bundle istio-cacerts: no intermediate CA for cluster east in %[1]s: missing %[1]s/root-cert.pem: file does not exist\n"+
			"wookie: hint: run 'wookie certs init' (wookie up makes missing certificates itself)\n", store),
	}} {
		t.Run(tt.name, func(t *testing.T) {
			tt.damage(t)
			for _, out := range []string{"with-secrets", "new-output", "-"} {
				code, stdout, stderr := run(t, append([]string{"render", "--include-secrets", "-o", out}, from...)...)
				if code != 1 || stdout != "" || stderr != tt.want {
					t.Errorf("render -o %s: exit %d\n%s%s", out, code, stdout, stderr)
				}
			}
			if diff := cmp.Diff(before, readTree(t, filepath.Join(dir, "with-secrets"))); diff != "" {
				t.Errorf("the previous output changed (-before +after):\n%s", diff)
			}
			if _, err := os.Stat(filepath.Join(dir, "new-output")); !os.IsNotExist(err) {
				t.Errorf("new-output: %v, want it missing", err)
			}
			// Without --include-secrets the certificates are not needed.
			if code, _, stderr := run(t, append([]string{"render", "-o", "-"}, from...)...); code != 0 {
				t.Errorf("render without secrets: exit %d\n%s", code, stderr)
			}
		})
	}
}

func removeAll(t *testing.T, dir string) {
	t.Helper()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDeploySecrets deploys the Plan of secretsPlan to a real API server:
// without certificates deploy fails before it applies anything; up makes
// them; the cacerts Secret holds the store's files, before the services
// batch starts; diff after a rotation masks the Secret's values.
func TestDeploySecrets(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Name: "certs"})
	dir := secretsSetup(t, env.Context, env.Kubeconfig)
	store := storeDir(dir)
	from := []string{"--from", "plan.yaml"}
	cmd := func(args ...string) []string { return append(args, from...) }
	cs, err := kubernetes.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// No certificates: deploy (and diff) fail with the hint, and nothing
	// reaches the cluster, not even the batch before the generated bundle.
	hint := "wookie: hint: run 'wookie certs init' (wookie up makes missing certificates itself)\n"
	for _, c := range [][]string{{"deploy"}, {"diff"}} {
		code, _, stderr := run(t, cmd(c...)...)
		want := fmt.Sprintf("wookie: cluster east: bundle istio-cacerts: no intermediate CA for cluster east in %[1]s: missing %[1]s/root-cert.pem: file does not exist\n", store) + hint
		if code == 0 || stderr != want {
			t.Errorf("%s without certificates: exit %d\n%s", c[0], code, stderr)
		}
	}
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "istio-system", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace istio-system after the failed deploy: %v, want not found", err)
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Errorf("deploy made certificates: %v", err)
	}

	// up makes the missing certificates, then deploys.
	code, out, stderr := run(t, cmd("up", "-o", "json", "--timeout", "30s")...)
	if code != 0 {
		t.Fatalf("up: exit %d\n%s", code, stderr)
	}
	wantCerts := fmt.Sprintf("✓ certs: root CA made in %s (rsa)\n✓ certs: cluster east: intermediate CA made\n", store)
	if !strings.HasPrefix(stderr, wantCerts) {
		t.Errorf("up: stderr:\n%s", stderr)
	}
	var order []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct{ Type, Batch, Bundle string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("event %q: %v", line, err)
		}
		if e.Bundle != "" && (e.Type == "start" || e.Type == "done") {
			order = append(order, e.Type+" "+e.Batch+"/"+e.Bundle)
		}
	}
	cacertsDone := slices.Index(order, "done namespaces/istio-cacerts")
	for i, ev := range order {
		if strings.HasPrefix(ev, "start services/") && (cacertsDone < 0 || i < cacertsDone) {
			t.Errorf("%s before istio-cacerts is done: %v", ev, order)
		}
	}
	if strings.Contains(out+stderr, "PRIVATE KEY") || strings.Contains(out+stderr, fakeToken) {
		t.Errorf("up printed secrets:\n%s%s", out, stderr)
	}

	// The Secret holds the store's files; its chain verifies to the root.
	checkCacerts(t, cs, store)
	remote, err := cs.CoreV1().Secrets("istio-system").Get(ctx, "istio-remote-secret-west", metav1.GetOptions{})
	if err != nil || !strings.Contains(string(remote.Data["west"]), fakeToken) {
		t.Errorf("remote secret: %v %v", remote, err)
	}

	// A second up makes no certificates and changes nothing.
	code, _, stderr = run(t, cmd("up")...)
	if code != 0 || strings.Contains(stderr, "certs:") || !strings.Contains(stderr, "created 0, configured 0, unchanged 5") {
		t.Errorf("second up: exit %d\n%s", code, stderr)
	}

	// After a rotation, diff shows the Secret would change, values masked.
	if code, _, stderr := run(t, cmd("certs", "rotate")...); code != 0 {
		t.Fatalf("certs rotate: exit %d\n%s", code, stderr)
	}
	material := keyMaterial(t, store)
	code, out, stderr = run(t, cmd("diff")...)
	if code != 1 || !strings.Contains(out, "# east: bundle istio-cacerts: Secret/istio-system/cacerts would be configured\n") || !strings.Contains(out, "*** (after)") {
		t.Errorf("diff after the rotation: exit %d\n%s%s", code, out, stderr)
	}
	if l := leaks(map[string]string{"stdout": out, "stderr": stderr}, material); len(l) > 0 {
		t.Errorf("diff shows secrets:\n%s", strings.Join(l, "\n"))
	}
	code, out, _ = run(t, cmd("diff", "-o", "json")...)
	if l := leaks(map[string]string{"json": out}, material); code != 1 || len(l) > 0 {
		t.Errorf("diff -o json: exit %d, secrets: %v", code, l)
	}
	code, _, stderr = run(t, cmd("deploy")...)
	if code != 0 || !strings.Contains(stderr, "configured 1") {
		t.Errorf("deploy after the rotation: exit %d\n%s", code, stderr)
	}
	checkCacerts(t, cs, store)
	if code, out, stderr := run(t, cmd("status")...); code != 0 || strings.Count(out, " Ready ") != 5 {
		t.Errorf("status: exit %d\n%s%s", code, out, stderr)
	}
}

// checkCacerts checks that Secret istio-system/cacerts holds the four
// files of cluster east in store, and that its chain verifies to its root.
func checkCacerts(t *testing.T, cs *kubernetes.Clientset, store string) {
	t.Helper()
	s, err := cs.CoreV1().Secrets("istio-system").Get(context.Background(), "cacerts", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for k, v := range s.Data {
		got[k] = string(v)
	}
	want := map[string]string{}
	for _, name := range []string{cert.CACertFile, cert.CAKeyFile, cert.RootCertFile, cert.CertChainFile} {
		data, err := os.ReadFile(filepath.Join(store, "east", name))
		if err != nil {
			t.Fatal(err)
		}
		want[name] = string(data)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cacerts (-store +cluster):\n%s", diff)
	}
	if s.Labels["wookie.dev/bundle"] != "istio-cacerts" {
		t.Errorf("cacerts labels: %v", s.Labels)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(s.Data[cert.RootCertFile]) {
		t.Fatal("root-cert.pem: no certificate")
	}
	var chain []*x509.Certificate
	rest := s.Data[cert.CertChainFile]
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	if len(chain) != 2 {
		t.Fatalf("cert-chain.pem: %d certificates", len(chain))
	}
	if _, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("cert-chain.pem does not verify against root-cert.pem: %v", err)
	}
}

// realCharts returns the folder of the real published charts, a Helm
// repository beside the repository's root (../shared/realcharts). Missing,
// the test is skipped, or fails under CI.
func realCharts(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "realcharts"))
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "index.yaml"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the real charts are missing: %v", err)
		}
		t.Skipf("the real charts are missing (a Helm repository in ../shared/realcharts): %v", err)
	}
	return dir
}

// TestRenderRealChartSecrets renders the published pxc-db 1.20.0 chart
// with its default values, which make the TLS Secrets pxc-db-ssl and
// pxc-db-ssl-internal with keys from genCA: render leaves both out with a
// note each, and check warns about each naming the template.
func TestRenderRealChartSecrets(t *testing.T) {
	repo := httptest.NewServer(http.FileServer(http.Dir(realCharts(t))))
	t.Cleanup(repo.Close)
	workIn(t, t.TempDir(), "")
	if err := os.WriteFile("plan.yaml", []byte(fmt.Sprintf(`apiVersion: wookie.dev/v1alpha1
kind: Plan
clusters:
  - name: c
    target: test
    context: c
    kubeVersion: 1.31.4
    batches:
      - name: services
        priority: 600
        bundles:
          - name: pxc-db
            namespace: pxc
            resourceScopes: {PerconaXtraDBCluster.pxc.percona.com: Namespaced}
            chart: {repo: %q, name: pxc-db, version: 1.20.0}
`, repo.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	from := []string{"--from", "plan.yaml"}
	if code, _, stderr := run(t, append([]string{"lock"}, from...)...); code != 0 {
		t.Fatalf("lock: exit %d\n%s", code, stderr)
	}
	code, _, stderr := run(t, append([]string{"render", "-o", "out"}, from...)...)
	if code != 0 {
		t.Fatalf("render: exit %d\n%s", code, stderr)
	}
	var notes []string
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "note: ") {
			notes = append(notes, line)
		}
	}
	want := []string{
		"note: cluster c: bundle pxc-db: Secret pxc/pxc-db-ssl (pxc-db/templates/cluster-ssl-secret.yaml) is left out: it carries secrets; wookie deploy applies it, --include-secrets writes it",
		"note: cluster c: bundle pxc-db: Secret pxc/pxc-db-ssl-internal (pxc-db/templates/cluster-ssl-secret.yaml) is left out: it carries secrets; wookie deploy applies it, --include-secrets writes it",
	}
	if diff := cmp.Diff(want, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	tree := readTree(t, "out")
	if data := tree["c/services/pxc-db.yaml"]; !strings.Contains(data, "kind: PerconaXtraDBCluster") || strings.Contains(data, "kind: Secret") || strings.Contains(data, "tls.key") {
		t.Errorf("c/services/pxc-db.yaml:\n%s", data)
	}

	code, stdout, _ := run(t, append([]string{"check"}, from...)...)
	if code != 0 || strings.Count(stdout, "warning  secret") != 2 || strings.Count(stdout, "made by the chart (pxc-db/templates/cluster-ssl-secret.yaml)") != 2 || !strings.Contains(stdout, "0 errors, 2 warnings") {
		t.Errorf("check: exit %d\n%s", code, stdout)
	}
}
