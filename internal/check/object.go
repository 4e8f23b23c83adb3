package check

import (
	"fmt"
	"strings"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"wookie.dev/wookie/internal/render"
)

// checkObject returns the problems of object o of rendered bundle u.
func (c *clusterCheck) checkObject(u *render.Bundle, o *render.Object) []problem {
	var out []problem
	out = append(out, metadataProblems(o)...)
	gvk := o.GroupVersionKind()
	gk := groupKind(gvk.GroupKind())
	_, builtin := c.api.Namespaced(o.GetAPIVersion(), o.GetKind())
	switch {
	case builtin && gvk.Group == apiextv1.GroupName && gvk.Kind == "CustomResourceDefinition":
		out = append(out, c.crdProblems[o]...)
	case builtin:
		out = append(out, builtinProblems(o)...)
	case c.crds.defines(gk):
		out = append(out, c.crds.problems(o)...)
		if from := c.crds.bundle(gk); from != u.Name && !c.before[u.Name][from] {
			out = append(out, problem{rule: RuleCRDOrder, message: c.crdOrderMessage(u, from, gk)})
		}
	case c.declared(u, gk):
		// Served by the cluster by declaration; nothing to validate against.
	case len(c.builtin[gk]) > 0:
		out = append(out, problem{rule: RuleKind, path: "apiVersion", message: fmt.Sprintf("Kubernetes %s does not serve %s %s; it serves %s",
			c.pc.KubeVersion, o.GetAPIVersion(), o.GetKind(), strings.Join(c.builtin[gk], ", "))})
	default:
		out = append(out, problem{rule: RuleKind, path: "apiVersion", message: fmt.Sprintf("no CRD in the Plan defines %s and Kubernetes %s does not serve it; add the bundle with its CRD, or declare it in the cluster's provides.kinds",
			gk, c.pc.KubeVersion)})
	}
	if ns := o.GetNamespace(); ns != "" && !c.namespaces[ns] {
		out = append(out, problem{rule: RuleNamespace, path: "metadata.namespace", message: fmt.Sprintf("namespace %s is created by no bundle and the cluster does not declare it in provides.namespaces", ns)})
	}
	if !u.Sensitive { // wookie deploy applies it; render and GitOps leave it out
		out = append(out, secretProblems(o)...)
	}
	out = append(out, inputProblems(o)...)
	out = append(out, imageProblems(o, builtin)...)
	out = append(out, selectorProblems(u, o)...)
	return out
}

// declared tells whether the cluster's provides.kinds or the bundle's
// resourceScopes declare gk.
func (c *clusterCheck) declared(u *render.Bundle, gk string) bool {
	if c.pc.Provides != nil && c.pc.Provides.Kinds[gk] != "" {
		return true
	}
	owner := c.owner(u)
	return owner != nil && owner.ResourceScopes[gk] != ""
}

// crdOrderMessage explains why a custom resource of bundle u comes too
// early for the CRD of gk in bundle from.
func (c *clusterCheck) crdOrderMessage(u *render.Bundle, from, gk string) string {
	here, there := c.position[u.Name], c.position[from]
	hb, tb := c.rc.Batches[here[0]].Name, c.rc.Batches[there[0]].Name
	if here[0] == there[0] {
		return fmt.Sprintf("the CRD of %s comes from bundle %s of the same batch %s, which bundle %s does not depend on: add dependsOn: [%q]", gk, from, hb, u.Name, from)
	}
	return fmt.Sprintf("the CRD of %s comes from bundle %s in batch %s, which deploys after batch %s: move the CRD to an earlier batch (crds)", gk, from, tb, hb)
}
