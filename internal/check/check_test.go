package check

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// obj parses one YAML object for a test.
func obj(t *testing.T, doc string) plan.Object {
	t.Helper()
	var m plan.Object
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const widgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, listKind: WidgetList, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            x-kubernetes-validations:
            - rule: "self.size <= self.max"
              message: size must not exceed max
            properties:
              size: {type: integer, minimum: 1}
              max: {type: integer, default: 10}
              color: {type: string, enum: [red, blue]}
  - name: v1alpha1
    served: false
    storage: false
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

const gadgetCRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gadgets.example.com}
spec:
  group: example.com
  names: {kind: Gadget, plural: gadgets}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`

// goodApp is a bundle's worth of objects that pass every rule.
const goodApp = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: registry.example/web:1.2.3
        env: [{name: A, value: "1"}]
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
spec: {size: 3, color: red}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:web-reader"}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
`

// fixture is a Plan with a CRD in the crds batch, the app namespace, a
// second CRD in the services batch and the bundle app (namespace app) in
// the batch given, holding objs.
func fixture(t *testing.T, appBatch string, objs []plan.Object, skips ...plan.CheckSkip) *plan.Plan {
	t.Helper()
	app := plan.Bundle{Name: "app", Namespace: "app", Manifests: objs}
	if len(skips) > 0 {
		app.Checks = &plan.Checks{Skip: skips}
	}
	batches := []plan.Batch{
		{Name: "crds", Priority: 100, Bundles: []plan.Bundle{{Name: "widget-crd", Namespace: "default", Manifests: []plan.Object{obj(t, widgetCRD)}}}},
		{Name: "namespaces", Priority: 200, Bundles: []plan.Bundle{{Name: "namespaces", Namespace: "default", Manifests: []plan.Object{obj(t, "{apiVersion: v1, kind: Namespace, metadata: {name: app}}")}}}},
		{Name: "services", Priority: 600, Bundles: []plan.Bundle{{Name: "gadget-crd", Namespace: "app", Manifests: []plan.Object{obj(t, gadgetCRD)}}}},
	}
	for i := range batches {
		if batches[i].Name == appBatch {
			batches[i].Bundles = append(batches[i].Bundles, app)
		}
	}
	p := &plan.Plan{APIVersion: plan.APIVersion, Kind: plan.Kind, Clusters: []plan.Cluster{{
		Name: "c1", Target: "test", Context: "c1", KubeVersion: "1.31.4", Batches: batches,
		Provides: &plan.Provides{Namespaces: []string{"monitoring"}, Kinds: map[string]string{"HelmChart.helm.cattle.io": "Namespaced"}},
	}}}
	if err := plan.Normalize(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkPlan renders p and checks it, Secrets included, as wookie check
// does.
func checkPlan(t *testing.T, p *plan.Plan) *Report {
	t.Helper()
	res, err := render.Render(context.Background(), p, render.Options{AllowUnknownKinds: true, IncludeSecrets: true})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(p, res, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// docs splits a YAML stream into objects.
func docs(t *testing.T, stream string) []plan.Object {
	t.Helper()
	var out []plan.Object
	for _, d := range strings.Split(stream, "\n---\n") {
		if strings.TrimSpace(d) != "" {
			out = append(out, obj(t, d))
		}
	}
	return out
}

// TestCleanPlan: the fixture with good objects has no finding.
func TestCleanPlan(t *testing.T) {
	r := checkPlan(t, fixture(t, "services", docs(t, goodApp)))
	if len(r.Findings) != 0 || r.Failed(true) {
		t.Errorf("findings: %+v", r.Findings)
	}
}

// short is the part of a finding a table compares.
type short struct {
	Object, Rule, Path string
	Severity           Severity
}

// TestBrokenObjects: each broken object gives exactly its finding.
func TestBrokenObjects(t *testing.T) {
	tests := []struct {
		name  string
		batch string // of bundle app; default services
		doc   string
		want  []short
		// message is a part of the (first) finding's message.
		message string
	}{{
		name: "misspelled field",
		doc: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replica: 2, selector: {matchLabels: {a: b}},
			template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: "x:1"}]}}}}`,
		want:    []short{{"Deployment.apps app/d", "schema", "spec.replica", Error}},
		message: "field not declared in schema",
	}, {
		name: "misspelled field in a list item",
		doc: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {selector: {matchLabels: {a: b}},
			template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: "x:1", imagePullPolicyy: Always}]}}}}`,
		want:    []short{{"Deployment.apps app/d", "schema", "spec.template.spec.containers[0].imagePullPolicyy", Error}},
		message: "field not declared in schema",
	}, {
		name: "wrong type",
		doc: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: "3", selector: {matchLabels: {a: b}},
			template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: "x:1"}]}}}}`,
		want:    []short{{"Deployment.apps app/d", "schema", "spec.replicas", Error}},
		message: "expected integer, got string",
	}, {
		name: "fraction for an integer",
		doc: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {replicas: 1.5, selector: {matchLabels: {a: b}},
			template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: "x:1"}]}}}}`,
		want:    []short{{"Deployment.apps app/d", "schema", "spec.replicas", Error}},
		message: "1.5 is not an integer",
	}, {
		name:    "missing required field",
		doc:     `{apiVersion: rbac.authorization.k8s.io/v1, kind: RoleBinding, metadata: {name: rb}, roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role}, subjects: [{kind: ServiceAccount, name: default}]}`,
		want:    []short{{"RoleBinding.rbac.authorization.k8s.io app/rb", "schema", "roleRef.name", Error}},
		message: "required field is missing",
	}, {
		name: "missing required field deep in a list",
		doc: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {selector: {matchLabels: {a: b}},
			template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: "x:1", env: [{name: A, valueFrom: {configMapKeyRef: {name: cm}}}]}]}}}}`,
		want:    []short{{"Deployment.apps app/d", "schema", "spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef.key", Error}},
		message: "required field is missing",
	}, {
		name: "duplicate list key",
		doc: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: d}, spec: {selector: {matchLabels: {a: b}},
			template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: "x:1", env: [{name: A, value: "1"}, {name: A, value: "2"}]}]}}}}`,
		want:    []short{{"Deployment.apps app/d", "schema", "spec.template.spec.containers[0].env[1]", Error}},
		message: `duplicate entries for key [name="A"] (also item 0): server-side apply rejects`,
	}, {
		name:    "duplicate port, the protocol defaulted",
		doc:     `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {ports: [{name: a, port: 53}, {name: b, port: 53, protocol: TCP}, {name: c, port: 53, protocol: UDP}]}}`,
		want:    []short{{"Service app/s", "schema", "spec.ports[1]", Error}},
		message: `duplicate entries for key [port=53,protocol="TCP"]`,
	}, {
		name:    "quantity that does not parse",
		doc:     `{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: "x:1", resources: {limits: {memory: "lots"}}}]}}`,
		want:    []short{{"Pod app/p", "schema", `spec.containers[0].resources.limits["memory"]`, Error}},
		message: `invalid value "lots": quantities must match the regular expression`,
	}, {
		name:    "object where a list belongs",
		doc:     `{apiVersion: v1, kind: Pod, metadata: {name: p, labels: {a: b}}, spec: {containers: {name: c, image: "x:1"}}}`,
		want:    []short{{"Pod app/p", "schema", "spec.containers", Error}},
		message: "expected array, got object",
	}, {
		name:    "CR violating its CRD's schema",
		doc:     `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {size: "big"}}`,
		want:    []short{{"Widget.example.com app/w", "schema", "spec.size", Error}},
		message: "must be of type integer",
	}, {
		name:    "CR missing a field its schema requires",
		doc:     `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {color: red}}`,
		want:    []short{{"Widget.example.com app/w", "schema", "spec.size", Error}},
		message: "Required value",
	}, {
		name:    "CR with a value outside its enum",
		doc:     `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {size: 1, color: green}}`,
		want:    []short{{"Widget.example.com app/w", "schema", "spec.color", Error}},
		message: "supported values",
	}, {
		name:    "CR with an unknown field",
		doc:     `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {size: 1, colour: red}}`,
		want:    []short{{"Widget.example.com app/w", "schema", "spec.colour", Error}},
		message: "not declared in the CRD's schema",
	}, {
		name:    "CR breaking a CEL rule after defaulting",
		doc:     `{apiVersion: example.com/v1, kind: Widget, metadata: {name: w}, spec: {size: 11}}`,
		want:    []short{{"Widget.example.com app/w", "schema", "spec", Error}},
		message: "size must not exceed max",
	}, {
		name:    "CR of a version its CRD does not serve",
		doc:     `{apiVersion: example.com/v1alpha1, kind: Widget, metadata: {name: w}, spec: {size: 1}}`,
		want:    []short{{"Widget.example.com app/w", "kind", "apiVersion", Error}},
		message: "does not serve version v1alpha1; it serves v1",
	}, {
		name:    "CR whose CRD is nowhere",
		doc:     `{apiVersion: other.example/v1, kind: Thing, metadata: {name: t}}`,
		want:    []short{{"Thing.other.example t", "kind", "apiVersion", Error}},
		message: "no CRD in the Plan defines Thing.other.example",
	}, {
		name:    "built-in kind in a version the cluster does not serve",
		doc:     `{apiVersion: policy/v1beta1, kind: PodDisruptionBudget, metadata: {name: p}, spec: {maxUnavailable: 1}}`,
		want:    []short{{"PodDisruptionBudget.policy p", "kind", "apiVersion", Error}},
		message: "Kubernetes 1.31.4 does not serve policy/v1beta1 PodDisruptionBudget; it serves policy/v1",
	}, {
		name:    "missing namespace",
		doc:     `{apiVersion: v1, kind: ConfigMap, metadata: {name: cm, namespace: nowhere}}`,
		want:    []short{{"ConfigMap nowhere/cm", "namespace", "metadata.namespace", Error}},
		message: "namespace nowhere is created by no bundle",
	}, {
		name:    "CR before its CRD, in an earlier batch",
		batch:   "namespaces",
		doc:     `{apiVersion: example.com/v1, kind: Gadget, metadata: {name: g}}`,
		want:    []short{{"Gadget.example.com app/g", "crd-order", "", Error}},
		message: "comes from bundle gadget-crd in batch services, which deploys after batch namespaces",
	}, {
		name:    "CR beside its CRD in a batch, without dependsOn",
		doc:     `{apiVersion: example.com/v1, kind: Gadget, metadata: {name: g}}`,
		want:    []short{{"Gadget.example.com app/g", "crd-order", "", Error}},
		message: `add dependsOn: ["gadget-crd"]`,
	}, {
		name:    "Secret",
		doc:     `{apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {password: hunter2}}`,
		want:    []short{{"Secret app/s", "secret", "", Warning}},
		message: "a Secret with data (manifests[0]): wookie render and every GitOps format leave it out",
	}, {
		name:    "private key in a ConfigMap",
		doc:     "{apiVersion: v1, kind: ConfigMap, metadata: {name: cm}, data: {tls.key: \"-----BEGIN EC PRIVATE KEY-----\\nMHc=\\n-----END EC PRIVATE KEY-----\\n\"}}",
		want:    []short{{"ConfigMap app/cm", "secret", "data.tls.key", Error}},
		message: "PEM private key",
	}, {
		name:    "Service selecting no pods of its bundle",
		doc:     `{apiVersion: v1, kind: Service, metadata: {name: s}, spec: {selector: {app: nothing}, ports: [{port: 80}]}}`,
		want:    []short{{"Service app/s", "service-selector", "spec.selector", Warning}},
		message: "selects no pod template of bundle app (app=nothing)",
	}, {
		name: "image tagged latest",
		doc: `{apiVersion: batch/v1, kind: CronJob, metadata: {name: cj}, spec: {schedule: "* * * * *", jobTemplate: {spec: {template: {spec: {restartPolicy: Never,
			containers: [{name: c, image: "registry.example:5000/tools:latest"}]}}}}}}`,
		want:    []short{{"CronJob.batch app/cj", "image-tag", "spec.jobTemplate.spec.template.spec.containers[0].image", Warning}},
		message: "tagged latest",
	}, {
		name:    "image without a tag",
		doc:     `{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {initContainers: [{name: i, image: "registry.example:5000/tools"}], containers: [{name: c, image: "x@sha256:0123"}]}}`,
		want:    []short{{"Pod app/p", "image-tag", "spec.initContainers[0].image", Warning}},
		message: "has no tag",
	}, {
		name:    "image without a tag in a custom resource",
		doc:     `{apiVersion: example.com/v1, kind: Gadget, metadata: {name: g}, spec: {db: {image: percona}}}`,
		batch:   "late",
		want:    []short{{"Gadget.example.com app/g", "image-tag", "spec.db.image", Warning}},
		message: "has no tag",
	}, {
		name:    "image without a tag in a list of a custom resource",
		doc:     `{apiVersion: example.com/v1, kind: Gadget, metadata: {name: g}, spec: {sidecars: [{name: a, image: "a:1"}, {name: b, image: busybox}]}}`,
		batch:   "late",
		want:    []short{{"Gadget.example.com app/g", "image-tag", "spec.sidecars[1].image", Warning}},
		message: "has no tag",
	}, {
		name:    "label value too long",
		doc:     `{apiVersion: v1, kind: ConfigMap, metadata: {name: cm, labels: {version: "` + strings.Repeat("x", 64) + `"}}}`,
		want:    []short{{"ConfigMap app/cm", "metadata", "metadata.labels", Error}},
		message: "must be no more than 63 bytes",
	}, {
		name:    "name not a DNS subdomain",
		doc:     `{apiVersion: v1, kind: ConfigMap, metadata: {name: My_Config}}`,
		want:    []short{{"ConfigMap app/My_Config", "metadata", "metadata.name", Error}},
		message: "a lowercase RFC 1123 subdomain",
	}, {
		name:    "Service name starting with a digit",
		doc:     `{apiVersion: v1, kind: Service, metadata: {name: 1web}, spec: {ports: [{port: 80}]}}`,
		want:    []short{{"Service app/1web", "metadata", "metadata.name", Error}},
		message: "a DNS-1035 label must consist of",
	}, {
		name:    "CRD named against its group",
		doc:     `{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: things.example.com}, spec: {group: other.example, names: {kind: Thing, plural: things}, scope: Namespaced, versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]}}`,
		want:    []short{{"CustomResourceDefinition.apiextensions.k8s.io things.example.com", "schema", "metadata.name", Error}},
		message: `must be spec.names.plural+"."+spec.group`,
	}, {
		name:    "CRD with an unknown field",
		doc:     `{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: things.other.example}, spec: {group: other.example, names: {kind: Thing, plural: things}, scope: Namespaced, version: [{name: v1}]}}`,
		want:    []short{{"CustomResourceDefinition.apiextensions.k8s.io things.other.example", "schema", "spec.version", Error}},
		message: "field not declared in schema",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			batch := tt.batch
			if batch == "" {
				batch = "services"
			}
			objs := []plan.Object{obj(t, tt.doc)}
			p := fixture(t, batch, objs)
			if batch == "late" {
				// After the gadget CRD: depend on it.
				p = fixture(t, "services", objs)
				for i := range p.Clusters[0].Batches[2].Bundles {
					if u := &p.Clusters[0].Batches[2].Bundles[i]; u.Name == "app" {
						u.DependsOn = []string{"gadget-crd"}
					}
				}
			}
			r := checkPlan(t, p)
			var got []short
			for _, f := range r.Findings {
				got = append(got, short{f.Object, f.Rule, f.Path, f.Severity})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("findings (-want +got):\n%s\n%+v", diff, r.Findings)
			}
			if !strings.Contains(r.Findings[0].Message, tt.message) {
				t.Errorf("message %q does not contain %q", r.Findings[0].Message, tt.message)
			}
			f := r.Findings[0]
			if f.Cluster != "c1" || f.Bundle != "app" || f.Source != "manifests[0]" || f.Batch != map[string]string{"late": "services", "": "services"}[tt.batch]+map[bool]string{true: tt.batch}[tt.batch != "" && tt.batch != "late"] {
				t.Errorf("finding placed at %s/%s/%s from %s", f.Cluster, f.Batch, f.Bundle, f.Source)
			}
		})
	}
}

// TestCRDCache: verdicts on CRDs are cached by content; a second run reads
// them and reports the same; a damaged entry is ignored.
func TestCRDCache(t *testing.T) {
	bad := `{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: things.example.com}, spec: {group: other.example, names: {kind: Thing, plural: things}, scope: Namespaced, versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]}}`
	p := fixture(t, "services", []plan.Object{obj(t, bad)})
	res, err := render.Render(context.Background(), p, render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{CacheDir: t.TempDir(), Version: "test"}
	first, err := Run(p, res, opts)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := filepath.Glob(filepath.Join(opts.CacheDir, "check", "*", "*.json"))
	if len(entries) != 3 { // widgets, gadgets and things
		t.Fatalf("cache entries: %v", entries)
	}
	if first.Errors != 1 {
		t.Fatalf("findings: %+v", first.Findings)
	}
	for _, damage := range []bool{false, true} {
		if damage {
			for _, e := range entries {
				if err := os.WriteFile(e, []byte(`{"sum":"0","problems":[]}`), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		again, err := Run(p, res, opts)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again, cmp.AllowUnexported(Finding{})); diff != "" {
			t.Errorf("damaged %v: report differs (-first +again):\n%s", damage, diff)
		}
	}
}

// TestSecretRule: rule secret flags Secrets with data (a warning: outputs
// leave them out) and PEM private keys (an error),
// except in sensitive bundles, which only wookie deploy applies.
func TestSecretRule(t *testing.T) {
	const (
		secret   = `{apiVersion: v1, kind: Secret, metadata: {name: s}, stringData: {token: not-a-real-token}}`
		pem      = "{apiVersion: v1, kind: ConfigMap, metadata: {name: cm}, data: {tls.key: \"-----BEGIN EC PRIVATE KEY-----\\nMHc=\\n-----END EC PRIVATE KEY-----\\n\"}}"
		saToken  = `{apiVersion: v1, kind: Secret, type: kubernetes.io/service-account-token, metadata: {name: reader-token, annotations: {kubernetes.io/service-account.name: reader}}}`
		emptyMap = `{apiVersion: v1, kind: Secret, metadata: {name: e}, data: {}}`
	)
	tests := []struct {
		name      string
		doc       string
		sensitive bool
		want      []short
	}{
		{name: "Secret with stringData", doc: secret, want: []short{{"Secret app/s", "secret", "", Warning}}},
		{name: "Secret with stringData, sensitive bundle", doc: secret, sensitive: true},
		{name: "private key, sensitive bundle", doc: pem, sensitive: true},
		{name: "private key", doc: pem, want: []short{{"ConfigMap app/cm", "secret", "data.tls.key", Error}}},
		{name: "service-account token Secret the cluster fills in", doc: saToken},
		{name: "Secret with empty data", doc: emptyMap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fixture(t, "services", []plan.Object{obj(t, tt.doc)})
			for i := range p.Clusters[0].Batches[2].Bundles {
				if u := &p.Clusters[0].Batches[2].Bundles[i]; u.Name == "app" {
					u.Sensitive = tt.sensitive
				}
			}
			res, err := render.Render(context.Background(), p, render.Options{IncludeSecrets: true})
			if err != nil {
				t.Fatal(err)
			}
			r, err := Run(p, res, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var got []short
			for _, f := range r.Findings {
				got = append(got, short{f.Object, f.Rule, f.Path, f.Severity})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGeneratedBundlesLeftOut: rendered with secrets but no generator, as
// wookie check does, a generated bundle is left out and the bundle that
// depends on it is checked alone.
func TestGeneratedBundlesLeftOut(t *testing.T) {
	p := fixture(t, "services", docs(t, goodApp))
	c := &p.Clusters[0]
	c.Batches[1].Bundles = append(c.Batches[1].Bundles, plan.Bundle{Name: "istio-cacerts", Namespace: "app",
		Generate: &plan.Generate{IstioCACerts: &plan.IstioCACerts{Cluster: "c1"}}})
	for i := range c.Batches[2].Bundles {
		if u := &c.Batches[2].Bundles[i]; u.Name == "app" {
			u.DependsOn = []string{"istio-cacerts"}
		}
	}
	if err := plan.Normalize(p); err != nil {
		t.Fatal(err)
	}
	res, err := render.Render(context.Background(), p, render.Options{IncludeSecrets: true, AllowUnknownKinds: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Omitted) != 1 || res.Omitted[0].Bundle != "istio-cacerts" {
		t.Fatalf("omitted: %+v", res.Omitted)
	}
	r, err := Run(p, res, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 0 {
		t.Errorf("findings: %+v", r.Findings)
	}
}
