package emit

import "testing"

// TestFleetBundleName checks FleetBundleName against names Fleet v0.12.0's
// own function (internal/names.HelmReleaseName) gives for the same inputs,
// the first one the example of Fleet's documentation.
func TestFleetBundleName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"stack/crds/istio", "stack-crds-istio"},
		{"wookie/wookie-local/crds/istio-base", "wookie-wookie-local-crds-istio-base"},
		{"wookie/clusters/east/operators/operator", "wookie-clusters-east-operators-operator"},
		{"My_Repo/Some Path/x", "my-repo-some-path-x-e177b65f"},
		{"wookie/wookie-local/services/istio-ingressgateway", "wookie-wookie-local-services-istio-ingressgateway"},
		{"wookie/deploy/production-eu-west-1/operators/percona-xtradb-cluster-operator", "wookie-deploy-production-eu-west-1-operators-pe-9f6f3"},
		{"a/b--c/", "a-b-c"},
		{"UPPER", "upper-9e43f529"},
		{"wookie/a-very-long-cluster-name-for-testing/batch/bundle-name-x", "wookie-a-very-long-cluster-name-for-testing-bat-1340a"},
		{"___", "948a13f1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := FleetBundleName(tt.in); got != tt.want {
				t.Errorf("FleetBundleName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
