package deploy

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// diffGroup is the API group of the Widgets of the diff tests.
const diffGroup = "diff.example.com"

// diffPlan says which bundles the Plan of TestDiffAgreesWithDeploy has.
type diffPlan struct {
	crd, ns, widgets, rel, extra bool
	// settings is data.key of ConfigMap diff-ns/settings.
	settings string
}

// plan makes the Plan: batch crds, the Widget CRD (prune: true); batch
// namespaces, Namespace diff-ns; batch apps, ConfigMaps in diff-ns, a
// bundle that makes its own namespace diff-own and a ConfigMap in it, a
// Widget, and a ConfigMap in diff-release, which deploy creates; batch
// late, Namespace diff-release, which deploy has created by then.
func (c diffPlan) plan(t *testing.T, k *testCluster) *plan.Plan {
	var batches []plan.Batch
	if c.crd {
		crd := bundle("widget-crd", "default", widgetCRD(t, diffGroup, false))
		crd.Prune = true
		batches = append(batches, batch("crds", 0, crd))
	}
	if c.ns {
		batches = append(batches, batch("namespaces", 5, bundle("ns", "default", obj(t, `{apiVersion: v1, kind: Namespace, metadata: {name: diff-ns}}`))))
	}
	apps := []plan.Bundle{
		bundle("cfg", "diff-ns", obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {key: %s}}`, c.settings)),
		bundle("own", "default",
			obj(t, `{apiVersion: v1, kind: Namespace, metadata: {name: diff-own}}`),
			obj(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: own, namespace: diff-own}, data: {a: b}}`)),
	}
	if c.widgets {
		apps = append(apps, bundle("widgets", "diff-ns", widget(t, diffGroup, "w1", "")))
	}
	if c.rel {
		apps = append(apps, bundle("rel", "diff-release", configMap(t, "rel")))
	}
	if c.extra {
		apps = append(apps, bundle("extra", "diff-ns", configMap(t, "extra")))
	}
	return k.newPlan(t, append(batches, batch("apps", 10, apps...),
		batch("late", 20, bundle("late", "default", obj(t, `{apiVersion: v1, kind: Namespace, metadata: {name: diff-release}}`))))...)
}

// changeMessage and changeUnvalidated read the fields of a Change that
// say more than its action.
func changeMessage(c Change) string   { return c.Message }
func changeUnvalidated(c Change) bool { return c.Unvalidated }

// TestDiffAgreesWithDeploy changes a Plan step by step, from a first deploy
// to an empty cluster on, and at each step runs Diff, then a dry-run
// Deploy, then Deploy, all with prune, on the same cluster: Diff lists
// what Deploy then does, object by object where Deploy says which (the
// namespaces it creates, what it prunes and keeps, the conflicts it
// refuses) and in number for the rest, and the dry run's summary is the
// deploy's.
func TestDiffAgreesWithDeploy(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "diff-deploy")
	ctx := testContext(t)
	const kept = "CRDs, Namespaces and PersistentVolumeClaims are kept unless their bundle says prune: true"
	base := diffPlan{crd: true, ns: true, widgets: true, rel: true, settings: "one"}
	with := func(change func(*diffPlan)) diffPlan {
		c := base
		change(&c)
		return c
	}
	steps := []struct {
		name  string
		plan  diffPlan
		force bool
		// before changes the cluster before the step.
		before func(t *testing.T)
		// want lists the changes "action object: message" of Diff.
		want []string
		// wantUnvalidated lists the objects the server could not check.
		wantUnvalidated []string
		// conflict is set when Deploy refuses a conflict.
		conflict bool
	}{{
		name: "first deploy to an empty cluster",
		plan: base,
		want: []string{
			"configure Namespace/diff-release: created earlier by this deploy as a missing release namespace",
			"create ConfigMap/diff-ns/settings: not validated by the server: namespace diff-ns is created by this deploy first",
			"create ConfigMap/diff-own/own: not validated by the server: namespace diff-own is created by this deploy first",
			"create ConfigMap/diff-release/rel: not validated by the server: namespace diff-release is created by this deploy first",
			"create CustomResourceDefinition/widgets." + diffGroup, "create Namespace/diff-ns", "create Namespace/diff-own",
			"create Widget/diff-ns/w1: not validated by the server: its CRD is created by this deploy first",
			"namespace Namespace/diff-release",
		},
		wantUnvalidated: []string{"ConfigMap/diff-ns/settings", "ConfigMap/diff-own/own", "ConfigMap/diff-release/rel", "Widget/diff-ns/w1"},
	}, {
		name: "unchanged",
		plan: base,
	}, {
		name: "modify",
		plan: with(func(c *diffPlan) { c.settings = "two" }),
		want: []string{"configure ConfigMap/diff-ns/settings"},
	}, {
		name: "create",
		plan: with(func(c *diffPlan) { c.settings, c.extra = "two", true }),
		want: []string{"create ConfigMap/diff-ns/extra"},
	}, {
		name: "prune",
		plan: with(func(c *diffPlan) { c.settings = "two" }),
		want: []string{"prune ConfigMap/diff-ns/extra"},
	}, {
		name: "kept namespace",
		plan: with(func(c *diffPlan) { c.settings, c.ns = "two", false }),
		want: []string{"keep Namespace/diff-ns: " + kept},
	}, {
		name: "kept namespace, again",
		plan: with(func(c *diffPlan) { c.settings, c.ns = "two", false }),
		want: []string{"keep Namespace/diff-ns: " + kept},
	}, {
		name: "taken over by someone else",
		plan: with(func(c *diffPlan) { c.settings, c.ns, c.rel = "two", false, false }),
		before: func(t *testing.T) {
			patch := client.RawPatch("application/merge-patch+json", []byte(`{"metadata":{"labels":{"`+render.LabelCluster+`":null}}}`))
			if err := k.c.Patch(ctx, k.get(ctx, t, "v1", "ConfigMap", "diff-release", "rel"), patch); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{
			"keep ConfigMap/diff-release/rel: it no longer carries " + render.LabelCluster + "=" + clusterName,
			"keep Namespace/diff-ns: " + kept,
		},
	}, {
		name: "conflict",
		plan: with(func(c *diffPlan) { c.settings, c.ns, c.rel = "three", false, false }),
		before: func(t *testing.T) {
			theirs := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": "settings", "namespace": "diff-ns"},
				"data":     map[string]any{"key": "theirs"},
			}}
			if err := k.c.Patch(ctx, theirs, client.Apply, client.FieldOwner("kubectl"), client.ForceOwnership); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{
			"configure ConfigMap/diff-ns/settings",
			`conflict ConfigMap/diff-ns/settings: 1 conflict: conflict with "kubectl": .data.key`,
			"keep Namespace/diff-ns: " + kept,
		},
		conflict: true,
	}, {
		name:  "conflict, forced",
		plan:  with(func(c *diffPlan) { c.settings, c.ns, c.rel = "three", false, false }),
		force: true,
		want:  []string{"configure ConfigMap/diff-ns/settings", "keep Namespace/diff-ns: " + kept},
	}, {
		name: "CRD pruned with its custom resources",
		plan: with(func(c *diffPlan) { c.settings, c.ns, c.rel, c.crd, c.widgets = "three", false, false, false, false }),
		before: func(t *testing.T) {
			mine := &unstructured.Unstructured{Object: widget(t, diffGroup, "user-made", "")}
			mine.SetNamespace("diff-ns")
			if err := k.c.Create(ctx, mine); err != nil {
				t.Fatal(err)
			}
		},
		want: []string{
			"keep Namespace/diff-ns: " + kept,
			"prune CustomResourceDefinition/widgets." + diffGroup + ": deleting it deletes its 1 custom resources (Widget) too: Widget/diff-ns/user-made",
			"prune Widget/diff-ns/w1",
		},
	}}
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			if st.before != nil {
				st.before(t)
			}
			p := st.plan.plan(t, k)
			opts := Options{Prune: true, ForceConflicts: st.force, Interval: testInterval}
			r := renderPlan(ctx, t, p, nil)
			changes, err := Diff(ctx, p, r, opts)
			if err != nil {
				t.Fatalf("diff: %v", err)
			}
			var got, unvalidated, conflicts []string
			count := map[string]int{}
			for _, c := range changes {
				line := c.Action + " " + c.Object
				if m := changeMessage(c); m != "" {
					line += ": " + m
				}
				got = append(got, line)
				count[c.Action]++
				if changeUnvalidated(c) {
					unvalidated = append(unvalidated, c.Object)
				}
				if c.Action == "conflict" {
					conflicts = append(conflicts, c.Object+": "+changeMessage(c))
				}
			}
			slices.Sort(got)
			slices.Sort(unvalidated)
			if diff := cmp.Diff(st.want, got); diff != "" {
				t.Errorf("diff's changes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(st.wantUnvalidated, unvalidated); diff != "" {
				t.Errorf("objects not validated by the server (-want +got):\n%s", diff)
			}

			dry, dryEvents, dryErr := deployRendered(ctx, t, p, r, Options{Prune: true, ForceConflicts: st.force, DryRun: true})
			var dryUnvalidated []string
			for _, e := range dryEvents {
				dryUnvalidated = append(dryUnvalidated, e.Unvalidated...)
			}
			slices.Sort(dryUnvalidated)
			if diff := cmp.Diff(st.wantUnvalidated, dryUnvalidated); diff != "" {
				t.Errorf("objects the dry run says the server did not validate (-want +got):\n%s", diff)
			}
			sum, events, err := deployRendered(ctx, t, p, r, Options{Prune: true, ForceConflicts: st.force})
			if st.conflict {
				var ce *ConflictError
				if !errors.As(err, &ce) {
					t.Fatalf("deploy: %v, want a conflict", err)
				}
				if diff := cmp.Diff(ce.Conflicts, conflicts); diff != "" {
					t.Errorf("conflicts of diff and of deploy (-deploy +diff):\n%s", diff)
				}
				if !errors.As(dryErr, &ce) {
					t.Errorf("dry run: %v, want a conflict", dryErr)
				}
				return
			}
			if err != nil || dryErr != nil {
				t.Fatalf("deploy: %v; dry run: %v\nevents:\n%s", err, dryErr, eventLines(events))
			}
			if diff := cmp.Diff(sum, dry); diff != "" {
				t.Errorf("summary of the dry run (-deploy +dry run):\n%s", diff)
			}
			// What deploy names object by object, diff names the same.
			verb := map[string]string{"namespace": "namespace", "pruned": "prune", "kept": "keep"}
			var did, said []string
			for _, e := range events {
				if v, ok := verb[e.Type]; ok {
					did = append(did, strings.TrimSuffix(v+" "+e.Object+": "+e.Message, ": "))
				}
			}
			for _, line := range got {
				if v := strings.Fields(line)[0]; v == "namespace" || v == "prune" || v == "keep" {
					said = append(said, line)
				}
			}
			slices.Sort(did)
			if diff := cmp.Diff(did, said); diff != "" {
				t.Errorf("what deploy did and diff said (-deploy +diff):\n%s", diff)
			}
			counted := Summary{Created: count["create"], Configured: count["configure"], Pruned: count["prune"], Kept: count["keep"]}
			want := Summary{Created: sum.Created, Configured: sum.Configured, Pruned: sum.Pruned, Kept: sum.Kept}
			if diff := cmp.Diff(want, counted); diff != "" {
				t.Errorf("diff's counts (-deploy +diff):\n%s", diff)
			}
		})
		if !ok {
			break // the next steps build on this one
		}
	}
}

// TestDiffPruneUnreadable: an inventory entry whose object cannot be read
// is an error of diff --prune and of a dry-run deploy --prune, naming
// cluster, bundle and object, not an object silently left out.
func TestDiffPruneUnreadable(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "diff-unreadable")
	ctx := testContext(t)
	full := k.newPlan(t, batch("apps", 0,
		bundle("gone", "diff-ro", configMap(t, "gone")),
		bundle("stay", "default", configMap(t, "stay"))))
	mustDeploy(ctx, t, full, Options{})

	// A user who may read the inventory and work in namespace default, and
	// not read ConfigMaps of diff-ro.
	objs := []client.Object{
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "diff-limited"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list"}},
		}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "diff-limited"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "diff-limited"},
			Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "limited"}}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "diff-limited", Namespace: "default"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}},
		}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "diff-limited", Namespace: "default"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "diff-limited"},
			Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "limited"}}},
		&rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "diff-limited", Namespace: InventoryNamespace}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}},
		}},
		&rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "diff-limited", Namespace: InventoryNamespace},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "diff-limited"},
			Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "limited"}}},
	}
	for _, o := range objs {
		if err := k.c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := clientcmd.LoadFromFile(k.env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AuthInfos[k.env.Context].Impersonate = "limited"
	limited := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, limited); err != nil {
		t.Fatal(err)
	}

	small := k.newPlan(t, batch("apps", 0, bundle("stay", "default", configMap(t, "stay"))))
	want := []string{"cluster test: ", "bundle gone", "ConfigMap/diff-ro/gone", "forbidden"}
	opts := Options{Prune: true, Kubeconfig: limited}
	changes, err := Diff(ctx, small, renderPlan(ctx, t, small, nil), opts)
	if err == nil {
		t.Errorf("diff --prune succeeded, listing %+v", changes)
	} else if missing := containsAll(err.Error(), want...); len(missing) > 0 {
		t.Errorf("diff --prune: error lacks %q:\n%v", missing, err)
	}
	opts.DryRun = true
	if _, _, err := deployPlan(ctx, t, small, opts); err == nil {
		t.Error("dry-run deploy --prune succeeded")
	} else if missing := containsAll(err.Error(), want...); len(missing) > 0 {
		t.Errorf("dry-run deploy --prune: error lacks %q:\n%v", missing, err)
	}
}

// TestConflictProbe: the probe for fields of other managers reports
// conflicts, and every other error, naming the object; an object whose
// namespace or kind does not exist yet cannot conflict and is no error.
func TestConflictProbe(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "conflict-probe")
	ctx := testContext(t)
	theirs := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "theirs", "namespace": "default"},
		"data":     map[string]any{"key": "theirs"},
	}}
	if err := k.c.Patch(ctx, theirs, client.Apply, client.FieldOwner("kubectl")); err != nil {
		t.Fatal(err)
	}
	c, err := connect(Target{Kubeconfig: k.env.Kubeconfig, Context: k.env.Context})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		obj      string
		conflict string
		wantErr  []string
	}{{
		name: "no conflict",
		obj:  `{apiVersion: v1, kind: ConfigMap, metadata: {name: mine, namespace: default}, data: {key: mine}}`,
	}, {
		name:     "conflict",
		obj:      `{apiVersion: v1, kind: ConfigMap, metadata: {name: theirs, namespace: default}, data: {key: mine}}`,
		conflict: `ConfigMap/default/theirs: 1 conflict: conflict with "kubectl": .data.key`,
	}, {
		name:    "refused by the server",
		obj:     `{apiVersion: v1, kind: Service, metadata: {name: bad, namespace: default}, spec: {ports: [{port: 999999}]}}`,
		wantErr: []string{"Service/default/bad", "999999"},
	}, {
		name: "namespace not there yet",
		obj:  `{apiVersion: v1, kind: ConfigMap, metadata: {name: early, namespace: not-yet}, data: {key: mine}}`,
	}, {
		name: "kind not served yet",
		obj:  `{apiVersion: probe.example.com/v1, kind: Widget, metadata: {name: early, namespace: default}}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &clusterDeploy{plan: &plan.Cluster{Name: clusterName}, conn: c, emit: func(Event) {}, sum: &Summary{}}
			o := &unstructured.Unstructured{Object: obj(t, "%s", tt.obj)}
			err := d.conflicts(ctx, []*unstructured.Unstructured{o})
			var ce *ConflictError
			switch {
			case tt.conflict != "":
				if !errors.As(err, &ce) || len(ce.Conflicts) != 1 || ce.Conflicts[0] != tt.conflict {
					t.Errorf("got %v, want the conflict %s", err, tt.conflict)
				}
			case tt.wantErr != nil:
				if err == nil {
					t.Fatal("no error")
				}
				if errors.As(err, &ce) {
					t.Errorf("a conflict: %v", err)
				}
				if missing := containsAll(err.Error(), tt.wantErr...); len(missing) > 0 {
					t.Errorf("error lacks %q:\n%v", missing, err)
				}
			case err != nil:
				t.Errorf("error: %v", err)
			}
		})
	}
}
