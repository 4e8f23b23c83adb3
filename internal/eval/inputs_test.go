package eval

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
)

// TestInputsInCUE: a cluster declares deploy-time inputs and dependsOn in
// CUE; #Input gives the placeholder bundles use; the Plan carries both,
// and an input from a cluster the Plan lacks is an error.
func TestInputsInCUE(t *testing.T) {
	const cfg = `
clusters: hub: {target: "test", context: "hub", kubeVersion: "1.31.4"}
clusters: audit: {target: "test", context: "audit", kubeVersion: "1.31.4"}
clusters: spoke: {
	target: "test", context: "spoke", kubeVersion: "1.31.4"
	dependsOn: spoke: ["audit"]
	inputs: "hub-address": {
		cluster: "hub", apiVersion: "v1", kind: "Service", namespace: "istio-system", name: "gw"
		expression: "status.loadBalancer.ingress[0].ip"
		timeout:    "2m"
	}
	batches: services: bundles: app: {
		namespace: "app"
		manifests: app: [{apiVersion: "v1", kind: "ConfigMap", metadata: name: "x", data: url: "https://\((#Input & {name: "hub-address"}).ref):15443"}]
	}
}
`
	dir, names := writeFiles(t, [][2]string{{"wookie.cue", cfg}})
	res, err := Evaluate(Config{Dir: dir, Files: []string{filepath.Join(dir, names[0])}})
	if err != nil {
		t.Fatal(err)
	}
	var spoke *plan.Cluster
	for i := range res.Plan.Clusters {
		if res.Plan.Clusters[i].Name == "spoke" {
			spoke = &res.Plan.Clusters[i]
		}
	}
	want := []plan.Input{{Name: "hub-address", From: plan.InputSource{Cluster: "hub", APIVersion: "v1", Kind: "Service", Namespace: "istio-system", Name: "gw",
		Expression: "status.loadBalancer.ingress[0].ip", Timeout: "2m"}}}
	if diff := cmp.Diff(want, spoke.Inputs); diff != "" {
		t.Errorf("inputs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"audit"}, spoke.DependsOn); diff != "" {
		t.Errorf("dependsOn (-want +got):\n%s", diff)
	}
	data := spoke.Batches[len(spoke.Batches)-1].Bundles[0].Manifests[0]["data"].(map[string]any)
	if data["url"] != "https://((input hub-address)):15443" {
		t.Errorf("placeholder: %v", data["url"])
	}

	dir, names = writeFiles(t, [][2]string{{"wookie.cue", strings.Replace(cfg, `cluster: "hub"`, `cluster: "nowhere"`, 1)}})
	if _, err := Evaluate(Config{Dir: dir, Files: []string{filepath.Join(dir, names[0])}}); err == nil || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("input from a missing cluster: %v", err)
	}
}
