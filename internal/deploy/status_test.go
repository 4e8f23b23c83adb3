package deploy

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
