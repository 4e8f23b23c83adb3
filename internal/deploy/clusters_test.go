package deploy

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/testenv"
)

// startBare starts a control plane of etcd and kube-apiserver only: enough
// for objects no controller needs to act on.
func startBare(t *testing.T, name string) *testCluster {
	t.Helper()
	env := testenv.Start(t, testenv.Options{Name: name})
	c, err := client.New(env.RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &testCluster{env: env, c: c}
}

// cluster returns a Plan cluster named name that is reached through the
// kubeconfig of k.
func (k *testCluster) cluster(name string, batches ...plan.Batch) plan.Cluster {
	return plan.Cluster{Name: name, Target: "testenv", Context: k.env.Context, Kubeconfig: k.env.Kubeconfig,
		KubeVersion: kubeVersion, Batches: batches}
}

// withInputs returns c reading inputs.
func withInputs(c plan.Cluster, inputs ...plan.Input) plan.Cluster {
	c.Inputs = inputs
	return c
}

// clusterDependsOn returns c depending on clusters.
func clusterDependsOn(c plan.Cluster, clusters ...string) plan.Cluster {
	c.DependsOn = clusters
	return c
}

// multiPlan returns the normalized Plan of clusters.
func multiPlan(t *testing.T, clusters ...plan.Cluster) *plan.Plan {
	t.Helper()
	p := &plan.Plan{APIVersion: plan.APIVersion, Kind: plan.Kind, Clusters: clusters}
	if err := plan.Normalize(p); err != nil {
		t.Fatalf("normalize: %v", err)
	}
	return p
}

// clusterEvents lists "cluster type bundle-or-input" for every event, in
// order, for failure messages and order assertions.
func clusterEvents(events []Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, strings.TrimSpace(e.Cluster+" "+e.Type+" "+e.Bundle+e.Input))
	}
	return out
}

// firstEvent returns the position of the first event of cluster that
// matches typ ("" for any), or -1.
func firstEvent(events []Event, cluster, typ string) int {
	return slices.IndexFunc(events, func(e Event) bool { return e.Cluster == cluster && (typ == "" || e.Type == typ) })
}

// loadBalancer plays the load-balancer controller of a cluster, which
// kube-apiserver alone does not run: once a deploy waits for input, it sets
// the status.loadBalancer of the Service namespace/name to ip, as a cloud's
// controller or k3s's service load balancer would.
type loadBalancer struct {
	k                      *testCluster
	namespace, name, input string
	ip                     string

	once sync.Once
	err  chan error
}

// play returns the OnEvent that sets the address.
func (lb *loadBalancer) play(ctx context.Context) func(Event) {
	lb.err = make(chan error, 1)
	return func(e Event) {
		if e.Type != "input-wait" || e.Input != lb.input {
			return
		}
		lb.once.Do(func() {
			go func() {
				svc := &unstructured.Unstructured{}
				svc.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "Service"})
				svc.SetNamespace(lb.namespace)
				svc.SetName(lb.name)
				patch := fmt.Sprintf(`{"status":{"loadBalancer":{"ingress":[{"ip":%q}]}}}`, lb.ip)
				lb.err <- lb.k.c.Status().Patch(ctx, svc, client.RawPatch(types.MergePatchType, []byte(patch)))
			}()
		})
	}
}

// check fails the test unless the address was set after the deploy of
// events waited for it.
func (lb *loadBalancer) check(t *testing.T, events []Event) {
	t.Helper()
	select {
	case err := <-lb.err:
		if err != nil {
			t.Fatalf("set the Service's load balancer status: %v", err)
		}
	default:
		t.Fatalf("the deploy never waited for input %s: %v", lb.input, clusterEvents(events))
	}
}

// dataOf returns the data of a live ConfigMap, or nil when it does not
// exist.
func (k *testCluster) dataOf(ctx context.Context, t *testing.T, namespace, name string) map[string]string {
	t.Helper()
	u := k.get(ctx, t, "v1", "ConfigMap", namespace, name)
	if u == nil {
		return nil
	}
	data, _, _ := unstructured.NestedStringMap(u.Object, "data")
	return data
}

// A value read at deploy time from one cluster ends up in another: the hub
// gets a LoadBalancer Service and a Secret; the spoke's ConfigMap uses the
// Service's address and the Secret's token. The hub is deployed before the
// spoke starts, and the spoke waits until the address is there. Then diff
// and status read the inputs without waiting, a deploy of the spoke alone
// reads them from the hub without deploying it, and an input whose object
// is gone leaves its reference in diff's output.
func TestDeployInputsAcrossClusters(t *testing.T) {
	t.Parallel()
	hub, spoke := startBare(t, "hub"), startBare(t, "spoke")
	ctx := testContext(t)
	p := multiPlan(t,
		hub.cluster("hub", batch("services", 0, bundle("gw", "gw",
			obj(t, `{apiVersion: v1, kind: Service, metadata: {name: gw}, spec: {type: LoadBalancer, ports: [{name: https, port: 443}]}}`),
			obj(t, `{apiVersion: v1, kind: Secret, metadata: {name: token}, data: {token: %s}}`, base64.StdEncoding.EncodeToString([]byte("s3cret"))),
		))),
		withInputs(spoke.cluster("spoke", batch("apps", 0, bundle("app", "app",
			obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: app}, data: {url: "https://((input hub-address)):6443", auth: "Bearer ((input token))", plain: x}}`),
		))),
			plan.Input{Name: "hub-address", From: plan.InputSource{Cluster: "hub", APIVersion: "v1", Kind: "Service", Namespace: "gw", Name: "gw",
				Expression: "status.loadBalancer.ingress[0].ip", Timeout: "60s"}},
			plan.Input{Name: "token", From: plan.InputSource{Cluster: "hub", APIVersion: "v1", Kind: "Secret", Namespace: "gw", Name: "token",
				Expression: "string(base64.decode(data.token))"}},
		),
	)

	// The test plays the hub's load-balancer controller, which kube-apiserver
	// alone does not run.
	const lbIP = "172.18.0.42"
	lb := &loadBalancer{k: hub, namespace: "gw", name: "gw", input: "hub-address", ip: lbIP}
	sum, events := mustDeploy(ctx, t, p, Options{OnEvent: lb.play(ctx)})
	lb.check(t, events)

	want := map[string]string{"url": "https://" + lbIP + ":6443", "auth": "Bearer s3cret", "plain": "x"}
	if diff := cmp.Diff(want, spoke.dataOf(ctx, t, "app", "app")); diff != "" {
		t.Errorf("the spoke's ConfigMap app/app (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&Summary{Bundles: 2, Objects: 3, Created: 3}, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	// Order: the hub's batch services, which makes both objects, is done
	// before the spoke does anything but say that it waits for it. (Deploy
	// orders batches, not clusters: the spoke need not wait for the rest
	// of the hub's deploy, its inventory, whose "cluster" event may come
	// after the spoke's first events.) The spoke waits for the address,
	// has both inputs, then applies.
	hubDone := slices.IndexFunc(events, func(e Event) bool { return e.Cluster == "hub" && e.Type == "done" && e.Bundle == "gw" })
	spokeFirst := slices.IndexFunc(events, func(e Event) bool { return e.Cluster == "spoke" && e.Type != "note" })
	if hubDone < 0 || spokeFirst < hubDone {
		t.Errorf("the spoke started before the hub's batch services was done: %v", clusterEvents(events))
	}
	var spokeEvents []string
	for i, e := range events {
		if e.Cluster != "spoke" {
			continue
		}
		if e.Type == "note" {
			if want := "batch apps waits for cluster hub batch services (input hub-address)"; i > spokeFirst || e.Message != want {
				t.Errorf("note %d %q, want %q before the spoke's other events", i, e.Message, want)
			}
			continue
		}
		spokeEvents = append(spokeEvents, clusterEvents([]Event{e})...)
	}
	slices.Sort(spokeEvents[:3]) // the inputs are read in parallel
	if diff := cmp.Diff([]string{"spoke input hub-address", "spoke input token", "spoke input-wait hub-address", "spoke start app", "spoke namespace app", "spoke done app", "spoke cluster"}, spokeEvents); diff != "" {
		t.Errorf("the spoke's events (-want +got):\n%s", diff)
	}

	// diff and status read the inputs once: nothing differs, all is ready.
	r := renderPlan(ctx, t, p, nil)
	var warnings []string
	collect := func(e Event) {
		if e.Type == "warning" {
			warnings = append(warnings, e.Cluster+": "+e.Message)
		}
	}
	changes, err := Diff(ctx, p, r, Options{OnEvent: collect})
	if err != nil || len(changes) > 0 || len(warnings) > 0 {
		t.Errorf("diff after the deploy: %v, %v, warnings %v", changes, err, warnings)
	}
	sts, err := Status(ctx, p, r, Options{OnEvent: collect})
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	for _, st := range sts {
		if st.State != "Ready" {
			t.Errorf("status of %s/%s: %s %v", st.Cluster, st.Bundle, st.State, st.NotReady)
		}
	}

	// The spoke alone: its inputs come from the live hub, which is not
	// deployed.
	_, events = mustDeploy(ctx, t, p, Options{Clusters: []string{"spoke"}})
	if i := firstEvent(events, "hub", ""); i >= 0 {
		t.Errorf("the hub was deployed: %v", clusterEvents(events))
	}
	note := slices.IndexFunc(events, func(e Event) bool { return e.Type == "note" })
	if note < 0 || events[note].Message != "reads inputs from cluster hub, which is not selected: from its live state, without deploying it" {
		t.Errorf("no note on the hub, which is not selected: %v", clusterEvents(events))
	}

	// Without the Secret, diff reads no token: a warning names the input,
	// and the diff shows the reference in its place.
	if err := hub.c.Delete(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "token", "namespace": "gw"},
	}}); err != nil {
		t.Fatal(err)
	}
	warnings = nil
	changes, err = Diff(ctx, p, r, Options{Clusters: []string{"spoke"}, OnEvent: collect})
	if err != nil {
		t.Fatalf("diff: %v", err)
	}
	wantWarning := `spoke: input token: no value from Secret/gw/token in cluster hub (expression "string(base64.decode(data.token))"): not found: the reference ((input token)) stays in its place`
	if diff := cmp.Diff([]string{wantWarning}, warnings); diff != "" {
		t.Errorf("diff's warnings (-want +got):\n%s", diff)
	}
	if len(changes) != 1 || changes[0].Object != "ConfigMap/app/app" || !strings.Contains(changes[0].Diff, "+  auth: Bearer ((input token))") {
		t.Errorf("diff without the token: %+v", changes)
	}
}

// Clusters that do not depend on each other deploy at the same time. Each
// of east and west has a ConfigMap that is ready only when the test opens
// it, and the test opens each cluster's only once the other cluster's
// bundle has started: one after the other, the deploy could not finish.
func TestDeployClustersInParallel(t *testing.T) {
	t.Parallel()
	a, b := startBare(t, "east"), startBare(t, "west")
	ctx := testContext(t)
	gate := func(k *testCluster, name string) plan.Cluster {
		u := bundle("gate", "gate", obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: gate}, data: {cluster: %s}}`, name))
		u.Readiness = []plan.Readiness{{APIVersion: "v1", Kind: "ConfigMap", Current: "has(data.open)"}}
		u.Timeout = "60s"
		return k.cluster(name, batch("apps", 0, u))
	}
	p := multiPlan(t, gate(a, "east"), gate(b, "west"))
	other := map[string]*testCluster{"east": b, "west": a}
	opened := make(chan error, 2)
	open := func(e Event) {
		if e.Type != "start" {
			return
		}
		k := other[e.Cluster]
		go func() {
			// Wait for the other cluster's ConfigMap, then open it.
			for ctx.Err() == nil {
				u, err := k.lookup(ctx, "v1", "ConfigMap", "gate", "gate")
				if err != nil || u != nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			cm := &unstructured.Unstructured{}
			cm.SetGroupVersionKind(schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"})
			cm.SetNamespace("gate")
			cm.SetName("gate")
			opened <- k.c.Patch(ctx, cm, client.RawPatch(types.MergePatchType, []byte(`{"data":{"open":"yes"}}`)))
		}()
	}
	_, events := mustDeploy(ctx, t, p, Options{OnEvent: open})
	for range 2 {
		if err := <-opened; err != nil {
			t.Errorf("open a gate: %v", err)
		}
	}
	for _, c := range [][2]string{{"east", "west"}, {"west", "east"}} {
		if started, otherDone := firstEvent(events, c[0], "start"), firstEvent(events, c[1], "done"); started < 0 || otherDone < started {
			t.Errorf("%s started after %s was done: %v", c[0], c[1], clusterEvents(events))
		}
	}
}

// A cluster whose input has no value in time fails with a message naming
// the cluster, input, object, expression and why; nothing of it is
// applied. A namespaced kind without a namespace fails at once.
func TestDeployInputErrors(t *testing.T) {
	t.Parallel()
	hub, spoke := startBare(t, "in-hub"), startBare(t, "in-spoke")
	ctx := testContext(t)
	hubCluster := hub.cluster("hub", batch("services", 0, bundle("addr", "hub", configMap(t, "addr"))))
	tests := []struct {
		name string
		from plan.InputSource
		want string
	}{{
		name: "timeout",
		from: plan.InputSource{Cluster: "hub", APIVersion: "v1", Kind: "ConfigMap", Namespace: "hub", Name: "addr", Expression: "data.address", Timeout: "1s"},
		want: `cluster spoke: input hub-address: no value from ConfigMap/hub/addr in cluster hub after 1s (expression "data.address"): no such key: address`,
	}, {
		name: "object missing",
		from: plan.InputSource{Cluster: "hub", APIVersion: "v1", Kind: "ConfigMap", Namespace: "hub", Name: "nope", Expression: "data.address", Timeout: "1s"},
		want: `cluster spoke: input hub-address: no value from ConfigMap/hub/nope in cluster hub after 1s (expression "data.address"): not found`,
	}, {
		name: "no namespace",
		from: plan.InputSource{Cluster: "hub", APIVersion: "v1", Kind: "ConfigMap", Name: "addr", Expression: "data.key"},
		want: `cluster spoke: input hub-address: ConfigMap/addr in cluster hub: ConfigMap is namespaced: set from.namespace`,
	}, {
		name: "kind not served",
		from: plan.InputSource{Cluster: "hub", APIVersion: "example.com/v1", Kind: "Gateway", Namespace: "hub", Name: "gw", Expression: "status.address", Timeout: "1s"},
		want: `cluster spoke: input hub-address: no value from Gateway/hub/gw in cluster hub after 1s (expression "status.address"): the cluster does not serve example.com/v1 Gateway`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := multiPlan(t, hubCluster, withInputs(
				spoke.cluster("spoke", batch("apps", 0, bundle("app", "app",
					obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: app}, data: {address: "((input hub-address))"}}`)))),
				plan.Input{Name: "hub-address", From: tt.from}))
			_, events, err := deployPlan(ctx, t, p, Options{})
			if err == nil || err.Error() != tt.want {
				t.Errorf("error:\n got %v\nwant %s", err, tt.want)
			}
			if spoke.dataOf(ctx, t, "app", "app") != nil {
				t.Error("the spoke's ConfigMap was applied")
			}
			if i := firstEvent(events, "spoke", "failed"); i < 0 || events[i].Bundle != "" {
				t.Errorf("no failed event for cluster spoke: %v", clusterEvents(events))
			}
		})
	}
}

// A cluster that fails skips the clusters that depend on it, directly or
// not, and lets the others finish.
func TestDeployFailedClusterSkipsDependents(t *testing.T) {
	t.Parallel()
	one, two := startBare(t, "fail-one"), startBare(t, "fail-two")
	ctx := testContext(t)
	p := multiPlan(t,
		one.cluster("hub", batch("services", 0, bundle("bad", "hub",
			obj(t, `{apiVersion: v1, kind: Service, metadata: {name: bad}, spec: {ports: [{port: 999999}]}}`)))),
		clusterDependsOn(two.cluster("spoke", batch("apps", 0, bundle("spoke", "spoke", configMap(t, "spoke")))), "hub"),
		clusterDependsOn(two.cluster("edge", batch("apps", 0, bundle("edge", "edge", configMap(t, "edge")))), "spoke"),
		two.cluster("other", batch("apps", 0, bundle("other", "other", configMap(t, "other")))),
	)
	_, events, err := deployPlan(ctx, t, p, Options{})
	if err == nil {
		t.Fatal("deploy succeeded")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{
		"cluster edge: not deployed: it depends on cluster spoke, which was not deployed",
		"cluster hub: batch services: bundle bad: ",
		"cluster spoke: not deployed: it depends on cluster hub, which failed",
	}
	if len(lines) != len(want) {
		t.Fatalf("error has %d lines, want %d:\n%v", len(lines), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("error line %d:\n got %s\nwant %s...", i, lines[i], want[i])
		}
	}
	for _, c := range []struct {
		cluster, typ string
	}{{"hub", "failed"}, {"spoke", "skipped"}, {"edge", "skipped"}, {"other", "cluster"}} {
		if firstEvent(events, c.cluster, c.typ) < 0 {
			t.Errorf("no %s event for %s: %v", c.typ, c.cluster, clusterEvents(events))
		}
	}
	if two.dataOf(ctx, t, "other", "other") == nil {
		t.Error("the independent cluster other was not deployed")
	}
	if two.dataOf(ctx, t, "spoke", "spoke") != nil || two.dataOf(ctx, t, "edge", "edge") != nil {
		t.Error("a cluster that depends on the failed one was deployed")
	}
}

// Deploy refuses a Plan whose clusters depend on each other before it
// connects to any (Normalize would have refused it too).
func TestDeployClusterCycle(t *testing.T) {
	t.Parallel()
	c := func(name string, deps ...string) plan.Cluster {
		return plan.Cluster{Name: name, Context: "none", Kubeconfig: "/nonexistent", DependsOn: deps}
	}
	p := &plan.Plan{APIVersion: plan.APIVersion, Kind: plan.Kind, Clusters: []plan.Cluster{c("a", "b"), c("b", "c"), c("c", "b"), c("d")}}
	var events []Event
	_, err := Deploy(t.Context(), p, nil, Options{OnEvent: func(e Event) { events = append(events, e) }})
	want := "clusters depend on each other (dependsOn): b -> c -> b"
	if err == nil || err.Error() != want || len(events) > 0 {
		t.Errorf("Deploy = %v, events %v; want %s and no events", err, clusterEvents(events), want)
	}
}

func TestFindCycle(t *testing.T) {
	tests := []struct {
		name  string
		graph map[string][]string
		want  []string
	}{
		{name: "none", graph: map[string][]string{"a": {"b", "c"}, "b": {"c"}}},
		{name: "self", graph: map[string][]string{"a": {"a"}}, want: []string{"a", "a"}},
		{name: "three", graph: map[string][]string{"x": {"a"}, "a": {"b"}, "b": {"c"}, "c": {"a"}}, want: []string{"a", "b", "c", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nodes := slices.Sorted(maps.Keys(tt.graph))
			if diff := cmp.Diff(tt.want, findCycle(nodes, func(n string) []string { return tt.graph[n] })); diff != "" {
				t.Errorf("findCycle (-want +got):\n%s", diff)
			}
		})
	}
}
