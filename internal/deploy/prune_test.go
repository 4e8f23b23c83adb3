package deploy

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
)

// refuseDelete makes the API server refuse to delete ConfigMap ns/name, by
// a ValidatingAdmissionPolicy, and returns once it does; the returned
// function lifts the refusal.
func (k *testCluster) refuseDelete(ctx context.Context, t *testing.T, ns, name string) func() {
	t.Helper()
	policy := obj(t, `{apiVersion: admissionregistration.k8s.io/v1, kind: ValidatingAdmissionPolicy, metadata: {name: keep-%[1]s},
spec: {failurePolicy: Fail,
  matchConstraints: {resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [configmaps]}]},
  validations: [{expression: "oldObject.metadata.namespace != '%[2]s' || oldObject.metadata.name != '%[1]s'", message: "%[1]s may not be deleted"}]}}`, name, ns)
	binding := obj(t, `{apiVersion: admissionregistration.k8s.io/v1, kind: ValidatingAdmissionPolicyBinding, metadata: {name: keep-%[1]s},
spec: {policyName: keep-%[1]s, validationActions: [Deny]}}`, name)
	for _, o := range []plan.Object{policy, binding} {
		if err := k.c.Create(ctx, &unstructured.Unstructured{Object: o}); err != nil {
			t.Fatalf("create %s: %v", o["kind"], err)
		}
	}
	// The policy takes effect a moment later: until a dry-run delete is
	// refused.
	cm := &corev1.ConfigMap{}
	cm.Namespace, cm.Name = ns, name
	for {
		err := k.c.Delete(ctx, cm, client.DryRunAll)
		if err != nil && strings.Contains(err.Error(), "may not be deleted") {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the policy refusing to delete ConfigMap %s/%s never took effect: %v", ns, name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return func() {
		t.Helper()
		if err := k.c.Delete(ctx, &unstructured.Unstructured{Object: binding}); err != nil {
			t.Fatal(err)
		}
		for {
			err := k.c.Delete(ctx, cm, client.DryRunAll)
			if err == nil {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("ConfigMap %s/%s still may not be deleted: %v", ns, name, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestDeployPruneRefused prunes two ConfigMaps that left the Plan; the API
// server refuses to delete one (an admission policy). The deploy fails
// with an error naming the bundle, the object and the server's reason; the
// other is pruned; the refused one stays in the inventory, so that the
// next prune, once the server allows it, deletes it.
func TestDeployPruneRefused(t *testing.T) {
	k := startCluster(t, "prunerefused")
	ctx := testContext(t)
	const ns = "refused"
	mustDeploy(ctx, t, k.newPlan(t, batch("apps", 100,
		bundle("keep", ns, configMap(t, "keep")),
		bundle("gone", ns, configMap(t, "guarded"), configMap(t, "free")))), Options{})
	lift := k.refuseDelete(ctx, t, ns, "guarded")

	next := k.newPlan(t, batch("apps", 100, bundle("keep", ns, configMap(t, "keep"))))
	_, events, err := deployPlan(ctx, t, next, Options{Prune: true})
	if err == nil {
		t.Fatalf("deploy --prune succeeded although ConfigMap %s/guarded could not be deleted\n%s", ns, eventLines(events))
	}
	want := []string{"cluster test: prune: bundle gone: ConfigMap/" + ns + "/guarded: ", "guarded may not be deleted"}
	if missing := containsAll(err.Error(), want...); len(missing) > 0 {
		t.Errorf("error lacks %q:\n%v", missing, err)
	}
	if strings.Contains(err.Error(), "/free") {
		t.Errorf("error names ConfigMap free, which was pruned:\n%v", err)
	}
	if k.exists(ctx, t, "v1", "ConfigMap", ns, "free") || !k.exists(ctx, t, "v1", "ConfigMap", ns, "guarded") {
		t.Errorf("after the refused prune: free exists %v (want false), guarded exists %v (want true)",
			k.exists(ctx, t, "v1", "ConfigMap", ns, "free"), k.exists(ctx, t, "v1", "ConfigMap", ns, "guarded"))
	}
	ids := k.inventoryIDs(ctx, t)
	slices.Sort(ids)
	if diff := cmp.Diff([]string{ns + "_guarded__ConfigMap", ns + "_keep__ConfigMap"}, ids); diff != "" {
		t.Errorf("inventory after the refused prune (-want +got):\n%s", diff)
	}

	lift()
	mustDeploy(ctx, t, next, Options{Prune: true})
	if k.exists(ctx, t, "v1", "ConfigMap", ns, "guarded") {
		t.Errorf("the next prune did not delete ConfigMap %s/guarded", ns)
	}
	if diff := cmp.Diff([]string{ns + "_keep__ConfigMap"}, k.inventoryIDs(ctx, t)); diff != "" {
		t.Errorf("inventory after the next prune (-want +got):\n%s", diff)
	}
}
