package pipeline_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"wookie.dev/wookie/pkg/pipeline"
)

// TestFleetBundlesSecrets: the Bundles handed to Fleet leave a Secret with
// data out (render notes it in OmittedObjects) unless IncludeSecrets, as
// the GitOps outputs do; the management cluster of a one-cluster Plan is
// that cluster.
func TestFleetBundlesSecrets(t *testing.T) {
	ctx := context.Background()
	var warnings []string
	cfg := setup(t, `targets: "local-k3d": enable: true
clusters: "wookie-local": batches: services: bundles: creds: {
	namespace: "wookie"
	manifests: db: [{apiVersion: "v1", kind: "Secret", metadata: name: "db", stringData: password: "hunter2"}]
}`, &warnings)
	p, pl := locked(t, cfg)
	tests := []struct {
		name        string
		include     bool
		wantSecret  bool
		wantOmitted int
	}{
		{name: "secrets left out", wantOmitted: 1},
		{name: "--include-secrets", include: true, wantSecret: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bundles, res, err := p.FleetBundles(ctx, pl, pipeline.FleetOptions{IncludeSecrets: tt.include})
			if err != nil {
				t.Fatal(err)
			}
			var creds *pipeline.FleetBundle
			for i, b := range bundles {
				if b.Bundle == "creds" {
					creds = &bundles[i]
				}
				if b.Workspace != "fleet-default" || b.Cluster != "wookie-local" {
					t.Errorf("bundle %s: cluster %s, workspace %s", b.Bundle, b.Cluster, b.Workspace)
				}
			}
			if creds == nil {
				t.Fatalf("no Bundle for bundle creds among %d", len(bundles))
			}
			data, err := json.Marshal(creds.Object)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(string(data), "hunter2"); got != tt.wantSecret {
				t.Errorf("Bundle holds the Secret's data: %v, want %v", got, tt.wantSecret)
			}
			if got := len(res.OmittedObjects); got != tt.wantOmitted {
				t.Errorf("%d objects left out, want %d: %+v", got, tt.wantOmitted, res.OmittedObjects)
			}
		})
	}
}
