package render

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// lifecycleIntroduced and lifecycleRemoved are the prerelease-lifecycle
// methods of the types of k8s.io/api.
type (
	lifecycleIntroduced interface{ APILifecycleIntroduced() (major, minor int) }
	lifecycleRemoved    interface{ APILifecycleRemoved() (major, minor int) }
)

func TestBuiltinAPIServed(t *testing.T) {
	always := map[string]bool{
		"v1":                                 true,
		"apps/v1":                            true,
		"batch/v1":                           true,
		"apiextensions.k8s.io/v1":            true,
		"apiregistration.k8s.io/v1":          true,
		"autoscaling/v2":                     true,
		"policy/v1beta1":                     false, // removed in 1.25
		"batch/v1beta1":                      false, // removed in 1.25
		"autoscaling/v2beta1":                false, // removed in 1.25
		"extensions/v1beta1":                 false,
		"internal.apiserver.k8s.io/v1alpha1": false,
	}
	tests := []struct {
		version       string
		groupVersions map[string]bool
		kinds         map[string]bool
	}{{
		version: "1.25.0",
		groupVersions: map[string]bool{
			"autoscaling/v2beta2":                  true,
			"flowcontrol.apiserver.k8s.io/v1beta1": true,
			"flowcontrol.apiserver.k8s.io/v1beta2": true,
			"flowcontrol.apiserver.k8s.io/v1beta3": false,
			"flowcontrol.apiserver.k8s.io/v1":      false,
			"storage.k8s.io/v1beta1":               true,
			"discovery.k8s.io/v1beta1":             false,
			"events.k8s.io/v1beta1":                false,
			"node.k8s.io/v1beta1":                  false,
		},
		kinds: map[string]bool{
			"autoscaling/v2beta2/HorizontalPodAutoscaler":      true,
			"storage.k8s.io/v1beta1/CSIStorageCapacity":        true,
			"storage.k8s.io/v1beta1/VolumeAttributesClass":     false,
			"apiextensions.k8s.io/v1/CustomResourceDefinition": true,
			"apiregistration.k8s.io/v1/APIService":             true,
			"authentication.k8s.io/v1/SelfSubjectReview":       false,
			"v1/Pod":                 true,
			"v1/ComponentStatus":     true,
			"v1/Binding":             false,
			"v1/PodExecOptions":      false,
			"v1/WatchEvent":          false,
			"v1/Status":              false,
			"policy/v1/Eviction":     false,
			"autoscaling/v1/Scale":   false,
			"apps/v1/DeploymentList": false,
		},
	}, {
		version: "1.26.0",
		groupVersions: map[string]bool{
			"autoscaling/v2beta2":                  false,
			"flowcontrol.apiserver.k8s.io/v1beta1": false,
			"flowcontrol.apiserver.k8s.io/v1beta2": true,
			"flowcontrol.apiserver.k8s.io/v1beta3": true,
			"storage.k8s.io/v1beta1":               true,
		},
	}, {
		version: "1.28.0",
		groupVersions: map[string]bool{
			"flowcontrol.apiserver.k8s.io/v1beta2": true,
			"flowcontrol.apiserver.k8s.io/v1":      false,
			"storage.k8s.io/v1beta1":               false,
			"authentication.k8s.io/v1beta1":        false,
		},
		kinds: map[string]bool{
			"authentication.k8s.io/v1/SelfSubjectReview": true,
		},
	}, {
		version: "1.29.0",
		groupVersions: map[string]bool{
			"flowcontrol.apiserver.k8s.io/v1beta2": false,
			"flowcontrol.apiserver.k8s.io/v1beta3": true,
			"flowcontrol.apiserver.k8s.io/v1":      true,
			"admissionregistration.k8s.io/v1":      true,
		},
		kinds: map[string]bool{
			"admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration": true,
			"admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy":      false,
		},
	}, {
		version: "1.31.4",
		groupVersions: map[string]bool{
			"flowcontrol.apiserver.k8s.io/v1beta3": true,
			"admissionregistration.k8s.io/v1beta1": false,
			"networking.k8s.io/v1beta1":            false,
			"resource.k8s.io/v1":                   false,
		},
		kinds: map[string]bool{
			"admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy":        true,
			"admissionregistration.k8s.io/v1/ValidatingAdmissionPolicyBinding": true,
			"admissionregistration.k8s.io/v1/MutatingAdmissionPolicy":          false,
			"networking.k8s.io/v1/IPAddress":                                   false,
			"batch/v1beta1/CronJob":                                            false,
		},
	}, {
		version: "1.33.0",
		groupVersions: map[string]bool{
			"flowcontrol.apiserver.k8s.io/v1beta3": false,
			"resource.k8s.io/v1":                   false,
			"resource.k8s.io/v1beta2":              false,
			"coordination.k8s.io/v1beta1":          false,
		},
		kinds: map[string]bool{
			"networking.k8s.io/v1/IPAddress":          true,
			"networking.k8s.io/v1/ServiceCIDR":        true,
			"storage.k8s.io/v1/VolumeAttributesClass": false,
		},
	}, {
		version: "1.34.0",
		groupVersions: map[string]bool{
			"resource.k8s.io/v1": true,
		},
		kinds: map[string]bool{
			"resource.k8s.io/v1/ResourceClaim":        true,
			"resource.k8s.io/v1/DeviceTaintRule":      false,
			"storage.k8s.io/v1/VolumeAttributesClass": true,
		},
	}, {
		version: "1.37.0",
		groupVersions: map[string]bool{
			"storagemigration.k8s.io/v1":      true,
			"storagemigration.k8s.io/v1beta1": false,
			"scheduling.k8s.io/v1beta1":       false,
			"lifecycle.k8s.io/v1alpha1":       false,
			"resource.k8s.io/v1beta2":         false,
		},
		kinds: map[string]bool{
			"admissionregistration.k8s.io/v1/MutatingAdmissionPolicy": true,
			"certificates.k8s.io/v1/ClusterTrustBundle":               true,
			"certificates.k8s.io/v1/PodCertificateRequest":            true,
			"resource.k8s.io/v1/DeviceTaintRule":                      true,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			a, err := BuiltinAPI(tt.version)
			if err != nil {
				t.Fatal(err)
			}
			gvs, gvks := a.GroupVersions(), a.GroupVersionKinds()
			if !slices.IsSorted(gvs) || !slices.IsSorted(gvks) {
				t.Errorf("GroupVersions or GroupVersionKinds not sorted")
			}
			want := map[string]bool{}
			for gv, ok := range always {
				want[gv] = ok
			}
			for gv, ok := range tt.groupVersions {
				want[gv] = ok
			}
			got := map[string]bool{}
			for gv := range want {
				got[gv] = slices.Contains(gvs, gv)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("group/versions served (-want +got):\n%s", diff)
			}
			got = map[string]bool{}
			for gvk := range tt.kinds {
				got[gvk] = slices.Contains(gvks, gvk)
			}
			if diff := cmp.Diff(tt.kinds, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("kinds served (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNamespaced(t *testing.T) {
	type scope struct{ Namespaced, Known bool }
	var (
		ns      = scope{Namespaced: true, Known: true}
		cluster = scope{Namespaced: false, Known: true}
		unknown = scope{}
	)
	tests := []struct {
		version, apiVersion, kind string
		want                      scope
	}{
		{"1.31", "apps/v1", "Deployment", ns},
		{"1.31", "v1", "Service", ns},
		{"1.31", "v1", "ConfigMap", ns},
		{"1.31", "v1", "Secret", ns},
		{"1.31", "v1", "ServiceAccount", ns},
		{"1.31", "rbac.authorization.k8s.io/v1", "Role", ns},
		{"1.31", "rbac.authorization.k8s.io/v1", "RoleBinding", ns},
		{"1.31", "batch/v1", "Job", ns},
		{"1.31", "authorization.k8s.io/v1", "LocalSubjectAccessReview", ns},
		{"1.31", "v1", "Namespace", cluster},
		{"1.31", "rbac.authorization.k8s.io/v1", "ClusterRole", cluster},
		{"1.31", "apiextensions.k8s.io/v1", "CustomResourceDefinition", cluster},
		{"1.31", "apiregistration.k8s.io/v1", "APIService", cluster},
		{"1.31", "storage.k8s.io/v1", "StorageClass", cluster},
		{"1.31", "scheduling.k8s.io/v1", "PriorityClass", cluster},
		{"1.31", "networking.k8s.io/v1", "IngressClass", cluster},
		{"1.31", "admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", cluster},
		{"1.31", "authorization.k8s.io/v1", "SubjectAccessReview", cluster},
		{"1.25", "autoscaling/v2beta2", "HorizontalPodAutoscaler", ns},
		{"1.25", "flowcontrol.apiserver.k8s.io/v1beta1", "FlowSchema", cluster},
		{"1.31", "example.com/v1", "Widget", unknown},
		{"1.31", "cert-manager.io/v1", "Certificate", unknown},
		{"1.31", "batch/v1beta1", "CronJob", unknown},
		{"1.31", "policy/v1beta1", "PodDisruptionBudget", unknown},
		{"1.31", "networking.k8s.io/v1", "IPAddress", unknown}, // stable in 1.33
		{"1.31", "v1", "Binding", unknown},
		{"1.31", "apps", "Deployment", unknown},
		{"1.31", "a/b/c", "Deployment", unknown},
		{"1.31", "apps/v1", "deployment", unknown},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s/%s", tt.version, tt.apiVersion, tt.kind), func(t *testing.T) {
			a, err := BuiltinAPI(tt.version)
			if err != nil {
				t.Fatal(err)
			}
			var got scope
			got.Namespaced, got.Known = a.Namespaced(tt.apiVersion, tt.kind)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Namespaced(%q, %q) (-want +got):\n%s", tt.apiVersion, tt.kind, diff)
			}
		})
	}
}

func TestBuiltinAPIVersion(t *testing.T) {
	tests := []struct {
		name, version string
		wantMinor     int
		wantErr       string
	}{
		{name: "plain", version: "1.31.4", wantMinor: 31},
		{name: "v prefix", version: "v1.31.4", wantMinor: 31},
		{name: "build metadata", version: "1.31.4+k3s1", wantMinor: 31},
		{name: "major.minor", version: "1.31", wantMinor: 31},
		{name: "oldest", version: "1.25.0", wantMinor: 25},
		{name: "newest", version: "v1.37.1", wantMinor: 37},
		{
			name: "too old", version: "1.24.0",
			wantErr: `kubernetes version "1.24.0": older than 1.25, the oldest supported (1.25 to 1.37)`,
		},
		{
			name: "too new", version: "1.38.0",
			wantErr: `kubernetes version "1.38.0": newer than 1.37, the newest in the built-in API table (1.25 to 1.37); the table must be extended for it`,
		},
		{
			name: "next major", version: "2.0.0",
			wantErr: `kubernetes version "2.0.0": newer than 1.37, the newest in the built-in API table (1.25 to 1.37); the table must be extended for it`,
		},
		{name: "empty", version: "", wantErr: `kubernetes version is empty`},
		{name: "not a version", version: "abc", wantErr: `kubernetes version "abc": invalid semantic version`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := BuiltinAPI(tt.version)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, gotErr); diff != "" {
				t.Fatalf("BuiltinAPI(%q) error (-want +got):\n%s", tt.version, diff)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(mustBuiltinAPI(t, tt.wantMinor).GroupVersionKinds(), a.GroupVersionKinds()); diff != "" {
				t.Errorf("BuiltinAPI(%q) is not the API of 1.%d (-want +got):\n%s", tt.version, tt.wantMinor, diff)
			}
		})
	}
}

// TestScopeComplete fails when client-go's scheme holds a kind that none of
// namespacedKinds, clusterScopedKinds and notResources names, so that a
// client-go upgrade cannot slip a kind in unclassified, and when those sets
// name a kind twice or a kind that is gone.
func TestScopeComplete(t *testing.T) {
	sets := map[string]map[schema.GroupKind]bool{
		"namespacedKinds":    namespacedKinds,
		"clusterScopedKinds": clusterScopedKinds,
		"notResources":       notResources,
	}
	var problems []string
	seen := map[schema.GroupKind]bool{}
	known := mustScheme(t).AllKnownTypes()
	gvks := slices.SortedFunc(maps.Keys(known), func(a, b schema.GroupVersionKind) int {
		return strings.Compare(a.String(), b.String())
	})
	for _, gvk := range gvks {
		gk := gvk.GroupKind()
		if !isResource(gvk, known[gvk]) && !notResources[gk] || seen[gk] {
			continue
		}
		seen[gk] = true
		var in []string
		for name, set := range sets {
			if set[gk] {
				in = append(in, name)
			}
		}
		switch len(in) {
		case 0:
			problems = append(problems, fmt.Sprintf("%s (%s): in none of namespacedKinds, clusterScopedKinds, notResources", gk, gvk.Version))
		case 1:
		default:
			slices.Sort(in)
			problems = append(problems, fmt.Sprintf("%s: in %v", gk, in))
		}
	}
	for _, gvk := range mustKinds(t) {
		gk := gvk.GroupKind()
		seen[gk] = true
		if !namespacedKinds[gk] && !clusterScopedKinds[gk] {
			problems = append(problems, fmt.Sprintf("%s: served in some minor, but in neither namespacedKinds nor clusterScopedKinds", gk))
		}
	}
	for name, set := range sets {
		for gk := range set {
			if !seen[gk] {
				problems = append(problems, fmt.Sprintf("%s: in %s but in no version of the scheme or servedChanges", gk, name))
			}
		}
	}
	slices.Sort(problems)
	problems = slices.Compact(problems)
	if diff := cmp.Diff([]string(nil), problems); diff != "" {
		t.Errorf("kind scopes (-want +got):\n%s", diff)
	}
}

// TestServedChanges checks the rows of servedChanges against each other.
func TestServedChanges(t *testing.T) {
	var problems []string
	for _, c := range servedChanges {
		row := fmt.Sprintf("row %s %v", c.gv, c.kinds)
		if _, err := schema.ParseGroupVersion(c.gv); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", row, err))
		}
		if c.from != 0 && (c.from <= oldestMinor || c.from > newestMinor) {
			problems = append(problems, fmt.Sprintf("%s: from %d: want 0 or %d to %d", row, c.from, oldestMinor+1, newestMinor))
		}
		if c.until != 0 && (c.until <= oldestMinor || c.until > newestMinor) {
			problems = append(problems, fmt.Sprintf("%s: until %d: want 0 or %d to %d", row, c.until, oldestMinor+1, newestMinor))
		}
		if c.from != 0 && c.until != 0 && c.from >= c.until {
			problems = append(problems, fmt.Sprintf("%s: from %d not before until %d", row, c.from, c.until))
		}
	}
	rows := map[*servedChange]int{}
	for _, gvk := range mustKinds(t) {
		gv := gvk.GroupVersion().String()
		var n int
		for i, c := range servedChanges {
			if c.gv == gv && (len(c.kinds) == 0 || slices.Contains(c.kinds, gvk.Kind)) {
				rows[&servedChanges[i]]++
				n++
			}
		}
		if n > 1 {
			problems = append(problems, fmt.Sprintf("%s: named by %d rows", gvk, n))
		}
	}
	for i, c := range servedChanges {
		if rows[&servedChanges[i]] == 0 {
			problems = append(problems, fmt.Sprintf("row %s %v: names no kind", c.gv, c.kinds))
		}
	}
	if diff := cmp.Diff([]string(nil), problems); diff != "" {
		t.Errorf("servedChanges (-want +got):\n%s", diff)
	}
}

// TestServedLifecycle checks the table against the prerelease-lifecycle
// tags of k8s.io/api: a kind is not served before the minor it was
// introduced in nor from the minor it is removed in, and a kind of a stable
// version is served from the minor it was introduced in.
func TestServedLifecycle(t *testing.T) {
	var problems []string
	for minor := oldestMinor; minor <= newestMinor; minor++ {
		a := mustBuiltinAPI(t, minor)
		for _, gvk := range mustKinds(t) {
			obj, err := mustScheme(t).New(gvk)
			if err != nil {
				continue // a kind the scheme does not know, named by servedChanges
			}
			served := a.served[gvk]
			if l, ok := obj.(lifecycleIntroduced); ok {
				_, introduced := l.APILifecycleIntroduced()
				if served && minor < introduced {
					problems = append(problems, fmt.Sprintf("1.%d: %s served, but introduced in 1.%d", minor, gvk, introduced))
				}
				if _, beta := obj.(lifecycleRemoved); !beta && !served && minor >= introduced {
					problems = append(problems, fmt.Sprintf("1.%d: stable %s not served, but introduced in 1.%d", minor, gvk, introduced))
				}
			}
			if l, ok := obj.(lifecycleRemoved); ok {
				if _, removed := l.APILifecycleRemoved(); served && minor >= removed {
					problems = append(problems, fmt.Sprintf("1.%d: %s served, but removed in 1.%d", minor, gvk, removed))
				}
			}
		}
	}
	if diff := cmp.Diff([]string(nil), problems); diff != "" {
		t.Errorf("served kinds against k8s.io/api lifecycle (-want +got):\n%s", diff)
	}
}

// TestNewestMinor fails when client-go's scheme knows a kind introduced
// after newestMinor: the table must then be extended for the new minors.
func TestNewestMinor(t *testing.T) {
	var newer []string
	s := mustScheme(t)
	for gvk := range s.AllKnownTypes() {
		obj, err := s.New(gvk)
		if err != nil {
			continue
		}
		if l, ok := obj.(lifecycleIntroduced); ok {
			if _, minor := l.APILifecycleIntroduced(); minor > newestMinor {
				newer = append(newer, fmt.Sprintf("%s introduced in 1.%d", gvk, minor))
			}
		}
	}
	slices.Sort(newer)
	if diff := cmp.Diff([]string(nil), newer); diff != "" {
		t.Errorf("kinds newer than 1.%d, the newest minor of servedChanges (-want +got):\n%s", newestMinor, diff)
	}
}

func mustScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	s, err := clientgoScheme()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustKinds(t *testing.T) []schema.GroupVersionKind {
	t.Helper()
	kinds, err := builtinKinds()
	if err != nil {
		t.Fatal(err)
	}
	return kinds
}

func mustBuiltinAPI(t *testing.T, minor int) *KubeAPI {
	t.Helper()
	a, err := builtinAPI(minor)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
