package render

import (
	"maps"
	"slices"

	"helm.sh/helm/v4/pkg/chart/common"
)

// versionSet is a cluster's API versions as Helm's Capabilities.APIVersions
// holds them: "group/version" and "group/version/Kind".
type versionSet struct {
	set map[string]bool
}

// newVersionSet starts from the built-in API of a Kubernetes version.
func newVersionSet(api *KubeAPI) *versionSet {
	v := &versionSet{set: map[string]bool{}}
	for _, gv := range api.GroupVersions() {
		v.set[gv] = true
	}
	for _, gvk := range api.GroupVersionKinds() {
		v.set[gvk] = true
	}
	return v
}

func (v *versionSet) clone() *versionSet {
	return &versionSet{set: maps.Clone(v.set)}
}

// addCRDs adds the served versions of every CustomResourceDefinition among
// objs.
func (v *versionSet) addCRDs(objs []*Object) {
	for _, o := range objs {
		for _, gvk := range crdVersions(o) {
			v.set[gvk[0]] = true
			v.set[gvk[0]+"/"+gvk[1]] = true
		}
	}
}

// list returns the set, sorted.
func (v *versionSet) list() common.VersionSet {
	return slices.Sorted(maps.Keys(v.set))
}

// isCRD reports whether o is a CustomResourceDefinition.
func isCRD(o *Object) bool {
	return o.GetKind() == "CustomResourceDefinition" && o.GroupVersionKind().Group == "apiextensions.k8s.io"
}

// crdVersions returns the ["group/version", "Kind"] pairs a CRD serves.
func crdVersions(o *Object) [][2]string {
	if !isCRD(o) {
		return nil
	}
	group, _, _ := unstructuredString(o, "spec", "group")
	kind, _, _ := unstructuredString(o, "spec", "names", "kind")
	if group == "" || kind == "" {
		return nil
	}
	var out [][2]string
	versions, _ := o.Object["spec"].(map[string]any)["versions"].([]any)
	for _, raw := range versions {
		ver, ok := raw.(map[string]any)
		if !ok {
			continue
		}
		name, _ := ver["name"].(string)
		if served, ok := ver["served"].(bool); name == "" || ok && !served {
			continue
		}
		out = append(out, [2]string{group + "/" + name, kind})
	}
	// apiextensions v1beta1 CRDs name one version at the top.
	if len(out) == 0 {
		if ver, _, _ := unstructuredString(o, "spec", "version"); ver != "" {
			out = append(out, [2]string{group + "/" + ver, kind})
		}
	}
	return out
}

// crdScope returns the group kind a CRD defines and whether its resources
// are namespaced.
func crdScope(o *Object) (groupKind string, namespaced bool, ok bool) {
	if !isCRD(o) {
		return "", false, false
	}
	group, _, _ := unstructuredString(o, "spec", "group")
	kind, _, _ := unstructuredString(o, "spec", "names", "kind")
	scope, _, _ := unstructuredString(o, "spec", "scope")
	if group == "" || kind == "" {
		return "", false, false
	}
	return kind + "." + group, scope != "Cluster", true
}
