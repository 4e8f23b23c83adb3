package conformance

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"wookie.dev/wookie/internal/fleettest"
	"wookie.dev/wookie/internal/testenv"
)

// TestDeployViaFleet is the README's walk-through on the real charts: an
// empty cluster, Fleet 0.12.0 installed from its charts with wookie deploy
// --until fleet (Fleet's batches come first), and the wookie project (Istio 1.30) handed
// to Fleet with wookie deploy --via fleet, followed to Fleet's verdict.
// kwok fakes the Pods of Fleet's Deployments, so Fleet's controller,
// agentmanagement and the cluster's agent run as local processes
// (internal/fleettest) between the two commands, on the chart's CRDs and
// configuration; its bootstrap's registration of the cluster as
// fleet-local/local is done by fleettest too. Every bundle Fleet can make
// ready on a control plane without a container runtime becomes Ready; the
// ingress gateway cannot (its Pods need the sidecar injection webhook,
// served by no real istiod), and wookie reports it with Fleet's reason.
func TestDeployViaFleet(t *testing.T) {
	_, url := serveCharts(t)
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "fleet-via"})
	flags := fleetWorkspace(t, fmt.Sprintf(`package wookie

targets: kubeconfig: {enable: true, clusterName: "test", context: %q, path: %q, kubeVersion: "1.37.2"}
projects: fleet: enable: true
projects: wookie: enable: true
charts: fleet: [_]: repo: %%[1]q
charts: istio: [_]: repo: %%[1]q
`, env.Context, env.Kubeconfig), url)
	wookie(t, append([]string{"lock", "-q"}, flags...)...)

	// First command: install Fleet.
	code, _, stderr := wookieCode(append([]string{"deploy", "--until", "fleet", "--timeout", "2m"}, flags...)...)
	t.Logf("wookie deploy --until fleet: exit %d\n%s", code, stderr)
	if code != 0 {
		t.Fatalf("install Fleet: exit %d, want 0", code)
	}
	for _, b := range fleetBundles {
		if !strings.Contains(stderr, "✓ test "+b) {
			t.Errorf("deploy does not report bundle %s ready", b)
		}
	}
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "✓ test ") && !strings.HasPrefix(l, "✓ test fleet") && !strings.HasPrefix(l, "✓ test  done") {
			t.Errorf("installing Fleet deployed more than Fleet: %s", l)
		}
	}
	// Fleet's Pods, as processes.
	fleettest.Start(t, env)

	// Second command: hand the rest to Fleet.
	start := time.Now()
	code, _, stderr = wookieCode(append([]string{"deploy", "--via", "fleet", "--timeout", "45s"}, flags...)...)
	t.Logf("wookie deploy --via fleet: exit %d after %s\n%s", code, time.Since(start).Round(time.Second), stderr)
	if code != 1 {
		t.Errorf("deploy --via fleet: exit %d, want 1 (the gateway cannot be ready here)", code)
	}
	if strings.Contains(stderr, "gitrepo.yaml") {
		t.Errorf("deploy --via fleet notes the GitRepo of the Fleet output, which it does not write")
	}
	for _, want := range []string{
		"→ test crds/istio-base  handed to Fleet as Bundle fleet-local/",
		"✓ test crds/istio-base  Fleet: Ready (1/1 clusters)",
		"✓ test namespaces/ns-istio-system  Fleet: Ready (1/1 clusters)",
		"✓ test operators/istiod  Fleet: Ready (1/1 clusters)",
		"✓ test namespaces/ns-wookie  Fleet: Ready (1/1 clusters)",
		"Fleet: 1 of 6 bundles not ready (after 45s):",
		"cluster test: bundle istio-ingressgateway (Bundle fleet-local/wookie-test-services-istio-ingressgateway): NotReady: ",
		// Fleet's reason: "[progressing] Deployment does not have minimum
		// availability", then, once the ReplicaSet reports it, "[progressing,error]
		// ... failed calling webhook "object.sidecar-injector.istio.io"".
		"deployment.apps istio-ingress/istio-ingressgateway [progressing",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("deploy --via fleet output lacks %q", want)
		}
	}
	for _, b := range fleetBundles {
		if strings.Contains(stderr, "handed to Fleet as Bundle fleet-local/wookie-test-"+strings.ReplaceAll(b, "/", "-")+" ") {
			t.Errorf("bundle %s, which installs Fleet, was handed to Fleet", b)
		}
	}

	code, out, stderr := wookieCode(append([]string{"status", "--via", "fleet"}, flags...)...)
	t.Logf("wookie status --via fleet: exit %d\n%s%s", code, out, stderr)
	if code != 1 {
		t.Errorf("status --via fleet: exit %d, want 1", code)
	}
	for _, want := range []string{
		"CLUSTER  BATCH       BUNDLE                FLEET BUNDLE                                           STATE     CLUSTERS  MESSAGE\n",
		"test     operators   istiod                fleet-local/wookie-test-operators-istiod               Ready     1/1       -\n",
		"test     services    istio-ingressgateway  fleet-local/wookie-test-services-istio-ingressgateway  NotReady  0/1       NotReady(1) [Cluster fleet-local/local]; deployment.apps istio-ingress/istio-ingressgateway",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status --via fleet lacks %q", want)
		}
	}
}
