package check

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	celconfig "k8s.io/apiserver/pkg/apis/cel"

	"wookie.dev/wookie/internal/render"
)

// crdIndex holds the CRDs of a rendered cluster by the Kind.group they
// define. Validators are built on first use: most CRDs of a Plan (Istio's
// dozens) have no custom resource in it.
type crdIndex struct {
	byKind map[string]*crdEntry
}

// crdEntry is one CRD of the Plan.
type crdEntry struct {
	bundle string
	object *render.Object
	crd    *apiextv1.CustomResourceDefinition
	// err is why the CRD cannot be used; its own check reports it.
	err      error
	versions map[string]*versionSchema
}

// versionSchema validates custom resources of one version of a CRD.
type versionSchema struct {
	structural *structuralschema.Structural
	validator  validation.SchemaCreateValidator
	cel        *cel.Validator
	// err is why the schema cannot be used.
	err error
}

func newCRDIndex(rc *render.Cluster) *crdIndex {
	x := &crdIndex{byKind: map[string]*crdEntry{}}
	for _, b := range rc.Batches {
		for _, u := range b.Bundles {
			for _, o := range u.Objects {
				gvk := o.GroupVersionKind()
				if gvk.Group != apiextv1.GroupName || gvk.Kind != "CustomResourceDefinition" {
					continue
				}
				group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
				kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
				if group == "" || kind == "" {
					continue // the CRD's own check reports it
				}
				key := kind + "." + group
				if _, dup := x.byKind[key]; !dup {
					x.byKind[key] = &crdEntry{bundle: u.Name, object: o}
				}
			}
		}
	}
	return x
}

// defines tells whether a CRD of the Plan defines gk.
func (x *crdIndex) defines(gk string) bool { return x.byKind[gk] != nil }

// bundle names the bundle holding the CRD of gk.
func (x *crdIndex) bundle(gk string) string { return x.byKind[gk].bundle }

// problems validates a custom resource against the schema of its CRD's
// version: unknown fields (which the API server prunes, or rejects with
// field validation Strict, kubectl's default), the OpenAPI schema, list
// types and CEL rules, after the schema's defaults are applied, as the
// API server does.
func (x *crdIndex) problems(o *render.Object) []problem {
	gvk := o.GroupVersionKind()
	e := x.byKind[groupKind(gvk.GroupKind())]
	if e.crd == nil && e.err == nil {
		e.crd, e.err = decodeCRD(e.object)
		if e.err == nil {
			apiextv1.SetObjectDefaults_CustomResourceDefinition(e.crd)
			e.versions = map[string]*versionSchema{}
		}
	}
	if e.err != nil {
		return []problem{{rule: RuleSchema, message: fmt.Sprintf("cannot be validated: its CRD %s (bundle %s) is invalid", e.object.GetName(), e.bundle)}}
	}
	vs, ok := e.versions[gvk.Version]
	if !ok {
		vs = newVersionSchema(e.crd, gvk.Version)
		e.versions[gvk.Version] = vs
	}
	switch {
	case vs == nil:
		var names []string
		for _, v := range e.crd.Spec.Versions {
			if v.Served {
				names = append(names, v.Name)
			}
		}
		return []problem{{rule: RuleKind, path: "apiVersion", message: fmt.Sprintf("CRD %s (bundle %s) does not serve version %s; it serves %s", e.crd.Name, e.bundle, gvk.Version, strings.Join(names, ", "))}}
	case vs.err != nil:
		return []problem{{rule: RuleSchema, message: fmt.Sprintf("cannot be validated: the schema of version %s of CRD %s (bundle %s): %v", gvk.Version, e.crd.Name, e.bundle, vs.err)}}
	case vs.structural == nil:
		return nil // no schema: anything goes
	}

	obj := runtime.DeepCopyJSON(o.Object)
	structuraldefaulting.Default(obj, vs.structural)
	var out []problem
	unknown := pruning.PruneWithOptions(obj, vs.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	slices.Sort(unknown)
	for _, p := range unknown {
		out = append(out, problem{rule: RuleSchema, path: p, message: "field not declared in the CRD's schema"})
	}
	errs := validation.ValidateCustomResource(nil, obj, vs.validator)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, vs.structural, obj)...)
	if vs.cel != nil && !blocking(errs) {
		celErrs, _ := vs.cel.Validate(context.Background(), nil, vs.structural, obj, nil, celconfig.RuntimeCELCostBudget)
		errs = append(errs, celErrs...)
	}
	return append(out, fieldProblems(RuleSchema, errs)...)
}

// newVersionSchema builds the validators of one version of crd; nil when
// the CRD does not serve it.
func newVersionSchema(crd *apiextv1.CustomResourceDefinition, version string) *versionSchema {
	i := slices.IndexFunc(crd.Spec.Versions, func(v apiextv1.CustomResourceDefinitionVersion) bool { return v.Name == version })
	if i < 0 || !crd.Spec.Versions[i].Served {
		return nil
	}
	v := crd.Spec.Versions[i]
	vs := &versionSchema{}
	if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
		return vs
	}
	var internal apiextensions.JSONSchemaProps
	if err := apiextv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
		vs.err = err
		return vs
	}
	s, err := structuralschema.NewStructural(&internal)
	if err != nil {
		vs.err = fmt.Errorf("not a structural schema: %w", err)
		return vs
	}
	validator, _, err := validation.NewSchemaValidator(&internal)
	if err != nil {
		vs.err = err
		return vs
	}
	vs.structural, vs.validator = s, validator
	vs.cel = cel.NewValidator(s, true, celconfig.PerCallLimit)
	return vs
}

// blocking tells whether errs keep the API server from evaluating a CRD's
// CEL rules, which assume a value of the right shape.
func blocking(errs field.ErrorList) bool {
	for _, e := range errs {
		switch e.Type {
		case field.ErrorTypeNotSupported, field.ErrorTypeRequired, field.ErrorTypeTooLong, field.ErrorTypeTooMany, field.ErrorTypeTypeInvalid:
			return true
		}
	}
	return false
}
