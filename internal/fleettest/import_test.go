package fleettest_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"wookie.dev/wookie/internal/fleettest"
	"wookie.dev/wookie/internal/testenv"
)

// TestImportedCluster registers a downstream cluster the way Fleet
// documents for clusters it deploys its agent to (a Cluster with a
// kubeconfig Secret, in a workspace of its own), as wookie will, runs the
// agent that Fleet deployed there and deploys a Bundle to it.
func TestImportedCluster(t *testing.T) {
	mgmt := testenv.Start(t, testenv.Options{Kwok: true, Name: "mgmt"})
	edge := testenv.Start(t, testenv.Options{Kwok: true, Name: "edge"})
	f := fleettest.Start(t, mgmt)
	ctx := context.Background()
	const ws = "fleet-default"

	kc, err := clientcmd.LoadFromFile(mgmt.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ca := kc.Clusters[kc.Contexts[kc.CurrentContext].Cluster].CertificateAuthorityData
	value, err := clientcmd.LoadFromFile(edge.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	edgeKC, err := clientcmd.Write(*value)
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(mgmt.RESTConfig())
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ws}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Secrets(ws).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "edge-kubeconfig", Namespace: ws},
		Data: map[string][]byte{
			"value":        edgeKC,
			"apiServerURL": []byte(mgmt.Server),
			"apiServerCA":  ca,
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cluster := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1",
		"kind":       "Cluster",
		"metadata":   map[string]any{"name": "edge", "namespace": ws, "labels": map[string]any{"env": "edge"}},
		"spec":       map[string]any{"kubeConfigSecret": "edge-kubeconfig"},
	}}
	if _, err := f.Dynamic.Resource(fleettest.ClusterResource).Namespace(ws).Create(ctx, cluster, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f.RunImportedAgent(t, ws, "edge", edge)

	apply(t, f, `
apiVersion: fleet.cattle.io/v1alpha1
kind: Bundle
metadata: {name: hello, namespace: fleet-default}
spec:
  defaultNamespace: default
  resources:
  - name: hello.yaml
    content: |
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: hello}
      data: {greeting: hi}
  targets:
  - clusterSelector: {matchLabels: {env: edge}}
`)
	var status, msg string
	err = wait(2*time.Minute, func() (bool, error) {
		b, err := f.Dynamic.Resource(fleettest.BundleResource).Namespace(ws).Get(ctx, "hello", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		status, msg = condition(b, "Ready")
		return status == "True", nil
	})
	if err != nil {
		t.Fatalf("bundle hello: Ready=%q %q: %v", status, msg, err)
	}
	ecs := kubernetes.NewForConfigOrDie(edge.RESTConfig())
	if _, err := ecs.CoreV1().ConfigMaps("default").Get(ctx, "hello", metav1.GetOptions{}); err != nil {
		t.Fatalf("cluster edge: %v", err)
	}
}
