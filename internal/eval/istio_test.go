package eval

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIstioVersions: the wookie project knows Istio 1.22 to 1.30; before
// 1.24 the base chart's crds/ CRDs stay inline in istio-base, since 1.24
// they are templates and nothing changes; other versions are an error.
// The gateway bundles skip the chart's values schema exactly for the
// releases whose published gateway chart rejects every input (1.22 to
// 1.24, 1.25.0-1.25.4, 1.26.0-1.26.3, 1.27.0), and a cluster whose
// Kubernetes minor the release does not support is a warning.
func TestIstioVersions(t *testing.T) {
	tests := []struct {
		version, crds, wantErr string
		skipSchema             bool
		kube                   string // the cluster's image tag; default the target's
		wantWarning            string
	}{
		{version: "1.22.8", crds: "inline", skipSchema: true, wantWarning: "clusters wookie-local (Kubernetes 1.36.4): Istio 1.22.8 supports Kubernetes 1.27 to 1.30 (istio.io, supported releases): choose another projects.wookie.istio.version or cluster version"},
		{version: "1.23.6", crds: "inline", skipSchema: true, kube: "v1.30.8-k3s1"},
		{version: "1.24.2", crds: "", skipSchema: true, kube: "v1.31.4-k3s1"},
		{version: "1.24.6", crds: "", skipSchema: true, kube: "v1.32.1-k3s1", wantWarning: "Istio 1.24.6 supports Kubernetes 1.28 to 1.31"},
		{version: "1.25.4", crds: "", skipSchema: true, kube: "v1.32.1-k3s1"},
		{version: "1.25.5", crds: "", kube: "v1.32.1-k3s1"},
		{version: "1.26.3", crds: "", skipSchema: true, kube: "v1.33.1-k3s1"},
		{version: "1.26.4", crds: "", kube: "v1.33.1-k3s1"},
		{version: "1.27.0", crds: "", skipSchema: true, kube: "v1.33.1-k3s1"},
		{version: "1.27.9", crds: "", kube: "v1.29.1-k3s1"},
		{version: "1.28.10", crds: "", kube: "v1.34.1-k3s1"},
		{version: "1.29.6", crds: "", kube: "v1.35.8-k3s1"},
		{version: "1.30.3", crds: ""},
		{version: "1.30.3", crds: "", kube: "v1.37.0-k3s1", wantWarning: "clusters wookie-local (Kubernetes 1.37.0): Istio 1.30.3 supports Kubernetes 1.32 to 1.36"},
		{version: "1.21.6", wantErr: "assertion wookie-istio-version failed: projects.wookie.istio.version: 1.21.6 is not a release wookie knows (Istio 1.22 to 1.30)"},
		{version: "2.0.0", wantErr: "2.0.0 is not a release wookie knows"},
	}
	for _, tt := range tests {
		t.Run(tt.version+" "+tt.kube, func(t *testing.T) {
			config := base + `projects: wookie: istio: version: "` + tt.version + `"` + "\n"
			if tt.kube != "" {
				config += `targets: "local-k3d": image: "rancher/k3s:` + tt.kube + `"` + "\n"
			}
			res := evalConfig(t, config, tt.wantErr)
			if res == nil {
				return
			}
			var skipped []string
			for _, b := range res.Plan.Clusters[0].Batches {
				for _, u := range b.Bundles {
					if u.Chart != nil && u.Chart.Version != tt.version {
						t.Errorf("bundle %s: chart version %s", u.Name, u.Chart.Version)
					}
					if u.Chart != nil && u.Chart.SkipSchemaValidation {
						skipped = append(skipped, u.Name)
					}
					if u.Name == "istio-base" && u.CRDs != tt.crds {
						t.Errorf("istio-base crds %q, want %q", u.CRDs, tt.crds)
					}
				}
			}
			var want []string
			if tt.skipSchema {
				want = []string{"istio-ingressgateway"}
			}
			if diff := cmp.Diff(want, skipped); diff != "" {
				t.Errorf("bundles with skipSchemaValidation (-want +got):\n%s", diff)
			}
			i := slices.IndexFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "supports Kubernetes") })
			switch {
			case tt.wantWarning == "" && i >= 0:
				t.Errorf("unexpected warning %q", res.Warnings[i])
			case tt.wantWarning != "" && (i < 0 || !strings.Contains(res.Warnings[i], tt.wantWarning)):
				t.Errorf("warnings %q, want one containing %q", res.Warnings, tt.wantWarning)
			}
		})
	}
}

// TestIstioGatewaySchemaOverride: the catalog's gateway chart decides
// skipSchemaValidation over the project's default, either way.
func TestIstioGatewaySchemaOverride(t *testing.T) {
	for _, tt := range []struct {
		version string
		set     bool
	}{{"1.24.2", false}, {"1.30.3", true}} {
		config := base + `projects: wookie: istio: version: "` + tt.version + `"` + "\n" +
			"charts: istio: gateway: skipSchemaValidation: " + map[bool]string{true: "true", false: "false"}[tt.set] + "\n"
		res := evalConfig(t, config, "")
		for _, b := range res.Plan.Clusters[0].Batches {
			for _, u := range b.Bundles {
				if u.Name == "istio-ingressgateway" && u.Chart.SkipSchemaValidation != tt.set {
					t.Errorf("%s: istio-ingressgateway skipSchemaValidation %v, want %v", tt.version, u.Chart.SkipSchemaValidation, tt.set)
				}
			}
		}
	}
}

// TestIstioRemoteProfile: a primary-remote mesh needs the remote profile
// of the base and istiod charts, which Istio has since 1.24.
func TestIstioRemoteProfile(t *testing.T) {
	const mesh = `targets: "multi-k3d": {enable: true, clusters: {east: {}, west: clusterRole: "remote"}}
projects: wookie: enable: true
`
	for _, tt := range []struct{ version, wantErr string }{
		{"1.22.8", "assertion wookie-istio-remote failed: clusters west: a remote of a primary-remote mesh installs Istio's base and istiod charts with their remote profile, which Istio 1.22.8 lacks"},
		{"1.23.6", "which Istio 1.23.6 lacks"},
		{"1.24.2", ""},
		{"1.30.3", ""},
	} {
		t.Run(tt.version, func(t *testing.T) {
			evalConfig(t, mesh+`projects: wookie: istio: version: "`+tt.version+`"`+"\n", tt.wantErr)
		})
	}
}
