package deploy

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// A deploy cut off by a kube-apiserver crash while a batch waits; once the
// server is back, a Plan without some of what the deploy applied is
// deployed with prune: exactly the objects the Plan no longer has are
// deleted, the one applied just before the crash included, and the
// inventory lists the Plan's objects.
func TestDeployAPIServerRestartThenPrune(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "restartprune")
	ctx := testContext(t)
	const ns = "crash"
	gate := bundle("gate", ns, configMap(t, "gate"))
	gate.Readiness = []plan.Readiness{{APIVersion: "v1", Kind: "ConfigMap", Current: "has(data.ready)"}}
	gate.Timeout = "4s"
	p := k.newPlan(t,
		batch("first", 0, bundle("one", ns, configMap(t, "one"), configMap(t, "two"))),
		batch("middle", 10, gate),
		batch("last", 20, bundle("three", ns, configMap(t, "three"))),
	)
	type result struct {
		events []Event
		err    error
	}
	rendered := renderPlan(ctx, t, p, nil)
	res := make(chan result, 1)
	go func() {
		_, events, err := deployRendered(ctx, t, p, rendered, Options{})
		res <- result{events, err}
	}()
	for !k.exists(ctx, t, "v1", "ConfigMap", ns, "gate") {
		select {
		case r := <-res:
			t.Fatalf("deploy ended before the gate was applied: %v\n%s", r.err, eventLines(r.events))
		case <-time.After(50 * time.Millisecond):
		}
	}
	k.env.StopAPIServer(t)
	var r result
	select {
	case r = <-res:
	case <-time.After(30 * time.Second):
		t.Fatal("deploy did not end within 30s of the kube-apiserver crash")
	}
	if r.err == nil {
		t.Fatalf("deploy succeeded although kube-apiserver died during it:\n%s", eventLines(r.events))
	}
	k.env.StartAPIServer(t)

	next := k.newPlan(t,
		batch("first", 0, bundle("one", ns, configMap(t, "one"))),
		batch("last", 20, bundle("four", ns, configMap(t, "four"))),
	)
	mustDeploy(ctx, t, next, Options{Prune: true})
	var list unstructured.UnstructuredList
	list.SetAPIVersion("v1")
	list.SetKind("ConfigMapList")
	if err := k.c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{render.LabelCluster: clusterName}); err != nil {
		t.Fatal(err)
	}
	var live []string
	for _, u := range list.Items {
		if u.GetDeletionTimestamp() == nil {
			live = append(live, u.GetName())
		}
	}
	slices.Sort(live)
	if diff := cmp.Diff([]string{"four", "one"}, live); diff != "" {
		t.Errorf("ConfigMaps after the prune (-want +got):\n%s", diff)
	}
	ids := k.inventoryIDs(ctx, t)
	slices.Sort(ids)
	if diff := cmp.Diff([]string{ns + "_four__ConfigMap", ns + "_one__ConfigMap"}, ids); diff != "" {
		t.Errorf("inventory after the prune (-want +got):\n%s", diff)
	}
}
