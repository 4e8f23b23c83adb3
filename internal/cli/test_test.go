package cli

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"wookie.dev/wookie/internal/testenv"
)

// playPod acts as the kubelet kwok is not for a bare Pod (kwok completes
// only the pods of Jobs): once Pod ns/name runs, it sets its phase.
func playPod(t *testing.T, cs kubernetes.Interface, ns, name string, phase corev1.PodPhase) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		for ctx.Err() == nil {
			pod, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
			if err == nil && pod.Status.Phase == corev1.PodRunning && pod.DeletionTimestamp == nil {
				patch := fmt.Sprintf(`{"status":{"phase":%q}}`, phase)
				if _, err := cs.CoreV1().Pods(ns).Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
					t.Errorf("set pod %s phase: %v", name, err)
				}
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
}

// settle deletes Pod ns/name, if it is there, and gives kwok time to
// finish with it: kwok's pod-delete stage may delete a Pod by name once
// more after it is gone, which would take the Pod wookie test recreates
// under the same name.
func settle(t *testing.T, cs kubernetes.Interface, ns, name string) {
	ctx := context.Background()
	zero := int64(0)
	if err := cs.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if _, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
}

// TestTestMesh deploys the wookie project (Istio-shaped test charts) to
// the test control plane and runs wookie test: the istiod chart's Helm
// test Pod (played to success) and istiod-ready pass; the checks that
// need what the test control plane lacks fail with their cause, as they
// must: no sidecar is injected (nothing serves istiod's webhook) and the
// gateway's LoadBalancer Service gets no address (no load balancer). The
// results go to stdout (a line each, or JSON) and to a JUnit file; the
// exit code is 1.
func TestTestMesh(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "cli-test"})
	testenvConfig(t, env)("")
	if code, _, stderr := run(t, "deploy", "--timeout", "60s"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, stderr)
	}
	cs, err := kubernetes.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	// deploy applies no test hook.
	if _, err := cs.CoreV1().Pods("istio-system").Get(context.Background(), "istiod-test", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("after deploy, the Helm test Pod: %v, want not found", err)
	}
	playPod(t, cs, "istio-system", "istiod-test", corev1.PodSucceeded)
	code, out, stderr := run(t, "test", "--timeout", "60s", "-o", "json", "--junit", "results.xml")
	if code != 1 {
		t.Fatalf("test: exit %d, want 1\n%s\n%s", code, out, stderr)
	}
	var results []struct {
		Cluster, Batch, Bundle, Name, Kind, Cause string
		Passed                                    bool
	}
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := map[string]string{}
	for _, r := range results {
		state := "passed"
		if !r.Passed {
			state = "failed: " + r.Cause
		}
		got[r.Cluster+"/"+r.Bundle+"/"+r.Kind+"/"+r.Name] = state
	}
	for check, want := range map[string]string{
		"test/istiod/helm/Pod/istiod-test":        "passed",
		"test/istiod/cel/istiod-ready":            "passed",
		"test/istiod/injection/sidecar-injection": "failed: ",
		"test/istio-ingressgateway/cel/address":   "failed: Service istio-ingress/istio-ingressgateway: ",
	} {
		if !strings.HasPrefix(got[check], want) {
			t.Errorf("%s: %q, want %q...", check, got[check], want)
		}
	}
	if len(got) != 4 {
		t.Errorf("checks: %v", got)
	}
	data, err := os.ReadFile("results.xml")
	if err != nil {
		t.Fatal(err)
	}
	var junit struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
	}
	if err := xml.Unmarshal(data, &junit); err != nil || junit.Tests != 4 || junit.Failures != 2 {
		t.Errorf("results.xml: %+v %v\n%s", junit, err, data)
	}

	t.Logf("wookie test -o json:\n%s", out)

	// One bundle, lines on stdout: the Helm test runs again (its Pod
	// replaced) and passes.
	settle(t, cs, "istio-system", "istiod-test")
	playPod(t, cs, "istio-system", "istiod-test", corev1.PodSucceeded)
	code, out, stderr = run(t, "test", "--timeout", "60s", "--bundle", "istiod")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 3 || !strings.HasPrefix(lines[0], "✓ cluster test: bundle istiod: helm Pod/istiod-test (") ||
		!strings.HasPrefix(lines[1], "✓ cluster test: bundle istiod: cel istiod-ready (") || !strings.HasPrefix(lines[2], "✗ cluster test: bundle istiod: injection sidecar-injection (") ||
		!strings.Contains(stderr, "3 checks, 1 failed") {
		t.Errorf("test --bundle istiod: exit %d\n%s\n%s", code, out, stderr)
	}

	// A Helm test that fails: its cause on its line, its logs (which kwok,
	// without a kubelet, cannot give) indented on stderr; -q leaves them
	// out.
	for _, quiet := range []bool{false, true} {
		settle(t, cs, "istio-system", "istiod-test")
		playPod(t, cs, "istio-system", "istiod-test", corev1.PodFailed)
		args := []string{"test", "--timeout", "60s", "--bundle", "istiod"}
		if quiet {
			args = append(args, "-q")
		}
		code, out, stderr = run(t, args...)
		first, _, _ := strings.Cut(out, "\n")
		if code != 1 || !strings.HasPrefix(first, "✗ cluster test: bundle istiod: helm Pod/istiod-test (") || !strings.HasSuffix(first, "): Pod istio-system/istiod-test: Failed") ||
			strings.Contains(stderr, "    pod istiod-test: logs cannot be read: ") == quiet {
			t.Errorf("test of a failing Helm test (quiet %v): exit %d\n%s\n%s", quiet, code, out, stderr)
		}
	}
}

// TestTestPXC deploys the wookie project's PXC bundles and runs its check
// that the database is ready with the declared size, playing the
// operator: it passes once the state is ready and every PXC node is, and
// fails, naming the expression, when a node is not.
func TestTestPXC(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "cli-test-pxc"})
	repo := catalogRepo(t)
	workIn(t, t.TempDir(), fmt.Sprintf(`targets: kubeconfig: {enable: true, clusterName: "test", context: %q, path: %q, kubeVersion: "1.37.2"}
projects: wookie: {enable: true, istio: enable: false, pxc: enable: true}
`, env.Context, env.Kubeconfig))
	if err := os.WriteFile("mirror.cue", catalogMirror(repo.URL), 0o644); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	pxcs := dyn.Resource(schema.GroupVersionResource{Group: "pxc.percona.com", Version: "v1", Resource: "perconaxtradbclusters"}).Namespace("pxc")
	setStatus := func(ctx context.Context, status string) error {
		_, err := pxcs.Patch(ctx, "pxc-db", types.MergePatchType, []byte(`{"status":`+status+`}`), metav1.PatchOptions{})
		return err
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for ctx.Err() == nil {
			if setStatus(ctx, `{"state":"ready","pxc":{"ready":1,"size":1}}`) == nil {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	files := []string{"-f", "wookie.cue", "-f", "mirror.cue"}
	if code, _, stderr := run(t, append([]string{"deploy", "--timeout", "60s"}, files...)...); code != 0 {
		t.Fatalf("deploy: exit %d: %s", code, stderr)
	}
	code, out, stderr := run(t, append([]string{"test", "--bundle", "pxc-db"}, files...)...)
	if code != 0 || !strings.HasPrefix(out, "✓ cluster test: bundle pxc-db: cel ready (") || !strings.Contains(stderr, "1 checks, 0 failed") {
		t.Errorf("test of a ready database: exit %d\n%s\n%s", code, out, stderr)
	}
	if err := setStatus(context.Background(), `{"state":"ready","pxc":{"ready":0,"size":1}}`); err != nil {
		t.Fatal(err)
	}
	code, out, stderr = run(t, append([]string{"test", "--bundle", "pxc-db"}, files...)...)
	if code != 1 || !strings.HasPrefix(out, "✗ cluster test: bundle pxc-db: cel ready (") || !strings.Contains(out, "): PerconaXtraDBCluster pxc/pxc-db: status.state == 'ready' && status.pxc.ready == status.pxc.size && status.pxc.size == 1 is false") {
		t.Errorf("test of a database with a node not ready: exit %d\n%s\n%s", code, out, stderr)
	}
}
