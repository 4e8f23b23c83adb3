package emit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/internal/testenv"
)

// brokenSchemaChart is a chart whose values.schema.json rejects every
// input the way the gateway chart of Istio 1.22 to 1.24 does: the root
// says "additionalProperties": false next to a "$ref" (so no property at
// all is allowed at the root), and values.yaml has a top-level key the
// schema lacks, so even the chart's own defaults fail Helm's check. Only
// skipping the check renders it. Helm 3.17, which Fleet v0.12.0 embeds,
// lets a "$ref" hide its sibling keywords (draft 7's rule) and so passes
// Istio's schema; the referenced definition is closed too, so that Helm
// rejects the defaults as well.
var brokenSchemaChart = charttest.Chart{Name: "gateway", Version: "1.0.0", Files: map[string]string{
	"values.schema.json": `{
  "$schema": "http://json-schema.org/schema#",
  "type": "object",
  "additionalProperties": false,
  "$ref": "#/$defs/values",
  "$defs": {"values": {"type": "object", "additionalProperties": false, "properties": {"name": {"type": "string"}}}}
}
`,
	"values.yaml": "_internal_defaults_do_not_set:\n  name: \"\"\n",
	"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\n" +
		"data:\n  name: {{ .Values.name | quote }}\n",
}}

// schemaRejected is how Helm (v3 in Fleet, v4 under helmfile) starts its
// error about values its schema rejects.
const schemaRejected = "values don't meet the specifications of the schema"

// schemaFixture is a one-cluster Plan whose one bundle installs
// brokenSchemaChart from repo, with skipSchemaValidation set to skip, and
// its rendered result: the ConfigMap the chart makes.
func schemaFixture(t *testing.T, repo string, skip bool) (*plan.Plan, *render.Result) {
	t.Helper()
	p, err := plan.Decode(fmt.Appendf(nil, `
apiVersion: wookie.dev/v1alpha1
kind: Plan
clusters:
- name: east
  target: kubeconfig
  context: east
  kubeVersion: 1.31.0
  batches:
  - name: gateways
    priority: 700
    bundles:
    - name: gateway
      namespace: gw
      chart: {repo: %q, name: gateway, version: 1.0.0, values: {name: gw}, skipSchemaValidation: %v}
`, repo, skip), "schema fixture")
	if err != nil {
		t.Fatal(err)
	}
	if err := plan.Normalize(p); err != nil {
		t.Fatal(err)
	}
	r := &render.Result{Clusters: []render.Cluster{{Name: "east", Batches: []render.Batch{{Name: "gateways", Priority: 700, Bundles: []render.Bundle{{
		Name: "gateway", Namespace: "gw",
		Objects: fixtureDecode(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gateway, namespace: gw}\ndata: {name: gw}\n"),
	}}}}}}}
	return p, r
}

// schemaCases are the two runs of each peer test: without
// skipSchemaValidation Helm's schema check fails (so nothing is installed),
// with it the engine renders the chart.
var schemaCases = []struct {
	name string
	skip bool
}{{"without", false}, {"skipSchemaValidation", true}}

// TestHelmfileSkipSchemaValidationWithPeer hands the release of a chart
// whose schema rejects everything to helmfile v1 and helm v4:
// `helmfile template` and `helmfile sync` (to the test control plane,
// install and upgrade) succeed with skipSchemaValidation and fail on the
// schema without it. `helmfile lint` fails either way: helmfile passes
// --skip-schema-validation to helm template, diff and upgrade, never to
// helm lint.
func TestHelmfileSkipSchemaValidationWithPeer(t *testing.T) {
	helmfile := peerBinary(t, "helmfile")
	helm := hfHelm(t)
	repo := charttest.NewRepo(t, charttest.RepoOptions{}, charttest.Package(t, brokenSchemaChart))
	env := testenv.Start(t, testenv.Options{Name: "east"})
	noCluster := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(noCluster, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range schemaCases {
		t.Run(tt.name, func(t *testing.T) {
			p, r := schemaFixture(t, repo.URL, tt.skip)
			tree, _, err := Build(p, r, Options{Format: FormatHelmfile})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := WriteTree(dir, tree); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "east", "helmfile.yaml")
			rel := hfRead(t, tree, "east/helmfile.yaml").Releases[0]
			if got := rel.SkipSchemaValidation != nil && *rel.SkipSchemaValidation; got != tt.skip {
				t.Fatalf("release %s: skipSchemaValidation %v, want %v", rel.Name, got, tt.skip)
			}

			t.Run("template", func(t *testing.T) {
				stdout, stderr, err := hfPeerRun(t, noCluster, helmfile, helm, "--file", file, "template", "--skip-tests")
				checkSchemaRun(t, "helmfile template", tt.skip, err, stderr)
				if err != nil {
					return
				}
				var got []map[string]any
				for _, doc := range splitDocs(stdout) {
					var m map[string]any
					if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
						t.Fatalf("helmfile template: %v\n%s", err, stdout)
					}
					if m != nil {
						got = append(got, m)
					}
				}
				if diff := cmp.Diff([]map[string]any{r.Clusters[0].Batches[0].Bundles[0].Objects[0].Object}, got); diff != "" {
					t.Errorf("helmfile template (-wookie +helmfile):\n%s", diff)
				}
			})

			t.Run("lint", func(t *testing.T) {
				_, stderr, err := hfPeerRun(t, noCluster, helmfile, helm, "--file", file, "lint")
				if err == nil {
					t.Fatalf("helmfile lint passed a chart whose schema rejects every value; README says it fails")
				}
				if !strings.Contains(string(stderr), schemaRejected) {
					t.Errorf("helmfile lint failed, but not on the schema:\n%s", stderr)
				}
			})

			// Without the field the install fails; with it, the install
			// and then an upgrade pass.
			t.Run("sync", func(t *testing.T) {
				_, stderr, err := hfPeerRun(t, env.Kubeconfig, helmfile, helm, "--file", file, "sync")
				checkSchemaRun(t, "helmfile sync", tt.skip, err, stderr)
				if tt.skip {
					_, stderr, err := hfPeerRun(t, env.Kubeconfig, helmfile, helm, "--file", file, "sync")
					checkSchemaRun(t, "helmfile sync (upgrade)", tt.skip, err, stderr)
				}
				cs, err := kubernetes.NewForConfig(env.RESTConfig())
				if err != nil {
					t.Fatal(err)
				}
				cm, err := cs.CoreV1().ConfigMaps("gw").Get(t.Context(), "gateway", metav1.GetOptions{})
				switch {
				case tt.skip && err != nil:
					t.Errorf("after sync: %v", err)
				case tt.skip && cm.Data["name"] != "gw":
					t.Errorf("after sync: ConfigMap gw/gateway has data %v, want name: gw", cm.Data)
				case !tt.skip && err == nil:
					t.Errorf("after a failed sync: ConfigMap gw/gateway exists")
				}
			})
		})
	}
}

// checkSchemaRun checks how a peer's run on the broken-schema chart ended:
// it must succeed when the output skips the schema check, and fail on the
// schema when it does not.
func checkSchemaRun(t *testing.T, what string, skip bool, err error, stderr []byte) {
	t.Helper()
	switch {
	case skip && err != nil:
		t.Fatalf("%s with skipSchemaValidation: %v\n%s", what, err, stderr)
	case !skip && err == nil:
		t.Fatalf("%s without skipSchemaValidation passed a chart whose schema rejects every value", what)
	case !skip && !strings.Contains(string(stderr), schemaRejected):
		t.Fatalf("%s failed, but not on the schema: %v\n%s", what, err, stderr)
	case !skip:
		t.Logf("%s without skipSchemaValidation fails as it should: %s", what, firstLine(stderr, schemaRejected))
	}
}

// firstLine returns the first line of out that contains s.
func firstLine(out []byte, s string) string {
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// crdGVR is the resource of CustomResourceDefinitions.
var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// createCRDs creates the CRDs of a YAML file on the test control plane
// and waits until each is established.
func createCRDs(t *testing.T, dc dynamic.Interface, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, doc := range splitDocs(data) {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if m == nil {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() != "CustomResourceDefinition" {
			continue
		}
		if _, err := dc.Resource(crdGVR).Create(t.Context(), u, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s: create CRD %s: %v", file, u.GetName(), err)
		}
		names = append(names, u.GetName())
	}
	if len(names) == 0 {
		t.Fatalf("%s holds no CRD", file)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, name := range names {
		for {
			u, err := dc.Resource(crdGVR).Get(t.Context(), name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			if slices.ContainsFunc(conds, func(c any) bool {
				m, _ := c.(map[string]any)
				return m["type"] == "Established" && m["status"] == "True"
			}) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("CRD %s is not established after 30s", name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// createNamespace creates a namespace on the test control plane.
func createNamespace(t *testing.T, env *testenv.Env, name string) {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestFleetSkipSchemaValidationWithPeer runs the chart-mode Fleet output
// of a chart whose schema rejects everything through Fleet v0.12.0's own
// chain, CLI only: `fleet apply -o -` reads fleet.yaml and pulls the chart
// from the repository on 127.0.0.1 into a Bundle, as gitjob does; `fleet
// target` matches the Bundle against a Cluster on the test control plane
// (with Fleet's CRDs) and prints the BundleDeployment and Content the
// controller would make; `fleet deploy --dry-run` renders them through
// Fleet's helmdeployer, the agent's code, which installs with
// helm.skipSchemaValidation. It renders the ConfigMap with the field, and
// fails on the schema without it.
func TestFleetSkipSchemaValidationWithPeer(t *testing.T) {
	fleet := peerBinary(t, "fleet")
	crds := peerFile(t, "crds/fleet/crds.yaml")
	repo := charttest.NewRepo(t, charttest.RepoOptions{}, charttest.Package(t, brokenSchemaChart))
	env := testenv.Start(t, testenv.Options{Name: "east"})
	dc, err := dynamic.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	createCRDs(t, dc, crds)
	const ns = "fleet-default"
	createNamespace(t, env, ns)
	cluster := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1", "kind": "Cluster",
		"metadata": map[string]any{"name": "east", "namespace": ns},
		"spec":     map[string]any{},
	}}
	if _, err := dc.Resource(schema.GroupVersionResource{Group: "fleet.cattle.io", Version: "v1alpha1", Resource: "clusters"}).Namespace(ns).
		Create(t.Context(), cluster, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, dir string, args ...string) ([]byte, []byte, error) {
		t.Helper()
		cmd := exec.Command(fleet, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "KUBECONFIG="+env.Kubeconfig, "HOME="+t.TempDir())
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.Bytes(), stderr.Bytes(), err
	}
	for _, tt := range schemaCases {
		t.Run(tt.name, func(t *testing.T) {
			p, r := schemaFixture(t, repo.URL, tt.skip)
			tree, warnings, err := Build(p, r, Options{Format: FormatFleet, FleetMode: ModeChart})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := tree["east/gateways/gateway/manifests.yaml"]; ok {
				t.Fatalf("the chart is written rendered: %q", warnings)
			}
			dir := t.TempDir()
			if err := WriteTree(filepath.Join(dir, "clusters"), tree); err != nil {
				t.Fatal(err)
			}

			out, stderr, err := run(t, dir, "apply", "-o", "-", "wookie", "clusters/east/gateways/gateway")
			if err != nil {
				t.Fatalf("fleet apply: %v\n%s", err, stderr)
			}
			var bundle map[string]any
			if err := yaml.Unmarshal(out, &bundle); err != nil {
				t.Fatalf("fleet apply: %v\n%s", err, out)
			}
			got, _, _ := unstructured.NestedBool(bundle, "spec", "helm", "skipSchemaValidation")
			if got != tt.skip {
				t.Fatalf("fleet apply: the Bundle's helm.skipSchemaValidation is %v, want %v", got, tt.skip)
			}
			bundleFile := filepath.Join(dir, "bundle.yaml")
			if err := os.WriteFile(bundleFile, out, 0o644); err != nil {
				t.Fatal(err)
			}

			targeted, stderr, err := run(t, dir, "target", "-b", bundleFile, "-n", ns)
			if err != nil {
				t.Fatalf("fleet target: %v\n%s", err, stderr)
			}
			var kinds []string
			for _, doc := range splitDocs(targeted) {
				var m map[string]any
				if err := yaml.Unmarshal([]byte(doc), &m); err == nil && m != nil {
					kinds = append(kinds, fmt.Sprint(m["kind"]))
				}
			}
			slices.Sort(kinds)
			if diff := cmp.Diff([]string{"BundleDeployment", "Content"}, kinds); diff != "" {
				t.Fatalf("fleet target printed (-want +got):\n%s\n%s", diff, stderr)
			}
			targetFile := filepath.Join(dir, "target.yaml")
			if err := os.WriteFile(targetFile, targeted, 0o644); err != nil {
				t.Fatal(err)
			}

			rendered, stderr, err := run(t, dir, "deploy", "--dry-run", "-i", targetFile, "-n", "gw")
			checkSchemaRun(t, "fleet deploy --dry-run", tt.skip, err, stderr)
			if err != nil {
				return
			}
			var objs []map[string]any
			if err := yaml.Unmarshal(rendered, &objs); err != nil {
				t.Fatalf("fleet deploy --dry-run: %v\n%s", err, rendered)
			}
			var names []string
			for _, o := range objs {
				u := unstructured.Unstructured{Object: o}
				names = append(names, u.GetKind()+" "+u.GetName())
				if u.GetKind() == "ConfigMap" {
					if data, _, _ := unstructured.NestedStringMap(o, "data"); data["name"] != "gw" {
						t.Errorf("ConfigMap %s: data %v, want name: gw", u.GetName(), data)
					}
				}
			}
			if diff := cmp.Diff([]string{"ConfigMap gateway"}, names); diff != "" {
				t.Errorf("objects Fleet renders (-want +got):\n%s", diff)
			}
		})
	}
}

// helmReleaseGVR is the resource of Flux HelmReleases.
var helmReleaseGVR = schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}

// TestFluxSkipSchemaValidationWithPeer checks the chart-mode HelmReleases
// against the HelmRelease CRD of helm-controller at the version Flux
// v2.9.5 requires (v1.6.4), which hack/peers/build.sh keeps with the flux
// binary: the test control plane creates each one in a dry run with strict
// field validation, so a field the CRD lacks, or a value its schema or
// rules reject, fails. No Flux CLI command renders a HelmRelease (flux
// build kustomization stops at the object), so this is the check that
// install.disableSchemaValidation and upgrade.disableSchemaValidation are
// where helm-controller reads them; a misspelt field is shown to fail.
func TestFluxSkipSchemaValidationWithPeer(t *testing.T) {
	crd := peerFile(t, "crds/flux/helm.toolkit.fluxcd.io_helmreleases.yaml")
	env := testenv.Start(t, testenv.Options{Name: "east"})
	dc, err := dynamic.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	createCRDs(t, dc, crd)
	createNamespace(t, env, "flux-system")

	p, r := fixture(t)
	hfPlanBundle(t, p, "east", "base").Chart.SkipSchemaValidation = true
	tree, _, err := Build(p, r, Options{Format: FormatFlux, FluxMode: ModeChart})
	if err != nil {
		t.Fatal(err)
	}
	create := func(t *testing.T, u *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		t.Helper()
		return dc.Resource(helmReleaseGVR).Namespace(u.GetNamespace()).Create(t.Context(), u, metav1.CreateOptions{
			DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict",
		})
	}
	want := map[string]bool{"east-base": true, "east-operator": false}
	got := map[string]bool{}
	for name, data := range tree {
		if !strings.HasSuffix(name, "/helmrelease.yaml") {
			continue
		}
		docs, kinds := fluxDocs(t, name, data)
		for i, doc := range docs {
			if kinds[i] != "HelmRelease" {
				continue
			}
			var m map[string]any
			if err := yaml.Unmarshal(doc, &m); err != nil {
				t.Fatal(err)
			}
			u := &unstructured.Unstructured{Object: m}
			back, err := create(t, u)
			if err != nil {
				t.Errorf("%s: the API server refuses HelmRelease %s: %v", name, u.GetName(), err)
				continue
			}
			install, _, _ := unstructured.NestedBool(back.Object, "spec", "install", "disableSchemaValidation")
			upgrade, _, _ := unstructured.NestedBool(back.Object, "spec", "upgrade", "disableSchemaValidation")
			if install != upgrade {
				t.Errorf("%s: install.disableSchemaValidation %v, upgrade.disableSchemaValidation %v", name, install, upgrade)
			}
			got[back.GetName()] = install
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("disableSchemaValidation by HelmRelease, as stored (-want +got):\n%s", diff)
	}

	// The control: the same HelmRelease with the field under Fleet's and
	// helmfile's name is refused, so strict validation does catch a
	// field helm-controller would not read.
	docs, kinds := fluxDocs(t, "base", tree["east/crds/base/helmrelease.yaml"])
	i := slices.Index(kinds, "HelmRelease")
	var m map[string]any
	if err := yaml.Unmarshal(docs[i], &m); err != nil {
		t.Fatal(err)
	}
	wrong := &unstructured.Unstructured{Object: m}
	unstructured.RemoveNestedField(wrong.Object, "spec", "install", "disableSchemaValidation")
	if err := unstructured.SetNestedField(wrong.Object, true, "spec", "install", "skipSchemaValidation"); err != nil {
		t.Fatal(err)
	}
	_, err = create(t, wrong)
	if err == nil || !strings.Contains(err.Error(), "skipSchemaValidation") {
		data, _ := json.Marshal(wrong.Object["spec"])
		t.Errorf("a HelmRelease with spec.install.skipSchemaValidation: %v, want an unknown-field error\n%s", err, data)
	}
}

// TestArgoCDSkipSchemaValidationWithPeer has Argo CD v3.2.11 itself render
// the chart-mode Application of a chart whose schema rejects everything.
// The argocd binary of hack/peers/build.sh runs as argocd-repo-server on
// 127.0.0.1 (it runs the helm CLI, as in Argo CD's image; here helm v4,
// where the image has 3.18: the chart's schema fails in both), the
// Application goes to a test control plane with Argo CD's CRDs (strict
// field validation), and `argocd admin app get-reconcile-results --refresh`
// compares it to the cluster with the application controller's code and
// that repo-server, which pulls the chart from a repository on 127.0.0.1
// and runs helm template. Without skipSchemaValidation helm template fails
// on the schema. With it the Application is OutOfSync while nothing is
// deployed, and Synced once the objects wookie rendered are in the
// cluster: Argo CD renders the chart into exactly them.
func TestArgoCDSkipSchemaValidationWithPeer(t *testing.T) {
	argocd := peerBinary(t, "argocd")
	helm := hfHelm(t)
	crds := []string{peerFile(t, "crds/argocd/application-crd.yaml"), peerFile(t, "crds/argocd/appproject-crd.yaml")}
	repo := charttest.NewRepo(t, charttest.RepoOptions{}, charttest.Package(t, brokenSchemaChart))
	env := testenv.Start(t, testenv.Options{Name: "east"})
	dc, err := dynamic.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range crds {
		createCRDs(t, dc, f)
	}
	server := startArgoRepoServer(t, argocd, helm)

	for _, tt := range schemaCases {
		t.Run(tt.name, func(t *testing.T) {
			// A namespace of Argo CD's per case: an Application with
			// Argo CD's finalizer cannot be deleted without its controller.
			ns := "argocd-" + strings.ToLower(tt.name)
			p, r := schemaFixture(t, repo.URL, tt.skip)
			p.GitOps = &plan.GitOps{Repo: "https://git.example.org/platform/deploy.git", ArgoCD: &plan.ArgoCDGitOps{Namespace: ns}}
			p.Clusters[0].GitOps = &plan.ClusterGitOps{ArgoCD: &plan.ArgoCDCluster{Server: argoInCluster}}
			tree, warnings, err := Build(p, r, Options{Format: FormatArgoCD, ArgoCDMode: ModeChart})
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := tree["east/gateways/gateway/manifests.yaml"]; ok {
				t.Fatalf("the chart is written rendered: %q", warnings)
			}
			argoNamespace(t, env, dc, ns)
			var m map[string]any
			if err := yaml.Unmarshal(tree["east/applications/gateway.yaml"], &m); err != nil {
				t.Fatal(err)
			}
			stored, err := dc.Resource(argoAppGVR).Namespace(ns).Create(t.Context(), &unstructured.Unstructured{Object: m}, metav1.CreateOptions{FieldValidation: "Strict"})
			if err != nil {
				t.Fatalf("the API server refuses the Application: %v", err)
			}
			if got, _, _ := unstructured.NestedBool(stored.Object, "spec", "source", "helm", "skipSchemaValidation"); got != tt.skip {
				t.Fatalf("stored Application: spec.source.helm.skipSchemaValidation %v, want %v", got, tt.skip)
			}

			logStart := server.logSize(t)
			got, out, err := argoReconcile(t, argocd, server, env, ns)
			// The controller reports only that it got no objects; helm's
			// error is in the repo-server's log.
			checkSchemaRun(t, "argocd admin app get-reconcile-results", tt.skip, err, append(out, server.logSince(t, logStart)...))
			if err != nil {
				return
			}
			if h := got.Sync.ComparedTo.Source.Helm; h == nil || !h.SkipSchemaValidation || h.ReleaseName != "gateway" {
				t.Errorf("the source Argo CD compared to: %+v", got.Sync.ComparedTo.Source)
			}
			// Nothing is deployed: the chart rendered into something.
			if got.Name != "east-gateway" || got.Sync.Status != "OutOfSync" || len(got.Conditions) > 0 {
				t.Fatalf("Application %s: sync %s, conditions %v; want east-gateway, OutOfSync and none\n%s", got.Name, got.Sync.Status, got.Conditions, out)
			}

			// With the objects wookie rendered in the cluster, marked as
			// the Application's (Argo CD's annotation tracking), Argo CD
			// finds its rendering and the cluster equal.
			createNamespace(t, env, "gw")
			for _, o := range r.Clusters[0].Batches[0].Bundles[0].Objects {
				if o.GetAPIVersion() != "v1" || o.GetKind() != "ConfigMap" {
					t.Fatalf("the fixture renders a %s %s", o.GetAPIVersion(), o.GetKind())
				}
				u := o.DeepCopy()
				u.SetAnnotations(map[string]string{"argocd.argoproj.io/tracking-id": "east-gateway:/ConfigMap:" + u.GetNamespace() + "/" + u.GetName()})
				if _, err := dc.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace(u.GetNamespace()).
					Create(t.Context(), u, metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			got, out, err = argoReconcile(t, argocd, server, env, ns)
			if err != nil {
				t.Fatalf("argocd admin app get-reconcile-results: %v\n%s", err, out)
			}
			if got.Sync.Status != "Synced" || got.Health != "Healthy" || len(got.Conditions) > 0 {
				t.Errorf("with wookie's rendering deployed: sync %s, health %s, conditions %v; want Synced, Healthy and none\n%s", got.Sync.Status, got.Health, got.Conditions, out)
			}
		})
	}
}

// argoReconciled is the part of a result of `argocd admin app
// get-reconcile-results` that the tests read.
type argoReconciled struct {
	Name       string           `json:"name"`
	Health     string           `json:"health"`
	Conditions []map[string]any `json:"conditions"`
	Sync       struct {
		Status     string `json:"status"`
		ComparedTo struct {
			Source argoTestSource `json:"source"`
		} `json:"comparedTo"`
	} `json:"sync"`
}

// argoReconcile runs `argocd admin app get-reconcile-results --refresh`
// on the one Application in Argo CD's namespace ns: Argo CD's application
// controller code compares it, with server's rendering, to the cluster. It
// returns the result, and the command's output (and on success the
// results file).
func argoReconcile(t *testing.T, argocd string, server *argoRepoServer, env *testenv.Env, ns string) (argoReconciled, []byte, error) {
	t.Helper()
	results := filepath.Join(t.TempDir(), "results.yaml")
	cmd := exec.Command(argocd, "admin", "app", "get-reconcile-results", results, "--refresh",
		"--repo-server", server.addr, "--namespace", ns, "--kubeconfig", env.Kubeconfig)
	// The controller reaches the in-cluster destination through
	// $KUBECONFIG (ARGOCD_FAKE_IN_CLUSTER, which the command sets).
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "KUBECONFIG="+env.Kubeconfig)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return argoReconciled{}, out.Bytes(), err
	}
	data, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	out.Write(data)
	var got struct {
		Applications []argoReconciled `json:"applications"`
	}
	if err := yaml.Unmarshal(data, &got); err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if len(got.Applications) != 1 {
		t.Fatalf("reconcile results of %d Applications, want one:\n%s", len(got.Applications), data)
	}
	return got.Applications[0], out.Bytes(), nil
}

// argoAppGVR is the resource of Argo CD Applications.
var argoAppGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "applications"}

// argoNamespace makes ns a namespace of Argo CD on the test control plane:
// the ConfigMap and Secret its settings are read from, and the project
// default, which allows every repository and destination.
func argoNamespace(t *testing.T, env *testenv.Env, dc dynamic.Interface, ns string) {
	t.Helper()
	createNamespace(t, env, ns)
	cs, err := kubernetes.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/part-of": "argocd"}}
	}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(t.Context(), &corev1.ConfigMap{ObjectMeta: meta("argocd-cm")}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(t.Context(), &corev1.Secret{ObjectMeta: meta("argocd-secret")}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	project := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
		"metadata": map[string]any{"name": "default", "namespace": ns},
		"spec": map[string]any{
			"sourceRepos":              []any{"*"},
			"destinations":             []any{map[string]any{"server": "*", "namespace": "*"}},
			"clusterResourceWhitelist": []any{map[string]any{"group": "*", "kind": "*"}},
		},
	}}
	if _, err := dc.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "appprojects"}).Namespace(ns).
		Create(t.Context(), project, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
		t.Fatal(err)
	}
}

// argoRepoServer is an argocd-repo-server run by a test.
type argoRepoServer struct {
	// addr is its gRPC address (TLS with a certificate of its own).
	addr string
	log  string
}

// startArgoRepoServer runs the argocd binary as argocd-repo-server on
// 127.0.0.1 until the test ends, with helm first on its PATH. Its cache
// would be Redis, which is not there: a failed read is a miss, a failed
// write is logged, and with ARGOCD_PAUSE_GEN_AFTER_FAILED_ATTEMPTS=0 a
// failed rendering returns helm's error rather than Redis's.
func startArgoRepoServer(t *testing.T, argocd, helm string) *argoRepoServer {
	t.Helper()
	var ports []int // gRPC, metrics, and a Redis nobody serves
	for range 3 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		l.Close()
	}
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &argoRepoServer{addr: fmt.Sprintf("127.0.0.1:%d", ports[0]), log: filepath.Join(dir, "repo-server.log")}
	logFile, err := os.Create(s.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(argocd, "--address", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
		"--metrics-address", "127.0.0.1", "--metrics-port", strconv.Itoa(ports[1]),
		"--redis", fmt.Sprintf("127.0.0.1:%d", ports[2]))
	cmd.Env = append(os.Environ(),
		"ARGOCD_BINARY_NAME=argocd-repo-server", "ARGOCD_GPG_ENABLED=false", "ARGOCD_PAUSE_GEN_AFTER_FAILED_ATTEMPTS=0",
		"PATH="+filepath.Dir(helm)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+dir, "TMPDIR="+tmp, "XDG_CACHE_HOME="+filepath.Join(dir, ".cache"), "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("argocd-repo-server log:\n%s", s.logSince(t, 0))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			return s
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("argocd-repo-server exited: %v\n%s", err, s.logSince(t, 0))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("argocd-repo-server does not listen on %s after 30s\n%s", s.addr, s.logSince(t, 0))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logSize is the length of the repo-server's log so far.
func (s *argoRepoServer) logSize(t *testing.T) int64 {
	t.Helper()
	st, err := os.Stat(s.log)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// logSince is the repo-server's log from offset on, its JSON lines
// unescaped enough to read helm's messages.
func (s *argoRepoServer) logSince(t *testing.T, offset int64) []byte {
	t.Helper()
	data, err := os.ReadFile(s.log)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(strings.ReplaceAll(string(data[min(offset, int64(len(data))):]), `\n`, "\n"))
}
