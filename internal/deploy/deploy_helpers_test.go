package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/internal/testenv"
)

// The cluster of every test Plan: its name (the value of the
// wookie.dev/cluster label) and the Kubernetes version of the test control
// plane.
const (
	clusterName = "test"
	kubeVersion = "1.37.2"
)

// testInterval is the readiness poll interval of every test deploy.
const testInterval = 200 * time.Millisecond

// Quiet controller-runtime, which otherwise prints a stack trace when a
// client is made more than 30s after the process started.
func init() { ctrllog.SetLogger(logr.Discard()) }

// testCluster is a test control plane with kwok, and a client for assertions.
type testCluster struct {
	env *testenv.Env
	c   client.Client
}

// startCluster starts a control plane for the test; it skips the test when
// the binaries are not built.
func startCluster(t *testing.T, name string) *testCluster {
	t.Helper()
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: name})
	c, err := client.New(env.RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &testCluster{env: env, c: c}
}

// testContext bounds a test: no test here should need more than a minute.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newPlan builds a normalized Plan of one cluster, reached through the
// kubeconfig of k.
func (k *testCluster) newPlan(t *testing.T, batches ...plan.Batch) *plan.Plan {
	t.Helper()
	p := &plan.Plan{APIVersion: plan.APIVersion, Kind: plan.Kind, Clusters: []plan.Cluster{{
		Name: clusterName, Target: "testenv", Context: k.env.Context, Kubeconfig: k.env.Kubeconfig,
		KubeVersion: kubeVersion, Batches: batches,
	}}}
	if err := plan.Normalize(p); err != nil {
		t.Fatalf("normalize: %v", err)
	}
	return p
}

// batch makes a batch.
func batch(name string, priority int, bundles ...plan.Bundle) plan.Batch {
	return plan.Batch{Name: name, Priority: priority, Bundles: bundles}
}

// bundle makes a manifest bundle.
func bundle(name, namespace string, objs ...plan.Object) plan.Bundle {
	return plan.Bundle{Name: name, Namespace: namespace, Manifests: objs}
}

// dependsOn returns b depending on deps.
func dependsOn(b plan.Bundle, deps ...string) plan.Bundle {
	b.DependsOn = deps
	return b
}

// obj decodes one object from (flow-style) YAML.
func obj(t *testing.T, format string, args ...any) plan.Object {
	t.Helper()
	var o plan.Object
	if err := yaml.Unmarshal([]byte(fmt.Sprintf(format, args...)), &o); err != nil {
		t.Fatalf("test object: %v", err)
	}
	return o
}

// configMap makes a ConfigMap without a namespace and with one key.
func configMap(t *testing.T, name string) plan.Object {
	return obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: %s}, data: {key: %s}}`, name, name)
}

// deployment makes a Deployment of replicas Pods; with a nodeSelector
// that no Node matches when stuck.
func deployment(t *testing.T, name string, replicas int, stuck bool) plan.Object {
	sel := "{}"
	if stuck {
		sel = "{wookie.dev/no-such-node: 'true'}"
	}
	return obj(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: %[1]s},
spec: {replicas: %[2]d, selector: {matchLabels: {app: %[1]s}},
template: {metadata: {labels: {app: %[1]s}}, spec: {nodeSelector: %[3]s, containers: [{name: app, image: registry.invalid/%[1]s:1}]}}}}`,
		name, replicas, sel)
}

// widgetCRD defines the namespaced kind Widget (widgets.<group>, version
// v1), with a status subresource when subresource is set.
func widgetCRD(t *testing.T, group string, subresource bool) plan.Object {
	sub := ""
	if subresource {
		sub = ", subresources: {status: {}}"
	}
	return obj(t, `{apiVersion: apiextensions.k8s.io/v1, kind: CustomResourceDefinition, metadata: {name: widgets.%[1]s},
spec: {group: %[1]s, scope: Namespaced, names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList},
versions: [{name: v1, served: true, storage: true%[2]s, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]}}`,
		group, sub)
}

// widget makes a Widget of group, with extra top-level fields (YAML
// without braces, "" for none).
func widget(t *testing.T, group, name, extra string) plan.Object {
	if extra != "" {
		extra = ", " + extra
	}
	return obj(t, `{apiVersion: %s/v1, kind: Widget, metadata: {name: %s}, spec: {size: 1}%s}`, group, name, extra)
}

// recorder keeps the events of a deploy in the order they were emitted.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) add(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) all() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// archives is a render.ChartSource of test charts, by chart name.
type archives map[string][]byte

func (a archives) Archive(_ context.Context, c *plan.Chart) ([]byte, error) {
	data, ok := a[c.Name]
	if !ok {
		return nil, fmt.Errorf("chart %s: not found", c.Name)
	}
	return data, nil
}

// deployPlan renders p and deploys it with opts, polling every
// testInterval, and returns the events it emitted; opts.OnEvent, when set,
// sees every event after it is recorded.
func deployPlan(ctx context.Context, t *testing.T, p *plan.Plan, opts Options) (*Summary, []Event, error) {
	t.Helper()
	return deployCharts(ctx, t, p, nil, opts)
}

// deployCharts is deployPlan for a Plan with chart bundles, whose charts
// come from charts.
func deployCharts(ctx context.Context, t *testing.T, p *plan.Plan, charts render.ChartSource, opts Options) (*Summary, []Event, error) {
	t.Helper()
	return deployRendered(ctx, t, p, renderPlan(ctx, t, p, charts), opts)
}

// renderPlan renders p with charts from charts (nil for none), Secrets
// included, as the deploy command renders.
func renderPlan(ctx context.Context, t *testing.T, p *plan.Plan, charts render.ChartSource) *render.Result {
	t.Helper()
	r, err := render.Render(ctx, p, render.Options{Charts: charts, IncludeSecrets: true})
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return r
}

// deployRendered deploys p, rendered as r, as deployPlan does; it may run on
// any goroutine.
func deployRendered(ctx context.Context, t *testing.T, p *plan.Plan, r *render.Result, opts Options) (*Summary, []Event, error) {
	rec := &recorder{}
	next := opts.OnEvent
	opts.OnEvent = func(e Event) {
		rec.add(e)
		if next != nil {
			next(e)
		}
	}
	if opts.Interval == 0 {
		opts.Interval = testInterval
	}
	began := time.Now()
	sum, err := Deploy(ctx, p, r, opts)
	t.Logf("deploy took %.1fs: %+v, err %v", time.Since(began).Seconds(), sum, err)
	return sum, rec.all(), err
}

// mustDeploy deploys p and fails the test on an error.
func mustDeploy(ctx context.Context, t *testing.T, p *plan.Plan, opts Options) (*Summary, []Event) {
	t.Helper()
	sum, events, err := deployPlan(ctx, t, p, opts)
	if err != nil {
		t.Fatalf("deploy: %v\nevents:\n%s", err, eventLines(events))
	}
	return sum, events
}

// eventLines prints events one a line, for failure messages.
func eventLines(events []Event) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "  %s %s/%s %s %s\n", e.Type, e.Batch, e.Bundle, e.Object, e.Message)
	}
	return b.String()
}

// eventIndex returns the position of the first event of type typ for
// bundle, or -1.
func eventIndex(events []Event, typ, bundle string) int {
	return slices.IndexFunc(events, func(e Event) bool { return e.Type == typ && e.Bundle == bundle })
}

// eventKinds lists "type bundle" for every event, in order.
func eventKinds(events []Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Type+" "+e.Bundle)
	}
	return out
}

// lookup reads a live object; it returns nil and no error when there is
// none. Unlike get it may run on any goroutine.
func (k *testCluster) lookup(ctx context.Context, apiVersion, kind, namespace, name string) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(schema.FromAPIVersionAndKind(apiVersion, kind))
	err := k.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, u)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("get %s %s/%s: %w", kind, namespace, name, err)
	}
	return u, nil
}

// get reads a live object; it returns nil when there is none.
func (k *testCluster) get(ctx context.Context, t *testing.T, apiVersion, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	u, err := k.lookup(ctx, apiVersion, kind, namespace, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// exists reports whether a live object exists and is not being deleted.
func (k *testCluster) exists(ctx context.Context, t *testing.T, apiVersion, kind, namespace, name string) bool {
	t.Helper()
	u := k.get(ctx, t, apiVersion, kind, namespace, name)
	return u != nil && u.GetDeletionTimestamp() == nil
}

// inventoryIDs reads the inventory of the Plan's cluster clusterName and
// returns its IDs in stored order; nil when there is no inventory.
func (k *testCluster) inventoryIDs(ctx context.Context, t *testing.T) []string {
	t.Helper()
	return k.inventoryIDsOf(ctx, t, clusterName)
}

// inventoryIDsOf is inventoryIDs for the Plan's cluster named cluster.
func (k *testCluster) inventoryIDsOf(ctx context.Context, t *testing.T, cluster string) []string {
	t.Helper()
	inv, err := loadInventory(ctx, k.c, cluster)
	if err != nil {
		t.Fatalf("inventory: %v", err)
	}
	var ids []string
	for _, e := range inv.Entries {
		ids = append(ids, e.ID)
	}
	return ids
}

// condition returns the status of the condition of type typ of u, or "".
func condition(u *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == typ {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}

// containsAll reports the substrings of want that s lacks.
func containsAll(s string, want ...string) []string {
	var missing []string
	for _, w := range want {
		if !strings.Contains(s, w) {
			missing = append(missing, w)
		}
	}
	return missing
}
