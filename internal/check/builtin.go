package check

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/client-go/applyconfigurations"
	"k8s.io/client-go/kubernetes/scheme"
	utiljson "sigs.k8s.io/json"
	"sigs.k8s.io/structured-merge-diff/v6/typed"

	"wookie.dev/wookie/internal/render"
)

// typeConverter checks objects against the schema of the built-in types
// that server-side apply uses; it is built once, on first use.
var typeConverter = sync.OnceValue(func() managedfields.TypeConverter {
	return applyconfigurations.NewTypeConverter(scheme.Scheme)
})

// builtinProblems checks an object of a kind built into Kubernetes.
func builtinProblems(o *render.Object) []problem {
	gvk := o.GroupVersionKind()
	if gvk.Group == apiextv1.GroupName && gvk.Kind == "CustomResourceDefinition" {
		return crdObjectProblems(o)
	}
	obj, err := scheme.Scheme.New(gvk)
	if err != nil {
		return nil // served by kube-apiserver, not in client-go (APIService)
	}
	var out []problem
	if _, err := typeConverter().ObjectToTyped(o.Unstructured); err != nil {
		var ves typed.ValidationErrors
		if !errors.As(err, &ves) {
			return []problem{{rule: RuleSchema, message: oneLine(err.Error())}}
		}
		for _, ve := range ves {
			msg := ve.ErrorMessage
			if strings.HasPrefix(msg, "duplicate entries for key") {
				msg += ": server-side apply rejects the object"
			}
			out = append(out, problem{rule: RuleSchema, path: strings.TrimPrefix(ve.Path, "."), message: msg})
		}
		return out
	}
	t := reflect.TypeOf(obj).Elem()
	for _, f := range fieldsOf(t) {
		if f.name == "status" {
			continue // written by controllers, not by charts
		}
		v, ok := o.Object[f.name]
		if !ok || v == nil {
			if f.required {
				out = append(out, problem{rule: RuleSchema, path: f.name, message: "required field is missing"})
			}
			continue
		}
		typeProblems(v, f.typ, f.name, &out)
	}
	return out
}

// crdObjectProblems checks a CustomResourceDefinition: its fields, decoded
// strictly, then the rules the API server applies (a structural schema,
// name = plural.group, served and storage versions).
func crdObjectProblems(o *render.Object) []problem {
	crd, err := decodeCRD(o)
	if err != nil {
		return []problem{{rule: RuleSchema, message: err.Error()}}
	}
	apiextv1.SetObjectDefaults_CustomResourceDefinition(crd)
	var internal apiextensions.CustomResourceDefinition
	if err := apiextv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(crd, &internal, nil); err != nil {
		return []problem{{rule: RuleSchema, message: oneLine(err.Error())}}
	}
	return fieldProblems(RuleSchema, crdvalidation.ValidateCustomResourceDefinition(context.Background(), &internal))
}

// decodeCRD decodes a CRD strictly: an unknown field is an error.
func decodeCRD(o *render.Object) (*apiextv1.CustomResourceDefinition, error) {
	js, err := o.MarshalJSON()
	if err != nil {
		return nil, err
	}
	crd := &apiextv1.CustomResourceDefinition{}
	strict, err := utiljson.UnmarshalStrict(js, crd)
	if err != nil {
		return nil, fmt.Errorf("%s", oneLine(err.Error()))
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return crd, nil
}

// oneLine joins the lines of a message.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
