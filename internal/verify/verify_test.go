package verify

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/internal/testenv"
)

// obj decodes one object from YAML.
func obj(t *testing.T, y string) *render.Object {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatal(err)
	}
	return &render.Object{Unstructured: u, Hook: render.HookTest}
}

// live is a cluster of one batch holding bundles, against env.
func live(t *testing.T, env *testenv.Env, c client.Client, pb []plan.Bundle, rb []render.Bundle) *deploy.Live {
	return &deploy.Live{
		Plan:   &plan.Cluster{Name: "test", Batches: []plan.Batch{{Name: "apps", Bundles: pb}}},
		Render: &render.Cluster{Name: "test", Batches: []render.Batch{{Name: "apps", Bundles: rb}}},
		Client: c,
		Config: env.RESTConfig(),
	}
}

// summary is what a test compares of a Result.
type summary struct {
	Bundle, Name, Kind string
	Passed             bool
	Cause              string
}

// play acts as a kubelet for the Pods kwok keeps running (kwok completes
// only the pods of Jobs): once Pod ns/name runs, it sets its phase.
func play(t *testing.T, c client.Client, ns, name, phase string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for ctx.Err() == nil {
			pod := &corev1.Pod{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, pod); err == nil && pod.Status.Phase == corev1.PodRunning && pod.DeletionTimestamp == nil {
				patch := []byte(fmt.Sprintf(`{"status":{"phase":%q,"reason":"TestPlayed","message":"set by the test"}}`, phase))
				if err := c.Status().Patch(ctx, pod, client.RawPatch("application/merge-patch+json", patch)); err != nil {
					t.Errorf("set pod %s phase %s: %v", name, phase, err)
				}
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
}

// TestCluster runs every kind of check against the test control plane:
// CEL tests (passing, false, on a missing object and on an unset field),
// Helm test hooks (a Pod that succeeds and is deleted by its policy, one
// that fails with its cause, a Job kwok completes), HTTP tests (their
// Jobs, which kwok completes without running curl; one mounts a token for
// an audience, which the API server must accept), and injection, without
// a webhook (it fails) and with one served by the test.
func TestCluster(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "verify"})
	c, err := client.New(env.RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, y := range []string{
		"{apiVersion: v1, kind: Namespace, metadata: {name: shop}}",
		"{apiVersion: v1, kind: ConfigMap, metadata: {name: settings, namespace: shop}, data: {mode: live}}",
	} {
		if err := c.Create(ctx, obj(t, y).Unstructured); err != nil {
			t.Fatal(err)
		}
	}
	webhook := injector(t, c)

	cm := func(name, expr string) plan.Test {
		return plan.Test{Name: name, CEL: &plan.CELTest{APIVersion: "v1", Kind: "ConfigMap", Name: "settings", Expr: expr}}
	}
	pb := []plan.Bundle{{Name: "web", Namespace: "shop", Tests: []plan.Test{
		cm("mode", "data.mode == 'live'"),
		cm("wrong-mode", "data.mode == 'test'"),
		cm("unset", "status.state == 'ready'"),
		{Name: "missing", CEL: &plan.CELTest{APIVersion: "v1", Kind: "ConfigMap", Name: "nope", Expr: "true"}},
		{Name: "health", HTTP: &plan.HTTPTest{URL: "http://web.shop.svc/healthz"}},
		{Name: "registry", HTTP: &plan.HTTPTest{URL: "http://istiod.istio-system.svc:15014/debug/clusterz", BodyMatches: registryMatches, TokenAudience: "istio-ca"}},
		{Name: "no-injector", Injection: &plan.InjectionTest{Labels: map[string]string{"istio-injection": "enabled"}, Container: "istio-proxy"}},
		{Name: "injector", Injection: &plan.InjectionTest{Labels: map[string]string{webhook: "enabled"}, Container: "istio-proxy"}},
	}}}
	rb := []render.Bundle{{Name: "web", Namespace: "shop", Tests: []*render.Object{
		obj(t, `{apiVersion: v1, kind: Pod, metadata: {name: web-test-fails, namespace: shop, annotations: {helm.sh/hook: test}}, spec: {containers: [{name: t, image: busybox}]}}`),
		obj(t, `{apiVersion: v1, kind: Pod, metadata: {name: web-test, namespace: shop, annotations: {helm.sh/hook: test, helm.sh/hook-delete-policy: hook-succeeded}}, spec: {containers: [{name: t, image: busybox}]}}`),
		obj(t, `{apiVersion: batch/v1, kind: Job, metadata: {name: web-test-job, namespace: shop, annotations: {helm.sh/hook: test}}, spec: {backoffLimit: 0, template: {spec: {restartPolicy: Never, containers: [{name: t, image: busybox}]}}}}`),
		obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: web-test-script, namespace: shop, annotations: {helm.sh/hook: test}}, data: {run.sh: "true"}}`),
		obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: web-test-temp, namespace: shop, annotations: {helm.sh/hook: test, helm.sh/hook-delete-policy: hook-failed}}}`),
	}}}
	rb[0].Tests[0].HookWeight = 5 // after the other Pod and the Job
	play(t, c, "shop", "web-test", "Succeeded")
	play(t, c, "shop", "web-test-fails", "Failed")

	var heard []string
	got, err := Cluster(ctx, live(t, env, c, pb, rb), Options{Timeout: 60 * time.Second, OnResult: func(r Result) { heard = append(heard, r.Name) }})
	if err != nil {
		t.Fatal(err)
	}
	var sums []summary
	for _, r := range got {
		sums = append(sums, summary{r.Bundle, r.Name, r.Kind, r.Passed, r.Cause})
		if r.Cluster != "test" || r.Batch != "apps" || r.Millis != r.Duration.Milliseconds() {
			t.Errorf("%s: cluster %q, batch %q, %d ms of %s", r.Name, r.Cluster, r.Batch, r.Millis, r.Duration)
		}
	}
	want := []summary{
		{"web", "Pod/web-test", KindHelm, true, ""},
		{"web", "Job/web-test-job", KindHelm, true, ""},
		{"web", "Pod/web-test-fails", KindHelm, false, "Pod shop/web-test-fails: Failed TestPlayed: set by the test"},
		{"web", "mode", KindCEL, true, ""},
		{"web", "wrong-mode", KindCEL, false, "ConfigMap shop/settings: data.mode == 'test' is false"},
		{"web", "unset", KindCEL, false, "ConfigMap shop/settings: status.state is not set"},
		{"web", "missing", KindCEL, false, "ConfigMap shop/nope not found"},
		{"web", "health", KindHTTP, true, ""},
		{"web", "registry", KindHTTP, true, ""},
		{"web", "no-injector", KindInjection, false, "the dry-run Pod in namespace wookie-test-web-no-injector (labels istio-injection=enabled) came back without container istio-proxy (has [app]): no admission webhook injected it"},
		{"web", "injector", KindInjection, true, ""},
	}
	if diff := cmp.Diff(want, sums); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if len(heard) != len(got) {
		t.Errorf("OnResult heard %v", heard)
	}
	if Failed(got) != 5 {
		t.Errorf("Failed: %d", Failed(got))
	}
	// The failed Pod's logs are asked for; kwok has no kubelet to give them.
	if r := got[2]; !strings.Contains(r.Logs, "pod web-test-fails") {
		t.Errorf("logs of the failed Pod: %q", r.Logs)
	}

	// Cleanup: the Pod with hook-succeeded is gone, the failed one (Helm's
	// default policy) stays until the next run, the HTTP test's Job is
	// deleted once it passed, the test namespaces are going.
	exists := func(o client.Object, ns, name string) bool {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, o)
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil && o.GetDeletionTimestamp() == nil
	}
	if exists(&corev1.Pod{}, "shop", "web-test") {
		t.Error("Pod web-test (hook-succeeded) is still there")
	}
	if !exists(&corev1.Pod{}, "shop", "web-test-fails") {
		t.Error("Pod web-test-fails (before-hook-creation) is gone")
	}
	job := &unstructured.Unstructured{}
	job.SetAPIVersion("batch/v1")
	job.SetKind("Job")
	if exists(job, "shop", "wookie-test-web-health") {
		t.Error("the HTTP test's Job is still there")
	}
	if !exists(&corev1.ConfigMap{}, "shop", "web-test-script") || exists(&corev1.ConfigMap{}, "shop", "web-test-temp") {
		t.Error("the ConfigMaps of the test hooks: want web-test-script kept (Helm's default policy), web-test-temp deleted (hook-failed, a test failed)")
	}
	if exists(&corev1.Namespace{}, "", "wookie-test-web-injector") {
		t.Error("the injection test's namespace is still there")
	}

	// A second run replaces the objects of the first. kwok's pod-delete
	// stage may delete a Pod by name once more after it is gone, which
	// would take the Pod recreated under that name: let it finish first.
	for _, name := range []string{"web-test", "web-test-fails"} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}}
		if err := c.Delete(ctx, pod, client.GracePeriodSeconds(0)); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		for i := 0; i < 100 && exists(&corev1.Pod{}, "shop", name); i++ {
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(2 * time.Second)
	play(t, c, "shop", "web-test", "Succeeded")
	play(t, c, "shop", "web-test-fails", "Succeeded")
	again, err := Cluster(ctx, live(t, env, c, pb[:0], rb), Options{Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 3 || Failed(again) != 0 {
		t.Errorf("second run: %+v", again)
	}
}

// injector registers a mutating webhook, served by the test, that adds a
// container istio-proxy to Pods in namespaces labelled with the label it
// returns (enabled).
func injector(t *testing.T, c client.Client) string {
	const label = "test.wookie.dev/inject"
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
			http.Error(w, "bad review", http.StatusBadRequest)
			return
		}
		patch := `[{"op":"add","path":"/spec/containers/-","value":{"name":"istio-proxy","image":"proxy"}}]`
		pt := admissionv1.PatchTypeJSONPatch
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true, Patch: []byte(patch), PatchType: &pt}
		review.Request = nil
		_ = json.NewEncoder(w).Encode(review)
	}))
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	cfg := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1",
		"kind":       "MutatingWebhookConfiguration",
		"metadata":   map[string]any{"name": "test-injector"},
		"webhooks": []any{map[string]any{
			"name":                    "inject.test.wookie.dev",
			"admissionReviewVersions": []any{"v1"},
			"sideEffects":             "None",
			"failurePolicy":           "Fail",
			"clientConfig":            map[string]any{"url": srv.URL + "/inject", "caBundle": ca},
			"namespaceSelector":       map[string]any{"matchLabels": map[string]any{label: "enabled"}},
			"rules": []any{map[string]any{
				"operations": []any{"CREATE"}, "apiGroups": []any{""}, "apiVersions": []any{"v1"}, "resources": []any{"pods"},
			}},
		}},
	}}
	if err := c.Create(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	return label
}
