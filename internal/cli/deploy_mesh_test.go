package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/internal/render/rendertest"
	"wookie.dev/wookie/internal/testenv"
)

// meshEnv is one cluster of TestDeployMesh: its API server and a client.
type meshEnv struct {
	name string
	env  *testenv.Env
	cs   *kubernetes.Clientset
}

// playLoadBalancers plays the service load balancer that kube-apiserver
// alone lacks (k3s's servicelb, a cloud's controller) for the east-west
// gateways: until ctx ends, it gives every cluster's Service
// istio-system/istio-eastwestgateway the address ips[cluster].
func playLoadBalancers(ctx context.Context, t *testing.T, envs []meshEnv, ips map[string]string) {
	go func() {
		for ctx.Err() == nil {
			for _, e := range envs {
				svc, err := e.cs.CoreV1().Services("istio-system").Get(ctx, "istio-eastwestgateway", metav1.GetOptions{})
				if err != nil || len(svc.Status.LoadBalancer.Ingress) > 0 {
					continue
				}
				patch := fmt.Sprintf(`{"status":{"loadBalancer":{"ingress":[{"ip":%q}]}}}`, ips[e.name])
				if _, err := e.cs.CoreV1().Services("istio-system").Patch(ctx, svc.Name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil && ctx.Err() == nil {
					t.Logf("cluster %s: set the east-west gateway's address: %v", e.name, err)
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
}

// TestDeployMesh deploys the wookie project's two multi-cluster models to
// two real API servers each (with kube-controller-manager, whose token
// controller issues the reader tokens, and kwok, which runs the pods), with
// the Istio-shaped test charts, through wookie up:
//
//   - multi-primary on two networks: both get the cacerts Secret of their
//     own intermediate under one root, and each a remote secret for the
//     other whose kubeconfig, pointed at the other's real API server,
//     authenticates as istio-reader-service-account with the CA it carries;
//   - primary-remote on two networks: the remote's istiod points at the
//     primary's east-west gateway address, read at deploy time once the
//     primary's services batch made it, while the primary's remote secret
//     needs a token from the remote's namespaces batch: clusters that read
//     from each other, deployed batch by batch.
func TestDeployMesh(t *testing.T) {
	tests := []struct {
		name          string
		westRole      string
		remoteSecrets map[string]string // cluster -> the cluster its remote secret is for
		cacerts       []string          // clusters with the cacerts Secret
	}{
		{name: "multi-primary", westRole: "primary", remoteSecrets: map[string]string{"east": "west", "west": "east"}, cacerts: []string{"east", "west"}},
		{name: "primary-remote", westRole: "remote", remoteSecrets: map[string]string{"east": "west"}, cacerts: []string{"east"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			envs := []meshEnv{{name: "east"}, {name: "west"}}
			for i := range envs {
				envs[i].env = testenv.Start(t, testenv.Options{Kwok: true, Name: "mesh-" + tt.name + "-" + envs[i].name})
				cs, err := kubernetes.NewForConfig(envs[i].env.RESTConfig())
				if err != nil {
					t.Fatal(err)
				}
				envs[i].cs = cs
			}
			dir := t.TempDir()
			rendertest.WriteIstio(t, filepath.Join(dir, "charts"))
			cfg := fmt.Sprintf(`clusters: {
	east: {target: "testenv", context: %q, kubeconfig: %q, kubeVersion: "1.37.2"
		mesh: {clusterRole: "primary", network: "east", apiServer: "https://k3d-east-serverlb:6443"}}
	west: {target: "testenv", context: %q, kubeconfig: %q, kubeVersion: "1.37.2"
		mesh: {clusterRole: %q, network: "west", apiServer: "https://k3d-west-serverlb:6443"}}
}
projects: wookie: enable: true
`, envs[0].env.Context, envs[0].env.Kubeconfig, envs[1].env.Context, envs[1].env.Kubeconfig, tt.westRole) + rendertest.IstioMirrorConfig("./charts")
			workIn(t, dir, cfg)
			t.Setenv("XDG_STATE_HOME", filepath.Join(dir, "state"))
			store := filepath.Join(dir, "state", "wookie", filepath.Base(dir), "certs")

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ips := map[string]string{"east": "172.18.0.3", "west": "172.18.0.4"}
			playLoadBalancers(ctx, t, envs, ips)

			code, out, stderr := run(t, "up", "-o", "json", "--timeout", "90s")
			if code != 0 {
				t.Fatalf("up: exit %d\n%s", code, stderr)
			}
			events := meshEvents(t, out)

			// Plug-in CA: the clusters running istiod have their own
			// intermediate, under one root.
			var root []byte
			for _, e := range envs {
				s, err := e.cs.CoreV1().Secrets("istio-system").Get(ctx, "cacerts", metav1.GetOptions{})
				if !slices.Contains(tt.cacerts, e.name) {
					if !apierrors.IsNotFound(err) {
						t.Errorf("cluster %s: cacerts: %v, want none (a remote runs no istiod)", e.name, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("cluster %s: cacerts: %v", e.name, err)
				}
				want, err := os.ReadFile(filepath.Join(store, e.name, cert.CACertFile))
				if err != nil || string(s.Data[cert.CACertFile]) != string(want) {
					t.Errorf("cluster %s: ca-cert.pem is not the store's (%v)", e.name, err)
				}
				if root != nil && string(root) != string(s.Data[cert.RootCertFile]) {
					t.Errorf("cluster %s: another root", e.name)
				}
				root = s.Data[cert.RootCertFile]
				roots := x509.NewCertPool()
				roots.AppendCertsFromPEM(root)
				ca, err := parseCert(s.Data[cert.CACertFile])
				if err != nil {
					t.Fatal(err)
				}
				if _, err := ca.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
					t.Errorf("cluster %s: ca-cert.pem does not chain to root-cert.pem: %v", e.name, err)
				}
				if len(ca.Subject.Locality) != 1 || ca.Subject.Locality[0] != e.name {
					t.Errorf("cluster %s: intermediate subject %s", e.name, ca.Subject)
				}
			}

			// Remote secrets: shaped like istioctl create-remote-secret's,
			// and their credentials work against the other API server.
			for _, e := range envs {
				other, ok := tt.remoteSecrets[e.name]
				name := "istio-remote-secret-" + map[string]string{"east": "west", "west": "east"}[e.name]
				s, err := e.cs.CoreV1().Secrets("istio-system").Get(ctx, name, metav1.GetOptions{})
				if !ok {
					if !apierrors.IsNotFound(err) {
						t.Errorf("cluster %s: %s: %v, want none", e.name, name, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("cluster %s: %s: %v", e.name, name, err)
				}
				if s.Labels["istio/multiCluster"] != "true" || s.Annotations["networking.istio.io/cluster"] != other {
					t.Errorf("cluster %s: %s: labels %v annotations %v", e.name, name, s.Labels, s.Annotations)
				}
				kc, err := clientcmd.Load(s.Data[other])
				if err != nil {
					t.Fatalf("cluster %s: %s: kubeconfig: %v", e.name, name, err)
				}
				if kc.CurrentContext != other || kc.Clusters[other] == nil || kc.Clusters[other].Server != "https://k3d-"+other+"-serverlb:6443" {
					t.Fatalf("cluster %s: %s: kubeconfig %+v", e.name, name, kc)
				}
				// The server name only resolves on the k3d network: point
				// the same credentials at the other test API server.
				target := envs[slices.IndexFunc(envs, func(m meshEnv) bool { return m.name == other })]
				kc.Clusters[other].Server = target.env.RESTConfig().Host
				rc, err := clientcmd.NewDefaultClientConfig(*kc, &clientcmd.ConfigOverrides{}).ClientConfig()
				if err != nil {
					t.Fatal(err)
				}
				reader, err := kubernetes.NewForConfig(rc)
				if err != nil {
					t.Fatal(err)
				}
				review, err := reader.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
				if err != nil {
					t.Fatalf("cluster %s: %s: its credentials against cluster %s: %v", e.name, name, other, err)
				}
				if got := review.Status.UserInfo.Username; got != "system:serviceaccount:istio-system:istio-reader-service-account" {
					t.Errorf("cluster %s: %s: authenticates as %s", e.name, name, got)
				}
			}

			// wookie test: the remote secrets pass the wookie project's
			// check (the kubeconfig there, the reader's token filled in).
			code, out, stderr = run(t, "test", "--batch", "services", "-o", "json", "--timeout", "30s")
			var results []struct {
				Cluster, Bundle, Name, Cause string
				Passed                       bool
			}
			if err := json.Unmarshal([]byte(out), &results); err != nil {
				t.Fatalf("test: exit %d: %v\n%s\n%s", code, err, out, stderr)
			}
			secrets := map[string]string{}
			for _, r := range results {
				if strings.HasPrefix(r.Name, "remote-secret-") {
					secrets[r.Cluster] = r.Name
					if !r.Passed {
						t.Errorf("test: cluster %s: %s failed: %s", r.Cluster, r.Name, r.Cause)
					}
				}
			}
			for cluster, other := range tt.remoteSecrets {
				if secrets[cluster] != "remote-secret-"+other {
					t.Errorf("test: cluster %s: checks %v, want remote-secret-%s", cluster, secrets, other)
				}
			}
			if len(secrets) != len(tt.remoteSecrets) {
				t.Errorf("test: remote secret checks %v, want those of %v", secrets, tt.remoteSecrets)
			}

			if tt.westRole != "remote" {
				return
			}
			// The remote's istiod is the primary's east-west gateway.
			slice, err := envs[1].cs.DiscoveryV1().EndpointSlices("istio-system").Get(ctx, "istiod-remote", metav1.GetOptions{})
			if err != nil || len(slice.Endpoints) != 1 || !slices.Equal(slice.Endpoints[0].Addresses, []string{ips["east"]}) {
				t.Errorf("west: EndpointSlice istiod-remote: %+v %v, want the address %s", slice, err, ips["east"])
			}
			ns, err := envs[1].cs.CoreV1().Namespaces().Get(ctx, "istio-system", metav1.GetOptions{})
			if err != nil || ns.Annotations["topology.istio.io/controlPlaneClusters"] != "east" || ns.Labels["topology.istio.io/network"] != "west" {
				t.Errorf("west: namespace istio-system: %v %v", ns.ObjectMeta, err)
			}
			if _, err := envs[1].cs.AppsV1().Deployments("istio-system").Get(ctx, "istiod", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("west: a remote runs no istiod Deployment: %v", err)
			}
			// Batch by batch: west's istiod after east's east-west gateway,
			// east's remote secrets after west's reader token.
			for _, o := range [][2]string{
				{"east done services/istio-eastwestgateway", "west start operators/istiod"},
				{"west done namespaces/istio-reader-token", "east start services/istio-remote-secrets"},
			} {
				before, after := slices.Index(events, o[0]), slices.Index(events, o[1])
				if before < 0 || after < 0 || after < before {
					t.Errorf("want %q before %q:\n%s", o[0], o[1], strings.Join(events, "\n"))
				}
			}
		})
	}
}

// parseCert parses the first certificate of PEM data.
func parseCert(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("no PEM block")
	}
	return x509.ParseCertificate(block.Bytes)
}

// meshEvents returns the start and done events of a deploy's JSON output
// as "cluster type batch/bundle", in order.
func meshEvents(t *testing.T, out string) []string {
	t.Helper()
	var events []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e struct{ Type, Cluster, Batch, Bundle string }
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("event %q: %v", line, err)
		}
		if e.Bundle != "" && (e.Type == "start" || e.Type == "done") {
			events = append(events, e.Cluster+" "+e.Type+" "+e.Batch+"/"+e.Bundle)
		}
	}
	return events
}
