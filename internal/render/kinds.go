package render

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
)

// The minors of Kubernetes 1.x that the built-in API table covers.
const (
	oldestMinor = 25
	newestMinor = 37
)

// servedChange is one row of servedChanges.
type servedChange struct {
	// gv is a group/version, "v1" for the core group.
	gv string
	// kinds are the kinds of gv the row is about; none means every kind of
	// gv in client-go's scheme. Kinds named here are served even if the
	// scheme does not know them.
	kinds []string
	// from is the first minor serving them, 0 for "before the oldest
	// supported minor".
	from int
	// until is the first minor no longer serving them, 0 for "still served
	// by the newest known minor".
	until int
}

// servedChanges is how the built-in API changed between the supported
// minors. A kind of client-go's scheme that no row names is served by every
// supported minor if its version is stable (v1, v2) and by none if it is an
// alpha or a beta: since 1.24 new betas are off by default (KEP-3136), and
// the older betas still served by default are the rows below. A kind is
// named by at most one row.
//
// Sources: the Kubernetes deprecated API migration guide, the release
// notes, the list of betas enabled by default in kube-apiserver
// (legacyBetaEnabledByDefaultResources), and the prerelease-lifecycle tags
// of k8s.io/api, which kinds_test.go checks this table against.
//
// Least sure: authentication.k8s.io/v1beta1 SelfSubjectReview (1.27, 1.28)
// is taken as off by default, being a beta new after KEP-3136; and every
// row from 1.35 on rests only on the k8s.io/api v0.37 lifecycle tags
// (introduced=1.36 or 1.37 on the stable types), not on release notes.
var servedChanges = []servedChange{
	// Served by the apiextensions and aggregator servers inside
	// kube-apiserver; their types are not in client-go's scheme.
	{gv: "apiextensions.k8s.io/v1", kinds: []string{"CustomResourceDefinition"}},
	{gv: "apiregistration.k8s.io/v1", kinds: []string{"APIService"}},

	// Betas served by default, removed in the minor given by until.
	{gv: "autoscaling/v2beta2", kinds: []string{"HorizontalPodAutoscaler"}, until: 26}, // gone from the scheme
	{gv: "flowcontrol.apiserver.k8s.io/v1beta1", until: 26},
	{gv: "storage.k8s.io/v1beta1", kinds: []string{"CSIStorageCapacity"}, until: 27},
	{gv: "flowcontrol.apiserver.k8s.io/v1beta2", until: 29},
	// Added in 1.26 and on by default despite KEP-3136, as the successor of
	// betas already on.
	{gv: "flowcontrol.apiserver.k8s.io/v1beta3", from: 26, until: 32},
	// Not listed, since removed before 1.25 or never on by default:
	// batch/v1beta1, discovery.k8s.io/v1beta1, events.k8s.io/v1beta1,
	// node.k8s.io/v1beta1, policy/v1beta1 and autoscaling/v2beta1 (all
	// removed in 1.25), extensions/v1beta1, apps/v1beta1, apps/v1beta2 and
	// the v1beta1 versions of rbac, scheduling, coordination, certificates,
	// admissionregistration, authentication, authorization, networking
	// (removed by 1.22), and every later beta (admissionregistration
	// v1beta1 policies, networking v1beta1 IPAddress, resource.k8s.io,
	// storage.k8s.io v1beta1 VolumeAttributesClass, storagemigration,
	// coordination LeaseCandidate, certificates ClusterTrustBundle and
	// PodCertificateRequest, scheduling PodGroup and Workload).

	// Stable kinds added to the built-in API in the minor given by from.
	{gv: "authentication.k8s.io/v1", kinds: []string{"SelfSubjectReview"}, from: 28},
	{gv: "flowcontrol.apiserver.k8s.io/v1", from: 29},
	{gv: "admissionregistration.k8s.io/v1", kinds: []string{"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}, from: 30},
	{gv: "networking.k8s.io/v1", kinds: []string{"IPAddress", "ServiceCIDR"}, from: 33},
	{gv: "resource.k8s.io/v1", kinds: []string{"DeviceClass", "ResourceClaim", "ResourceClaimTemplate", "ResourceSlice"}, from: 34},
	{gv: "storage.k8s.io/v1", kinds: []string{"VolumeAttributesClass"}, from: 34},
	{gv: "admissionregistration.k8s.io/v1", kinds: []string{"MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding"}, from: 36},
	{gv: "certificates.k8s.io/v1", kinds: []string{"ClusterTrustBundle", "PodCertificateRequest"}, from: 37},
	{gv: "resource.k8s.io/v1", kinds: []string{"DeviceTaintRule"}, from: 37},
	{gv: "storagemigration.k8s.io/v1", from: 37},
}

// clusterScopedKinds are the built-in kinds that are not namespaced, in any
// version, served or not.
var clusterScopedKinds = map[schema.GroupKind]bool{
	{Group: "", Kind: "ComponentStatus"}:                                              true,
	{Group: "", Kind: "Namespace"}:                                                    true,
	{Group: "", Kind: "Node"}:                                                         true,
	{Group: "", Kind: "PersistentVolume"}:                                             true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingAdmissionPolicy"}:          true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingAdmissionPolicyBinding"}:   true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:     true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicy"}:        true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingAdmissionPolicyBinding"}: true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}:   true,
	{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}:                 true,
	{Group: "apiregistration.k8s.io", Kind: "APIService"}:                             true,
	{Group: "authentication.k8s.io", Kind: "SelfSubjectReview"}:                       true,
	{Group: "authentication.k8s.io", Kind: "TokenReview"}:                             true,
	{Group: "authorization.k8s.io", Kind: "SelfSubjectAccessReview"}:                  true,
	{Group: "authorization.k8s.io", Kind: "SelfSubjectRulesReview"}:                   true,
	{Group: "authorization.k8s.io", Kind: "SubjectAccessReview"}:                      true,
	{Group: "certificates.k8s.io", Kind: "CertificateSigningRequest"}:                 true,
	{Group: "certificates.k8s.io", Kind: "ClusterTrustBundle"}:                        true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "FlowSchema"}:                       true,
	{Group: "flowcontrol.apiserver.k8s.io", Kind: "PriorityLevelConfiguration"}:       true,
	{Group: "internal.apiserver.k8s.io", Kind: "StorageVersion"}:                      true,
	{Group: "networking.k8s.io", Kind: "IPAddress"}:                                   true,
	{Group: "networking.k8s.io", Kind: "IngressClass"}:                                true,
	{Group: "networking.k8s.io", Kind: "ServiceCIDR"}:                                 true,
	{Group: "node.k8s.io", Kind: "RuntimeClass"}:                                      true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}:                         true,
	{Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}:                  true,
	{Group: "resource.k8s.io", Kind: "DeviceClass"}:                                   true,
	{Group: "resource.k8s.io", Kind: "DeviceTaintRule"}:                               true,
	{Group: "resource.k8s.io", Kind: "ResourcePoolStatusRequest"}:                     true,
	{Group: "resource.k8s.io", Kind: "ResourceSlice"}:                                 true,
	{Group: "scheduling.k8s.io", Kind: "PriorityClass"}:                               true,
	{Group: "storage.k8s.io", Kind: "CSIDriver"}:                                      true,
	{Group: "storage.k8s.io", Kind: "CSINode"}:                                        true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                   true,
	{Group: "storage.k8s.io", Kind: "VolumeAttachment"}:                               true,
	{Group: "storage.k8s.io", Kind: "VolumeAttributesClass"}:                          true,
	{Group: "storagemigration.k8s.io", Kind: "StorageVersionMigration"}:               true,
}

// namespacedKinds are the built-in kinds that are namespaced, in any version,
// served or not. Together with clusterScopedKinds and notResources it names
// every kind of client-go's scheme, which kinds_test.go checks.
var namespacedKinds = map[schema.GroupKind]bool{
	{Group: "", Kind: "ConfigMap"}:                                    true,
	{Group: "", Kind: "Endpoints"}:                                    true,
	{Group: "", Kind: "Event"}:                                        true,
	{Group: "", Kind: "LimitRange"}:                                   true,
	{Group: "", Kind: "PersistentVolumeClaim"}:                        true,
	{Group: "", Kind: "Pod"}:                                          true,
	{Group: "", Kind: "PodTemplate"}:                                  true,
	{Group: "", Kind: "ReplicationController"}:                        true,
	{Group: "", Kind: "ResourceQuota"}:                                true,
	{Group: "", Kind: "Secret"}:                                       true,
	{Group: "", Kind: "Service"}:                                      true,
	{Group: "", Kind: "ServiceAccount"}:                               true,
	{Group: "apps", Kind: "ControllerRevision"}:                       true,
	{Group: "apps", Kind: "DaemonSet"}:                                true,
	{Group: "apps", Kind: "Deployment"}:                               true,
	{Group: "apps", Kind: "ReplicaSet"}:                               true,
	{Group: "apps", Kind: "StatefulSet"}:                              true,
	{Group: "authorization.k8s.io", Kind: "LocalSubjectAccessReview"}: true,
	{Group: "autoscaling", Kind: "HorizontalPodAutoscaler"}:           true,
	{Group: "batch", Kind: "CronJob"}:                                 true,
	{Group: "batch", Kind: "Job"}:                                     true,
	{Group: "certificates.k8s.io", Kind: "PodCertificateRequest"}:     true,
	{Group: "coordination.k8s.io", Kind: "Lease"}:                     true,
	{Group: "coordination.k8s.io", Kind: "LeaseCandidate"}:            true,
	{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:                true,
	{Group: "events.k8s.io", Kind: "Event"}:                           true,
	{Group: "extensions", Kind: "DaemonSet"}:                          true,
	{Group: "extensions", Kind: "Deployment"}:                         true,
	{Group: "extensions", Kind: "Ingress"}:                            true,
	{Group: "extensions", Kind: "NetworkPolicy"}:                      true,
	{Group: "extensions", Kind: "ReplicaSet"}:                         true,
	{Group: "lifecycle.k8s.io", Kind: "Eviction"}:                     true,
	{Group: "lifecycle.k8s.io", Kind: "EvictionRequest"}:              true,
	{Group: "networking.k8s.io", Kind: "Ingress"}:                     true,
	{Group: "networking.k8s.io", Kind: "NetworkPolicy"}:               true,
	{Group: "policy", Kind: "PodDisruptionBudget"}:                    true,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:                true,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}:         true,
	{Group: "resource.k8s.io", Kind: "ResourceClaim"}:                 true,
	{Group: "resource.k8s.io", Kind: "ResourceClaimTemplate"}:         true,
	{Group: "scheduling.k8s.io", Kind: "CompositePodGroup"}:           true,
	{Group: "scheduling.k8s.io", Kind: "PodGroup"}:                    true,
	{Group: "scheduling.k8s.io", Kind: "Workload"}:                    true,
	{Group: "storage.k8s.io", Kind: "CSIStorageCapacity"}:             true,
}

// notResources are the kinds of client-go's scheme that are no resource a
// chart could create: subresources, options of subresources and internal
// types. Lists and the kinds of apimachinery's meta package (WatchEvent,
// the *Options of every call, Status) are left out without being named.
var notResources = map[schema.GroupKind]bool{
	{Group: "", Kind: "Binding"}:                           true, // pods/binding
	{Group: "", Kind: "NodeProxyOptions"}:                  true,
	{Group: "", Kind: "PodAttachOptions"}:                  true,
	{Group: "", Kind: "PodExecOptions"}:                    true,
	{Group: "", Kind: "PodLogOptions"}:                     true,
	{Group: "", Kind: "PodPortForwardOptions"}:             true,
	{Group: "", Kind: "PodProxyOptions"}:                   true,
	{Group: "", Kind: "RangeAllocation"}:                   true, // kube-apiserver's own record
	{Group: "", Kind: "SerializedReference"}:               true,
	{Group: "", Kind: "ServiceProxyOptions"}:               true,
	{Group: "apps", Kind: "DeploymentRollback"}:            true,
	{Group: "apps", Kind: "Scale"}:                         true,
	{Group: "authentication.k8s.io", Kind: "TokenRequest"}: true, // serviceaccounts/token
	{Group: "autoscaling", Kind: "Scale"}:                  true,
	{Group: "extensions", Kind: "DeploymentRollback"}:      true,
	{Group: "extensions", Kind: "Scale"}:                   true,
	{Group: "policy", Kind: "Eviction"}:                    true, // pods/eviction
}

// KubeAPI describes the built-in API of one Kubernetes minor version.
type KubeAPI struct {
	served map[schema.GroupVersionKind]bool
	gvs    []string
	gvks   []string
}

// BuiltinAPI returns the built-in API of the Kubernetes version v ("1.31.4",
// "v1.31.4", "1.31.4+k3s1"; only major and minor matter). Versions older
// than 1.25 or newer than the newest minor of the built-in table are an
// error.
func BuiltinAPI(v string) (*KubeAPI, error) {
	if v == "" {
		return nil, errors.New("kubernetes version is empty")
	}
	sv, err := semver.NewVersion(v)
	if err != nil {
		return nil, fmt.Errorf("kubernetes version %q: %w", v, err)
	}
	switch {
	case sv.Major() < 1 || sv.Major() == 1 && sv.Minor() < oldestMinor:
		return nil, fmt.Errorf("kubernetes version %q: older than 1.%d, the oldest supported (1.%d to 1.%d)",
			v, oldestMinor, oldestMinor, newestMinor)
	case sv.Major() > 1 || sv.Minor() > newestMinor:
		return nil, fmt.Errorf("kubernetes version %q: newer than 1.%d, the newest in the built-in API table (1.%d to 1.%d); the table must be extended for it",
			v, newestMinor, oldestMinor, newestMinor)
	}
	return builtinAPI(int(sv.Minor()))
}

// builtinAPI returns the built-in API of Kubernetes 1.minor, applying
// servedChanges to the kinds of client-go's scheme.
func builtinAPI(minor int) (*KubeAPI, error) {
	kinds, err := builtinKinds()
	if err != nil {
		return nil, err
	}
	a := &KubeAPI{served: map[schema.GroupVersionKind]bool{}}
	gvs := map[string]bool{}
	for _, gvk := range kinds {
		served := !strings.Contains(gvk.Version, "alpha") && !strings.Contains(gvk.Version, "beta")
		if c := changeOf(gvk); c != nil {
			served = c.from <= minor && (c.until == 0 || minor < c.until)
		}
		if !served {
			continue
		}
		a.served[gvk] = true
		gv := gvk.GroupVersion().String()
		gvs[gv] = true
		a.gvks = append(a.gvks, gv+"/"+gvk.Kind)
	}
	for gv := range gvs {
		a.gvs = append(a.gvs, gv)
	}
	slices.Sort(a.gvs)
	slices.Sort(a.gvks)
	return a, nil
}

// changeOf returns the row of servedChanges naming gvk, or nil.
func changeOf(gvk schema.GroupVersionKind) *servedChange {
	gv := gvk.GroupVersion().String()
	for i, c := range servedChanges {
		if c.gv == gv && (len(c.kinds) == 0 || slices.Contains(c.kinds, gvk.Kind)) {
			return &servedChanges[i]
		}
	}
	return nil
}

// builtinKinds returns every resource kind of every version that any
// supported minor may serve: those of client-go's scheme and those named by
// servedChanges, sorted.
var builtinKinds = sync.OnceValues(func() ([]schema.GroupVersionKind, error) {
	s, err := clientgoScheme()
	if err != nil {
		return nil, err
	}
	set := map[schema.GroupVersionKind]bool{}
	for gvk, t := range s.AllKnownTypes() {
		if isResource(gvk, t) {
			set[gvk] = true
		}
	}
	for _, c := range servedChanges {
		gv, err := schema.ParseGroupVersion(c.gv)
		if err != nil {
			continue // kinds_test.go rejects such a row
		}
		for _, k := range c.kinds {
			set[gv.WithKind(k)] = true
		}
	}
	kinds := make([]schema.GroupVersionKind, 0, len(set))
	for gvk := range set {
		kinds = append(kinds, gvk)
	}
	slices.SortFunc(kinds, func(a, b schema.GroupVersionKind) int {
		return strings.Compare(a.String(), b.String())
	})
	return kinds, nil
})

// clientgoScheme returns the types of client-go's scheme, registered in a
// scheme of our own: Helm adds the types of apiextensions to client-go's
// shared scheme.Scheme, at times of its choosing.
var clientgoScheme = sync.OnceValues(func() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := scheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("client-go scheme: %w", err)
	}
	return s, nil
})

// metaPkg is the package of WatchEvent, the *Options and Status, which every
// group of the scheme registers.
var metaPkg = reflect.TypeFor[metav1.Status]().PkgPath()

// isResource reports whether gvk, of Go type t in the scheme, is a kind of
// resource: not internal, not a list, not a meta kind and not in
// notResources.
func isResource(gvk schema.GroupVersionKind, t reflect.Type) bool {
	return gvk.Version != runtime.APIVersionInternal &&
		!strings.HasSuffix(gvk.Kind, "List") &&
		t.PkgPath() != metaPkg &&
		!notResources[gvk.GroupKind()]
}

// GroupVersions returns the built-in group/versions served ("v1",
// "apps/v1", "batch/v1", ...), sorted, as Helm's APIVersions wants them.
func (a *KubeAPI) GroupVersions() []string {
	return slices.Clone(a.gvs)
}

// GroupVersionKinds returns every served kind as "group/version/Kind"
// ("apps/v1/Deployment", "v1/Pod"), sorted; Helm's APIVersions holds these
// too.
func (a *KubeAPI) GroupVersionKinds() []string {
	return slices.Clone(a.gvks)
}

// Namespaced tells whether the built-in kind of apiVersion ("apps/v1",
// "v1") is namespaced. known is false for kinds this version does not
// serve: a custom resource, a removed beta.
func (a *KubeAPI) Namespaced(apiVersion, kind string) (namespaced, known bool) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return false, false
	}
	gvk := gv.WithKind(kind)
	if !a.served[gvk] {
		return false, false
	}
	gk := gvk.GroupKind()
	return namespacedKinds[gk], namespacedKinds[gk] || clusterScopedKinds[gk]
}
