package check

import (
	"fmt"
	"slices"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"wookie.dev/wookie/internal/render"
)

// metadataProblems checks name, namespace, labels and annotations as the
// API server does.
func metadataProblems(o *render.Object) []problem {
	var out []problem
	add := func(path, value string, msgs []string) {
		for _, m := range msgs {
			out = append(out, problem{rule: RuleMetadata, path: path, message: fmt.Sprintf("%q: %s", value, m)})
		}
	}
	name := o.GetName()
	add("metadata.name", name, nameProblems(o.GroupVersionKind().Group, o.GetKind(), name))
	if ns := o.GetNamespace(); ns != "" {
		add("metadata.namespace", ns, validation.IsDNS1123Label(ns))
	}
	fields := metav1validation.ValidateLabels(o.GetLabels(), field.NewPath("metadata", "labels"))
	fields = append(fields, apivalidation.ValidateAnnotations(o.GetAnnotations(), field.NewPath("metadata", "annotations"))...)
	out = append(out, fieldProblems(RuleMetadata, fields)...)
	return out
}

// nameProblems checks an object's name by the rule of its kind.
func nameProblems(group, kind, name string) []string {
	switch {
	case group == "" && kind == "Namespace":
		return validation.IsDNS1123Label(name)
	case group == "" && kind == "Service":
		return validation.IsDNS1035Label(name)
	case group == "rbac.authorization.k8s.io":
		// Roles and bindings may be named system:something.
		return path.IsValidPathSegmentName(name)
	}
	return validation.IsDNS1123Subdomain(name)
}

// fieldProblems turns API validation errors into problems of rule, in a
// stable order.
func fieldProblems(rule string, errs field.ErrorList) []problem {
	var out []problem
	for _, e := range errs {
		out = append(out, problem{rule: rule, path: e.Field, message: e.ErrorBody()})
	}
	slices.SortStableFunc(out, func(a, b problem) int {
		if a.path != b.path {
			if a.path < b.path {
				return -1
			}
			return 1
		}
		return 0
	})
	return out
}
