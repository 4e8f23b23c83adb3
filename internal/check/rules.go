package check

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// secretProblems finds a PEM private key in any string of an object (an
// error: the rendered output is what GitOps formats put into Git), and a
// Secret with data or stringData (a warning: render and the GitOps formats
// leave it out, so a GitOps engine would lack it). A Secret without data
// (a service-account token Secret the cluster fills in) holds nothing yet.
func secretProblems(o *render.Object) []problem {
	if render.IsSecretWithData(o.Unstructured) {
		return []problem{{rule: RuleSecret, severity: Warning, message: secretMessage(o.Source)}}
	}
	var out []problem
	walkStrings(o.Object, func(_, s string, path func() string) {
		if render.IsPrivateKeyPEM(s) {
			out = append(out, problem{rule: RuleSecret, path: path(), message: "holds a PEM private key, which would end up in Git with every GitOps format"})
		}
	})
	return out
}

// secretMessage says where a Secret with data came from (source, a chart
// template or manifests[i]), what the outputs do with it and what to do.
func secretMessage(source string) string {
	const left = "wookie render and every GitOps format leave it out (wookie deploy applies it), so a GitOps engine would lack it"
	if strings.HasPrefix(source, "manifests[") || source == "" {
		return fmt.Sprintf("a Secret with data (%s): %s: create it outside the Plan (External Secrets, Sealed Secrets, SOPS), mark the bundle sensitive: true, or skip rule secret with the reason", cmp.Or(source, "manifests"), left)
	}
	return fmt.Sprintf("a Secret with data, made by the chart (%s): %s: give the chart an existing Secret (its values name one) or have an operator make it, mark the bundle sensitive: true, or skip rule secret with the reason", source, left)
}

// inputProblems finds deploy-time input references left in any string of
// an object: a GitOps engine would apply them as written.
func inputProblems(o *render.Object) []problem {
	var out []problem
	walkStrings(o.Object, func(_, s string, path func() string) {
		if names := plan.InputRefNames(s); len(names) > 0 {
			out = append(out, problem{rule: RuleInput, path: path(), message: fmt.Sprintf("holds the deploy-time input reference %s, which only wookie deploy fills in: a GitOps engine would apply it as written (wookie render and check leave such objects out)", plan.InputRef(names[0]))})
		}
	})
	return out
}

// walkStrings calls fn with every string in v, the map key that holds it
// ("" for a list item or v itself) and a function that spells its field
// path (a.b[0].c), in no particular order (Run sorts findings). The path
// is built only when fn asks: most strings have no finding, and the CRDs
// of a chart hold tens of thousands of them.
func walkStrings(v any, fn func(key, s string, path func() string)) {
	type step struct {
		key   string
		index int // with list: the item's index
		list  bool
	}
	var steps []step
	path := func() string {
		p := ""
		for _, st := range steps {
			if st.list {
				p += "[" + strconv.Itoa(st.index) + "]"
			} else {
				p = joinPath(p, st.key)
			}
		}
		return p
	}
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case string:
			fn(key, v, path)
		case map[string]any:
			for k, e := range v {
				steps = append(steps, step{key: k})
				walk(e, k)
				steps = steps[:len(steps)-1]
			}
		case []any:
			for i, e := range v {
				steps = append(steps, step{index: i, list: true})
				walk(e, "")
				steps = steps[:len(steps)-1]
			}
		}
	}
	walk(v, "")
}

// podSpecPaths are where the built-in workload kinds keep their pod spec.
var podSpecPaths = map[string][]string{
	"Pod":                   {"spec"},
	"PodTemplate":           {"template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"Deployment.apps":       {"spec", "template", "spec"},
	"StatefulSet.apps":      {"spec", "template", "spec"},
	"DaemonSet.apps":        {"spec", "template", "spec"},
	"ReplicaSet.apps":       {"spec", "template", "spec"},
	"Job.batch":             {"spec", "template", "spec"},
	"CronJob.batch":         {"spec", "jobTemplate", "spec", "template", "spec"},
}

// imageProblems finds images without a tag or tagged latest: in the pod
// spec of a built-in workload, or in any string field named image of a
// custom resource (operators' resources name their images so).
func imageProblems(o *render.Object, builtin bool) []problem {
	var out []problem
	check := func(path, image string) {
		if msg := imageTagProblem(image); msg != "" {
			out = append(out, problem{rule: RuleImageTag, path: path, message: msg})
		}
	}
	if !builtin {
		walkStrings(o.Object, func(key, s string, path func() string) {
			if key == "image" {
				check(path(), s)
			}
		})
		return out
	}
	specPath, ok := podSpecPaths[groupKind(o.GroupVersionKind().GroupKind())]
	if !ok {
		return nil
	}
	for _, list := range []string{"initContainers", "containers", "ephemeralContainers"} {
		containers, _, _ := unstructured.NestedSlice(o.Object, append(slices.Clone(specPath), list)...)
		for i, c := range containers {
			m, ok := c.(map[string]any)
			if !ok {
				continue
			}
			if image, ok := m["image"].(string); ok {
				check(fmt.Sprintf("%s.%s[%d].image", strings.Join(specPath, "."), list, i), image)
			}
		}
	}
	return out
}

// imageTagProblem says what is wrong with an image reference's pin, or "".
func imageTagProblem(image string) string {
	if image == "" || strings.Contains(image, "@") {
		return "" // a digest pins it
	}
	name := image[strings.LastIndex(image, "/")+1:]
	tag := ""
	if i := strings.LastIndex(name, ":"); i >= 0 {
		tag = name[i+1:]
	}
	switch tag {
	case "":
		return fmt.Sprintf("image %s has no tag, so it runs whatever latest is when the pod starts: pin a version tag or a digest", image)
	case "latest":
		return fmt.Sprintf("image %s is tagged latest, so it changes under the deployment: pin a version tag or a digest", image)
	}
	return ""
}

// selectorProblems warns about a Service whose selector matches no pod
// template of its bundle in its namespace.
func selectorProblems(u *render.Bundle, o *render.Object) []problem {
	gvk := o.GroupVersionKind()
	if gvk.Group != "" || gvk.Kind != "Service" {
		return nil
	}
	if t, _, _ := unstructured.NestedString(o.Object, "spec", "type"); t == "ExternalName" {
		return nil
	}
	selector, _, _ := unstructured.NestedStringMap(o.Object, "spec", "selector")
	if len(selector) == 0 {
		return nil // endpoints managed by hand or by a controller
	}
	for _, w := range u.Objects {
		if w.GetNamespace() != o.GetNamespace() {
			continue
		}
		labels, ok := podLabels(w)
		if !ok {
			continue
		}
		if matches(selector, labels) {
			return nil
		}
	}
	var pairs []string
	for _, k := range slices.Sorted(maps.Keys(selector)) {
		pairs = append(pairs, k+"="+selector[k])
	}
	return []problem{{rule: RuleServiceSelector, path: "spec.selector", message: fmt.Sprintf("selects no pod template of bundle %s (%s): the Service has no endpoints unless pods from elsewhere carry these labels", u.Name, strings.Join(pairs, ","))}}
}

// podLabels returns the labels of the pods a workload object makes.
func podLabels(o *render.Object) (map[string]string, bool) {
	gk := groupKind(o.GroupVersionKind().GroupKind())
	specPath, ok := podSpecPaths[gk]
	if !ok {
		return nil, false
	}
	if gk == "Pod" {
		return o.GetLabels(), true
	}
	at := append(slices.Clone(specPath[:len(specPath)-1]), "metadata", "labels")
	labels, _, _ := unstructured.NestedStringMap(o.Object, at...)
	return labels, true
}

// matches tells whether labels carry every pair of selector.
func matches(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
