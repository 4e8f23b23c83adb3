package eval

import (
	"testing"
)

// TestIstioVersions: the wookie project knows Istio 1.22 to 1.30; before
// 1.24 the base chart's crds/ CRDs stay inline in istio-base, since 1.24
// they are templates and nothing changes; other versions are an error.
func TestIstioVersions(t *testing.T) {
	tests := []struct {
		version, crds, wantErr string
	}{
		{version: "1.22.8", crds: "inline"},
		{version: "1.23.6", crds: "inline"},
		{version: "1.24.2", crds: ""},
		{version: "1.30.3", crds: ""},
		{version: "1.21.6", wantErr: "assertion wookie-istio-version failed: projects.wookie.istio.version: 1.21.6 is not a release wookie knows (Istio 1.22 to 1.30)"},
		{version: "2.0.0", wantErr: "2.0.0 is not a release wookie knows"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			res := evalConfig(t, base+`projects: wookie: istio: version: "`+tt.version+`"`+"\n", tt.wantErr)
			if res == nil {
				return
			}
			for _, b := range res.Plan.Clusters[0].Batches {
				for _, u := range b.Bundles {
					if u.Chart != nil && u.Chart.Version != tt.version {
						t.Errorf("bundle %s: chart version %s", u.Name, u.Chart.Version)
					}
					if u.Name == "istio-base" && u.CRDs != tt.crds {
						t.Errorf("istio-base crds %q, want %q", u.CRDs, tt.crds)
					}
				}
			}
		})
	}
}
