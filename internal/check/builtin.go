package check

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"wookie.dev/wookie/internal/render"
)

// builtinProblems checks an object of a kind built into Kubernetes, but
// for CRDs (crdObjectProblems).
func builtinProblems(o *render.Object) []problem {
	obj, err := scheme.Scheme.New(o.GroupVersionKind())
	if err != nil {
		return nil // served by kube-apiserver, not in client-go (APIService)
	}
	var out []problem
	typeProblems(o.Object, reflect.TypeOf(obj), "", &out)
	return out
}

// crdObjectProblems checks a CustomResourceDefinition: its fields, as a
// strict decoder reads them, then the rules the API server applies (a
// structural schema, name = plural.group, served and storage versions).
func crdObjectProblems(o *render.Object) []problem {
	if problems := crdDecodeProblems(o); len(problems) > 0 {
		return problems
	}
	crd := &apiextv1.CustomResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, crd); err != nil {
		return []problem{{rule: RuleSchema, message: oneLine(err.Error())}}
	}
	apiextv1.SetObjectDefaults_CustomResourceDefinition(crd)
	var internal apiextensions.CustomResourceDefinition
	if err := apiextv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, &internal, nil); err != nil {
		return []problem{{rule: RuleSchema, message: oneLine(err.Error())}}
	}
	return fieldProblems(RuleSchema, crdvalidation.ValidateCustomResourceDefinition(context.Background(), &internal))
}

// crdDecodeProblems returns the fields of a CRD a strict decoder rejects:
// unknown ones and values of the wrong type. (Missing fields are left to
// the API server's own CRD validation.)
func crdDecodeProblems(o *render.Object) []problem {
	var all, out []problem
	typeProblems(o.Object, reflect.TypeFor[apiextv1.CustomResourceDefinition](), "", &all)
	for _, p := range all {
		if p.message != "required field is missing" {
			out = append(out, p)
		}
	}
	return out
}

// decodeCRD decodes a CRD strictly: an unknown field or a value of the
// wrong type is an error.
func decodeCRD(o *render.Object) (*apiextv1.CustomResourceDefinition, error) {
	if problems := crdDecodeProblems(o); len(problems) > 0 {
		return nil, fmt.Errorf("%s: %s", problems[0].path, problems[0].message)
	}
	crd := &apiextv1.CustomResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, crd); err != nil {
		return nil, fmt.Errorf("%s", oneLine(err.Error()))
	}
	return crd, nil
}

// oneLine joins the lines of a message.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
