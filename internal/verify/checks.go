package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/fluxcd/pkg/runtime/cel"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// LabelTest names, on the objects wookie test creates, the test they are
// for.
const LabelTest = "wookie.dev/test"

// celTest reads the object t names and evaluates t.Expr over it.
func (r *runner) celTest(ctx context.Context, u *plan.Bundle, t *plan.CELTest) Result {
	res := Result{Kind: KindCEL}
	expr, err := cel.NewExpression(t.Expr)
	if err != nil {
		res.Cause = oneLine(err.Error())
		return res
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(schema.FromAPIVersionAndKind(t.APIVersion, t.Kind))
	ns := t.Namespace
	if ns == "" {
		ns = u.Namespace
	}
	what := t.Kind + " " + ns + "/" + t.Name
	if err := r.live.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: t.Name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			res.Cause = what + " not found"
		} else {
			res.Cause = what + ": " + oneLine(err.Error())
		}
		return res
	}
	ok, err := expr.EvaluateBoolean(ctx, obj.Object)
	switch {
	case err != nil:
		res.Cause = what + ": " + deploy.UnsetFields(err, t.Expr, obj.Object)
	case !ok:
		res.Cause = what + ": " + t.Expr + " is false"
	default:
		res.Passed = true
	}
	return res
}

// httpTest runs a Job that requests t.URL from inside the cluster and
// waits for it to complete. The Job is replaced when it exists, deleted
// when it passes and kept (for an hour) when it fails.
func (r *runner) httpTest(ctx context.Context, u *plan.Bundle, name string, t *plan.HTTPTest) Result {
	res := Result{Kind: KindHTTP}
	job := probeJob(objectName(u.Name, name), u.Namespace, r.labels(u.Name, name), max(int64(r.timeout/time.Second), 1), t)
	start := time.Now()
	passed, cause, logs := r.runToCompletion(ctx, job)
	res.Passed, res.Cause, res.Logs = passed, cause, logs
	if passed {
		r.remove(ctx, job)
	}
	res.Duration = time.Since(start)
	return res
}

// injectionTest creates a namespace with t.Labels, sends a Pod to it as a
// server-side dry run and passes when the admitted Pod has t.Container.
// The namespace is deleted after, without waiting.
func (r *runner) injectionTest(ctx context.Context, u *plan.Bundle, name string, t *plan.InjectionTest) Result {
	res := Result{Kind: KindInjection}
	c := r.live.Client
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	ns.SetName(objectName(u.Name, name))
	labels := map[string]string{}
	for k, v := range r.labels(u.Name, name) {
		labels[k] = v.(string)
	}
	for k, v := range t.Labels {
		labels[k] = v
	}
	ns.SetLabels(labels)
	// One left terminating by the last run is waited for.
	if err := r.deleteAndWait(ctx, ns.DeepCopy()); err != nil {
		res.Cause = "namespace " + ns.GetName() + ": " + oneLine(err.Error())
		return res
	}
	if err := c.Create(ctx, ns); err != nil {
		res.Cause = "create namespace " + ns.GetName() + ": " + oneLine(err.Error())
		return res
	}
	defer r.remove(context.WithoutCancel(ctx), ns)
	pod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1",
		"kind":       "Pod",
		"metadata":   map[string]any{"name": "injection", "namespace": ns.GetName(), "labels": map[string]any{"app": "wookie-test"}},
		"spec": map[string]any{
			"containers": []any{map[string]any{"name": "app", "image": "registry.k8s.io/pause:3.10"}},
		},
	}}
	if err := c.Create(ctx, pod, client.DryRunAll); err != nil {
		res.Cause = "dry-run Pod in namespace " + ns.GetName() + ": " + oneLine(err.Error())
		return res
	}
	var names []string
	for _, field := range []string{"initContainers", "containers"} {
		list, _, _ := unstructured.NestedSlice(pod.Object, "spec", field)
		for _, ct := range list {
			if m, ok := ct.(map[string]any); ok {
				if n, ok := m["name"].(string); ok {
					names = append(names, n)
				}
			}
		}
	}
	if !slices.Contains(names, t.Container) {
		res.Cause = fmt.Sprintf("the dry-run Pod in namespace %s (labels %s) came back without container %s (has %v): no admission webhook injected it", ns.GetName(), labelString(t.Labels), t.Container, names)
		return res
	}
	res.Passed = true
	return res
}

// labels are the labels of the objects wookie test makes for a test.
func (r *runner) labels(bundle, test string) map[string]any {
	return map[string]any{
		render.LabelCluster: r.live.Plan.Name,
		render.LabelBundle:  bundle,
		LabelTest:           test,
	}
}

// objectName is the name of the object wookie test makes for a test of a
// bundle: wookie-test-BUNDLE-TEST, shortened with a hash to a DNS-1123
// label.
func objectName(bundle, test string) string {
	name := "wookie-test-" + bundle + "-" + test
	if len(name) <= 63 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:52] + "-" + hex.EncodeToString(sum[:])[:10]
}

// labelString writes labels as k=v,k=v, sorted.
func labelString(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ","
		}
		s += k + "=" + labels[k]
	}
	return s
}
