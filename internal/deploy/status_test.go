package deploy

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/chart/charttest"
	"wookie.dev/wookie/internal/plan"
)

// kubeconfigAs writes a copy of k's kubeconfig whose API server is server
// (unless "") and whose user impersonates user (unless ""), and returns
// its path.
func (k *testCluster) kubeconfigAs(t *testing.T, server, user string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(k.env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kc := cfg.Contexts[k.env.Context]
	if server != "" {
		cfg.Clusters[kc.Cluster].Server = server
	}
	cfg.AuthInfos[kc.AuthInfo].Impersonate = user
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// status reports an object it could not read as unreadable, with the
// reason, never as present: a kind the cluster does not serve, an object
// the user may not read, a cluster that does not answer. A bundle with
// such an object is Unreadable, unless one of its objects is Missing.
func TestStatusUnreadable(t *testing.T) {
	t.Parallel()
	k := startBare(t, "status")
	ctx := testContext(t)

	// The user wookie-viewer may read ConfigMaps, not Secrets.
	for _, o := range []client.Object{
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "viewer"},
			Rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "viewer"},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "viewer"},
			Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: "wookie-viewer"}}},
	} {
		if err := k.c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	secret := func(name string) plan.Object {
		return obj(t, `{apiVersion: v1, kind: Secret, metadata: {name: %s}, stringData: {a: b}}`, name)
	}
	widgets := bundle("widgets", "st", widget(t, "nowhere.example.com", "w", ""))
	widgets.ResourceScopes = map[string]string{"Widget.nowhere.example.com": plan.ScopeNamespaced}
	live := k.cluster("live", batch("apps", 0,
		bundle("config", "st", configMap(t, "config")),
		bundle("secret", "st", secret("s")),
		widgets,
		bundle("half", "st", configMap(t, "gone"), secret("t")),
	))
	live.Kubeconfig = k.kubeconfigAs(t, "", "wookie-viewer")
	far := k.cluster("far", batch("apps", 0, bundle("far", "st", configMap(t, "far"))))
	far.Kubeconfig = k.kubeconfigAs(t, "https://127.0.0.1:1", "")
	p := multiPlan(t, live, far)
	mustDeploy(ctx, t, k.newPlan(t, batch("apps", 0, bundle("setup", "st", configMap(t, "config"), secret("s"), secret("t")))), Options{})

	sts, err := Status(ctx, p, renderPlan(ctx, t, p, nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Messages are checked for these words, then left out.
	reasons := map[string]string{
		"Secret/st/s":      "forbidden",
		"Secret/st/t":      "forbidden",
		"Widget/st/w":      "does not serve nowhere.example.com/v1 Widget",
		"ConfigMap/st/far": "connection refused",
	}
	for i := range sts {
		for j := range sts[i].NotReady {
			s := &sts[i].NotReady[j]
			if want, ok := reasons[s.Object]; ok && !strings.Contains(s.Message, want) {
				t.Errorf("%s: message %q lacks %q", s.Object, s.Message, want)
			}
			if strings.Contains(s.Message, "\n") {
				t.Errorf("%s: message on several lines: %q", s.Object, s.Message)
			}
			s.Message = ""
		}
	}
	unreadable := func(object string) ObjectState { return ObjectState{Object: object, Status: "Unreadable"} }
	want := []BundleStatus{
		{Cluster: "far", Batch: "apps", Bundle: "far", Objects: 1, Unreadable: 1, State: "Unreadable",
			NotReady: []ObjectState{unreadable("ConfigMap/st/far")}},
		{Cluster: "live", Batch: "apps", Bundle: "config", Objects: 1, Present: 1, Ready: 1, State: "Ready"},
		{Cluster: "live", Batch: "apps", Bundle: "half", Objects: 2, Unreadable: 1, State: "Missing",
			NotReady: []ObjectState{unreadable("Secret/st/t"), {Object: "ConfigMap/st/gone", Status: "Missing"}}},
		{Cluster: "live", Batch: "apps", Bundle: "secret", Objects: 1, Unreadable: 1, State: "Unreadable",
			NotReady: []ObjectState{unreadable("Secret/st/s")}},
		{Cluster: "live", Batch: "apps", Bundle: "widgets", Objects: 1, Unreadable: 1, State: "Unreadable",
			NotReady: []ObjectState{unreadable("Widget/st/w")}},
	}
	if diff := cmp.Diff(want, sts); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
}

// status judges Helm hooks as Helm users expect. A hook deleted when it
// succeeds (hook-succeeded) that is gone after deploy is done: counted in
// HooksDone, not as an object, and its bundle is Ready, as with the fleet
// chart's post-install Job. A hook that exists is judged as any object: a
// complete Job is ready, a failed one is not, whatever its delete policy.
// A hook without hook-succeeded that is gone is Missing. Test hooks
// (helm.sh/hook: test), which deploy never applies, are never counted.
func TestStatusHooks(t *testing.T) {
	t.Parallel()
	k := startCluster(t, "status-hooks")
	ctx := testContext(t)
	// failing makes a hook Job fail: its pod fits no node, and the Job
	// gives up after a second (DeadlineExceeded).
	failing := func(job string) string {
		return strings.Replace(job, "  backoffLimit: 0\n", "  backoffLimit: 0\n  activeDeadlineSeconds: 1\n", 1) +
			"      nodeSelector: {wookie.dev/no-such-node: 'true'}\n"
	}
	for _, tc := range []struct {
		name string
		// hook is the template of the chart's post-install Job "hook",
		// beside a ConfigMap and a test hook.
		hook string
		// deployFails says the deploy fails (the hook does not get ready).
		deployFails bool
		// after runs between the deploy and the status.
		after func(t *testing.T, namespace string)
		want  BundleStatus
	}{{
		name: "hook-succeeded-deleted",
		hook: hookJob("hook", "post-install, post-upgrade", 0, "hook-succeeded, before-hook-creation"),
		after: func(t *testing.T, ns string) {
			// deploy deletes it in the background: wait until it is gone.
			waitGone(ctx, t, k, ns, "hook")
		},
		want: BundleStatus{Objects: 1, Present: 1, Ready: 1, HooksDone: 1, State: "Ready"},
	}, {
		name: "no-policy-exists",
		hook: hookJob("hook", "post-install", 0, ""),
		want: BundleStatus{Objects: 2, Present: 2, Ready: 2, State: "Ready"},
	}, {
		name: "no-policy-deleted",
		hook: hookJob("hook", "post-install", 0, "before-hook-creation"),
		after: func(t *testing.T, ns string) {
			job := &unstructured.Unstructured{}
			job.SetAPIVersion("batch/v1")
			job.SetKind("Job")
			job.SetNamespace(ns)
			job.SetName("hook")
			if err := k.c.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
				t.Fatal(err)
			}
			waitGone(ctx, t, k, ns, "hook")
		},
		want: BundleStatus{Objects: 2, Present: 1, Ready: 1, State: "Missing",
			NotReady: []ObjectState{{Object: "Job/status-no-policy-deleted/hook", Status: "Missing"}}},
	}, {
		name:        "hook-succeeded-failed",
		hook:        failing(hookJob("hook", "post-install, post-upgrade", 0, "hook-succeeded")),
		deployFails: true,
		want: BundleStatus{Objects: 2, Present: 2, Ready: 1, State: "NotReady",
			NotReady: []ObjectState{{Object: "Job/status-hook-succeeded-failed/hook", Status: "Failed"}}},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ns := "status-" + tc.name
			ch := charttest.Chart{Name: "hooked", Version: "0.1.0", Files: map[string]string{
				"values.yaml":         "v: one\n",
				"templates/app.yaml":  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n",
				"templates/hook.yaml": tc.hook,
				"templates/test.yaml": hookJob("test-job", "test", 0, ""),
			}}
			p := k.newPlan(t, batch("apps", 0, plan.Bundle{Name: tc.name, Namespace: ns, Timeout: "10s",
				Chart: &plan.Chart{Repo: "./charts", Name: "hooked"}}))
			r := renderPlan(ctx, t, p, archives{"hooked": charttest.Package(t, ch)})
			_, events, err := deployRendered(ctx, t, p, r, Options{})
			if (err != nil) != tc.deployFails {
				t.Fatalf("deploy: error %v, want one: %t\nevents:\n%s", err, tc.deployFails, eventLines(events))
			}
			if tc.after != nil {
				tc.after(t, ns)
			}
			sts, err := Status(ctx, p, r, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range sts {
				for j := range sts[i].NotReady {
					s := &sts[i].NotReady[j]
					s.Message, s.Conditions, s.Causes = "", nil, nil
				}
			}
			want := tc.want
			want.Cluster, want.Batch, want.Bundle = clusterName, "apps", tc.name
			if diff := cmp.Diff([]BundleStatus{want}, sts); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
			if k.exists(ctx, t, "batch/v1", "Job", ns, "test-job") {
				t.Error("the test hook was applied")
			}
		})
	}
}

// waitGone waits until Job namespace/name of k does not exist.
func waitGone(ctx context.Context, t *testing.T, k *testCluster, namespace, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for k.get(ctx, t, "batch/v1", "Job", namespace, name) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("Job %s/%s is still there", namespace, name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
