package check

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/client-go/kubernetes/scheme"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// FuzzCheckObject checks arbitrary objects. Run never panics; and for
// built-in kinds the typed walk agrees with a strict decoding of the same
// JSON into client-go's structs (sigs.k8s.io/json, as the API server
// decodes): the walk finds an unknown field or a value of the wrong type
// exactly when strict decoding fails.
func FuzzCheckObject(f *testing.F) {
	for _, seed := range []string{
		goodApp, widgetCRD, gadgetCRD,
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: "3"}}`,
		`{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 1.5, paused: 1}}`,
		`{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, resources: {limits: {cpu: "x"}}}]}}`,
		`{apiVersion: v1, kind: Secret, metadata: {name: s}, data: {a: "!!"}}`,
		`{apiVersion: v1, kind: Service, metadata: {name: s, labels: {"a/b/c": x}}, spec: {ports: [{port: 99999999999}]}}`,
		`{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {size: 11, colour: red}}`,
		`{apiVersion: example.com/v1alpha1, kind: Widget, metadata: {name: w}}`,
		`{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: rb}, roleRef: {kind: Role}}`,
	} {
		for _, d := range strings.Split(seed, "\n---\n") {
			f.Add([]byte(d))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		js, err := yaml.YAMLToJSON(data)
		if err != nil {
			return
		}
		var v any
		if err := utiljson.Unmarshal(js, &v); err != nil {
			return
		}
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		u := &unstructured.Unstructured{Object: m}
		if _, ok := m["apiVersion"].(string); !ok {
			return
		}
		if _, ok := m["kind"].(string); !ok {
			return
		}

		// Run over a cluster with the Widget CRD before the object.
		crd := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(widgetCRD), &crd.Object); err != nil {
			t.Fatal(err)
		}
		rc := render.Cluster{Name: "c1", Batches: []render.Batch{
			{Name: "crds", Bundles: []render.Bundle{{Name: "widget-crd", Namespace: "default", Objects: []*render.Object{{Unstructured: crd}}}}},
			{Name: "services", Bundles: []render.Bundle{{Name: "app", Namespace: "app", Objects: []*render.Object{{Unstructured: u, Source: "fuzz"}}}}},
		}}
		p := &plan.Plan{Clusters: []plan.Cluster{{Name: "c1", KubeVersion: "1.31.4", Batches: []plan.Batch{
			{Name: "crds", Bundles: []plan.Bundle{{Name: "widget-crd"}}},
			{Name: "services", Bundles: []plan.Bundle{{Name: "app", Checks: &plan.Checks{Skip: []plan.CheckSkip{{Rule: RuleImageTag, Reason: "fuzz"}}}}}},
		}}}}
		if _, err := Run(p, &render.Result{Clusters: []render.Cluster{rc}}, Options{}); err != nil {
			t.Fatal(err)
		}

		obj, err := scheme.Scheme.New(u.GroupVersionKind())
		if err != nil {
			return
		}
		var walked []problem
		typeProblems(m, reflect.TypeOf(obj), "", &walked)
		decodeProblem := false
		for _, p := range walked {
			if p.message != "required field is missing" && !strings.HasPrefix(p.message, "duplicate entries for key") {
				decodeProblem = true
			}
		}
		strict, err := kjson.UnmarshalStrict(js, obj)
		decodeFailed := err != nil || len(strict) > 0
		if decodeProblem != decodeFailed {
			t.Errorf("walk and strict decoding disagree on %s\nwalk: %+v\ndecode: %v %v", js, walked, err, strict)
		}
	})
}
