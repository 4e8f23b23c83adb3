package deploy

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
)

// A deploy with a selection applies what it picks and nothing after it,
// fails before applying anything when what the picked bundles depend on is
// not ready, deploys those too with WithDeps, and prunes only what left
// the part it picks, keeping the other entries of the inventory.
func TestDeploySelection(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "select")
	ctx := testContext(t)
	const group = "select.example.com"
	stack := func(operators, services []plan.Bundle) *plan.Plan {
		return k.newPlan(t,
			batch("crds", 100, bundle("widget-crd", "default", widgetCRD(t, group, false))),
			batch("namespaces", 200, bundle("ns", "default", obj(t, `{apiVersion: v1, kind: Namespace, metadata: {name: select-ns}}`))),
			batch("operators", 300, operators...),
			batch("services", 600, services...),
		)
	}
	opA := bundle("op-a", "select-ns", configMap(t, "op-a"))
	opB := dependsOn(bundle("op-b", "select-ns", configMap(t, "op-b")), "op-a")
	svc := bundle("svc", "select-ns", widget(t, group, "svc", ""))
	full := stack([]plan.Bundle{opA, opB}, []plan.Bundle{svc})

	// applied lists "batch/bundle" of the bundles a deploy applied.
	applied := func(events []Event) []string {
		var out []string
		for _, e := range events {
			if e.Type == "done" {
				out = append(out, e.Batch+"/"+e.Bundle)
			}
		}
		slices.Sort(out)
		return out
	}
	notReady := func(err error) []string {
		t.Helper()
		var de *DependencyError
		if !errors.As(err, &de) {
			t.Fatalf("deploy error = %v, want a *DependencyError", err)
		}
		var out []string
		for _, n := range de.NotReady {
			out = append(out, n.Batch+"/"+n.Bundle+" "+n.Object.Status)
		}
		return out
	}

	// Services on an empty cluster: everything before it is missing, and
	// nothing is applied.
	_, events, err := deployPlan(ctx, t, full, Options{Select: plan.Selection{Batches: []string{"services"}}})
	want := []string{"crds/widget-crd Missing", "namespaces/ns Missing", "operators/op-a Missing", "operators/op-b Missing"}
	if diff := cmp.Diff(want, notReady(err)); diff != "" {
		t.Errorf("dependencies not ready (-want +got):\n%s", diff)
	}
	if got := applied(events); len(got) > 0 {
		t.Errorf("a deploy whose dependencies are not ready applied %v", got)
	}
	if ids := k.inventoryIDs(ctx, t); len(ids) > 0 {
		t.Errorf("inventory after a refused deploy: %v, want none", ids)
	}

	// Batch by batch: by priority, then by name.
	_, events = mustDeploy(ctx, t, full, Options{Select: plan.Selection{Batches: []string{"100"}}})
	if diff := cmp.Diff([]string{"crds/widget-crd"}, applied(events)); diff != "" {
		t.Errorf("--batch 100 applied (-want +got):\n%s", diff)
	}
	if k.exists(ctx, t, "v1", "Namespace", "", "select-ns") {
		t.Error("--batch 100 applied the later batch namespaces")
	}
	_, events = mustDeploy(ctx, t, full, Options{Select: plan.Selection{Until: "operators"}})
	if diff := cmp.Diff([]string{"crds/widget-crd", "namespaces/ns", "operators/op-a", "operators/op-b"}, applied(events)); diff != "" {
		t.Errorf("--until operators applied (-want +got):\n%s", diff)
	}
	if k.exists(ctx, t, group+"/v1", "Widget", "select-ns", "svc") {
		t.Error("--until operators applied the later batch services")
	}

	// A bundle whose dependsOn in its batch is not ready.
	opAObj := k.get(ctx, t, "v1", "ConfigMap", "select-ns", "op-a")
	if err := k.c.Delete(ctx, opAObj); err != nil {
		t.Fatal(err)
	}
	_, _, err = deployPlan(ctx, t, full, Options{Select: plan.Selection{Bundles: []string{"op-b"}}})
	if diff := cmp.Diff([]string{"operators/op-a Missing"}, notReady(err)); diff != "" {
		t.Errorf("--bundle op-b: dependencies not ready (-want +got):\n%s", diff)
	}
	_, events = mustDeploy(ctx, t, full, Options{Select: plan.Selection{Bundles: []string{"op-b"}, WithDeps: true}})
	if diff := cmp.Diff([]string{"crds/widget-crd", "namespaces/ns", "operators/op-a", "operators/op-b"}, applied(events)); diff != "" {
		t.Errorf("--bundle op-b --with-deps applied (-want +got):\n%s", diff)
	}
	if !k.exists(ctx, t, "v1", "ConfigMap", "select-ns", "op-a") {
		t.Error("--with-deps did not apply op-a again")
	}

	_, events = mustDeploy(ctx, t, full, Options{Select: plan.Selection{Batches: []string{"services"}}})
	if diff := cmp.Diff([]string{"services/svc"}, applied(events)); diff != "" {
		t.Errorf("--batch services applied (-want +got):\n%s", diff)
	}

	// Status reads only what is picked.
	sts, err := Status(ctx, full, renderPlan(ctx, t, full, nil), Options{Select: plan.Selection{Bundles: []string{"op-a", "svc"}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, st := range sts {
		got = append(got, st.Batch+"/"+st.Bundle+" "+st.State)
	}
	if diff := cmp.Diff([]string{"operators/op-a Ready", "services/svc Ready"}, got); diff != "" {
		t.Errorf("status --bundle op-a --bundle svc (-want +got):\n%s", diff)
	}

	// op-b and svc leave the Plan. A pruning deploy of services deletes
	// svc only; op-b, outside the selection, stays, and so does its
	// inventory entry, until operators is deployed with prune.
	small := stack([]plan.Bundle{opA}, []plan.Bundle{bundle("svc2", "select-ns", configMap(t, "svc2"))})
	before := k.inventoryIDs(ctx, t)
	mustDeploy(ctx, t, small, Options{Select: plan.Selection{Batches: []string{"services"}}, Prune: true})
	if k.exists(ctx, t, group+"/v1", "Widget", "select-ns", "svc") {
		t.Error("a pruning deploy of services kept svc, which left it")
	}
	if !k.exists(ctx, t, "v1", "ConfigMap", "select-ns", "op-b") {
		t.Error("a pruning deploy of services deleted op-b of operators, which it did not select")
	}
	wantIDs := slices.DeleteFunc(slices.Clone(before), func(id string) bool { return id == "select-ns_svc_"+group+"_Widget" })
	wantIDs = append(wantIDs, "select-ns_svc2__ConfigMap")
	slices.Sort(wantIDs)
	if diff := cmp.Diff(wantIDs, k.inventoryIDs(ctx, t)); diff != "" {
		t.Errorf("inventory after pruning services (-want +got):\n%s", diff)
	}
	mustDeploy(ctx, t, small, Options{Select: plan.Selection{Batches: []string{"operators"}}, Prune: true})
	if k.exists(ctx, t, "v1", "ConfigMap", "select-ns", "op-b") {
		t.Error("a pruning deploy of operators kept op-b, which left it")
	}
	if slices.Contains(k.inventoryIDs(ctx, t), "select-ns_op-b__ConfigMap") {
		t.Error("op-b is still in the inventory after it was pruned")
	}
	if !k.exists(ctx, t, "v1", "ConfigMap", "select-ns", "svc2") {
		t.Error("a pruning deploy of operators deleted svc2 of services")
	}
}

// Selection and inputs: the multi-primary mesh deployed batch by batch.
// Each cluster's batch services reads the token the other makes in its
// batch namespaces; a deploy of services alone is refused until
// namespaces is deployed, and then reads the tokens from the live
// clusters, the batches it skips neither waited for nor applied.
func TestDeploySelectionWithInputs(t *testing.T) {
	t.Parallel()
	east, west := startBare(t, "sel-east"), startBare(t, "sel-west")
	ctx := testContext(t)
	p := multiPlan(t, meshCluster(t, east, "east", "west", "namespaces"), meshCluster(t, west, "west", "east", "namespaces"))
	services := Options{Select: plan.Selection{Batches: []string{"services"}}}

	_, events, err := deployPlan(ctx, t, p, services)
	var de *DependencyError
	if !errors.As(err, &de) {
		t.Fatalf("deploy --batch services first: %v, want a *DependencyError\n%s", err, eventLines(events))
	}
	if east.get(ctx, t, "v1", "ConfigMap", "istio-system", "remote") != nil {
		t.Error("the refused deploy applied east's batch services")
	}

	_, events = mustDeploy(ctx, t, p, Options{Select: plan.Selection{Batches: []string{"namespaces"}}})
	if i := eventOf(events, "east", "start", "remote-secrets"); i >= 0 {
		t.Errorf("--batch namespaces started batch services: %v", clusterEvents(events))
	}
	if east.get(ctx, t, "v1", "ConfigMap", "istio-system", "remote") != nil {
		t.Error("--batch namespaces applied east's batch services")
	}

	_, events = mustDeploy(ctx, t, p, services)
	if i := eventOf(events, "east", "start", "token"); i >= 0 {
		t.Errorf("--batch services applied batch namespaces again: %v", clusterEvents(events))
	}
	for _, c := range []struct {
		k           *testCluster
		name, token string
	}{{east, "east", "west-secret"}, {west, "west", "east-secret"}} {
		if diff := cmp.Diff(map[string]string{"token": c.token}, c.k.dataOf(ctx, t, "istio-system", "remote")); diff != "" {
			t.Errorf("%s's ConfigMap remote (-want +got):\n%s", c.name, diff)
		}
	}
}
