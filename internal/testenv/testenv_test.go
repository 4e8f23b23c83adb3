package testenv_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"wookie.dev/wookie/internal/testenv"
)

func TestDeploymentBecomesAvailableAndSurvivesAPIServerRestart(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Controllers: true, Scheduler: true, Kwok: true})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cs := clientFor(t, env)

	// The kubeconfig is what the wookie CLI will read: its context works
	// and the server reports the stamped version.
	kc := clientFromKubeconfig(t, env.Kubeconfig, "testenv")
	v, err := kc.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version through %s: %v", env.Kubeconfig, err)
	}
	if !strings.HasPrefix(v.GitVersion, "v1.") || strings.Contains(v.GitVersion, "master") {
		t.Errorf("server version = %q, want a release version (build.sh stamps it)", v.GitVersion)
	}

	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "demo"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace: %v", err)
	}
	labels := map[string]string{"app": "web"}
	replicas := int32(2)
	if _, err := cs.AppsV1().Deployments("demo").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "web",
					Image: "registry.invalid/web:1", // kwok runs no containers
				}}},
			},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create deployment: %v", err)
	}
	began := time.Now()
	waitAvailable(ctx, t, cs, "demo", "web", replicas, 60*time.Second)
	t.Logf("Deployment demo/web Available %.1fs after create", time.Since(began).Seconds())
	pods, err := cs.CoreV1().Pods("demo").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatalf("list pods: %v", err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != testenv.KwokNodeName || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			t.Errorf("pod %s: node %q, phase %s, IP %q; want Running on %s with an IP",
				p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.PodIP, testenv.KwokNodeName)
		}
	}

	env.StopAPIServer(t)
	if _, err := cs.CoreV1().Namespaces().Get(ctx, "demo", metav1.GetOptions{}); err == nil {
		t.Fatal("kube-apiserver still answers after StopAPIServer")
	}
	env.StartAPIServer(t)

	d, err := cs.AppsV1().Deployments("demo").Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("deployment after kube-apiserver restart: %v", err)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
		t.Errorf("replicas after restart = %v, want %d", d.Spec.Replicas, replicas)
	}
	// The controllers reconnect: scaling still works after the restart.
	d.Spec.Replicas = ptr(int32(3))
	if _, err := cs.AppsV1().Deployments("demo").Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("scale after restart: %v", err)
	}
	waitAvailable(ctx, t, cs, "demo", "web", 3, 60*time.Second)
}

func TestTwoEnvsAreIndependent(t *testing.T) {
	one := testenv.Start(t, testenv.Options{Name: "one"})
	two := testenv.Start(t, testenv.Options{Name: "two"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if one.Server == two.Server {
		t.Fatalf("both Envs serve at %s", one.Server)
	}
	if one.Context != "one" || two.Context != "two" {
		t.Errorf("contexts = %q, %q, want one, two", one.Context, two.Context)
	}

	// Both kubeconfigs together read as two clusters, like KUBECONFIG=a:b.
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: []string{one.Kubeconfig, two.Kubeconfig}}
	merged, err := rules.Load()
	if err != nil {
		t.Fatalf("load both kubeconfigs: %v", err)
	}
	for _, e := range []*testenv.Env{one, two} {
		c, ok := merged.Contexts[e.Context]
		if !ok {
			t.Fatalf("merged kubeconfig has no context %q", e.Context)
		}
		if got := merged.Clusters[c.Cluster].Server; got != e.Server {
			t.Errorf("context %s: server = %s, want %s", e.Context, got, e.Server)
		}
	}

	c1 := clientFromKubeconfig(t, one.Kubeconfig, "one")
	c2 := clientFromKubeconfig(t, two.Kubeconfig, "two")
	if _, err := c1.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{Name: "only-in-one"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace in one: %v", err)
	}
	if _, err := c2.CoreV1().Namespaces().Get(ctx, "only-in-one", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("namespace only-in-one in two: err = %v, want NotFound", err)
	}

	// Each Env has its own CA: one's credentials do not work against two.
	cross := one.RESTConfig()
	cross.Host = two.Server
	cross.Timeout = 5 * time.Second
	cc, err := kubernetes.NewForConfig(cross)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.CoreV1().Namespaces().List(ctx, metav1.ListOptions{}); err == nil {
		t.Error("one's credentials were accepted by two")
	}

	// Stopping one leaves two running.
	one.Stop()
	if _, err := c2.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Errorf("two after one stopped: %v", err)
	}
}

func clientFor(t *testing.T, env *testenv.Env) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func clientFromKubeconfig(t *testing.T, path, context string) *kubernetes.Clientset {
	t.Helper()
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: path},
		&clientcmd.ConfigOverrides{CurrentContext: context},
	).ClientConfig()
	if err != nil {
		t.Fatalf("kubeconfig %s context %s: %v", path, context, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// waitAvailable waits until the Deployment has its Available condition and
// the wanted number of available replicas.
func waitAvailable(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string, replicas int32, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = describe(d)
			if d.Status.AvailableReplicas == replicas && d.Status.ObservedGeneration == d.Generation {
				for _, c := range d.Status.Conditions {
					if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
						return
					}
				}
			}
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("deployment %s/%s not Available with %d replicas within %s: %s", ns, name, replicas, timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func describe(d *appsv1.Deployment) string {
	var b strings.Builder
	b.WriteString("available replicas " + itoa(d.Status.AvailableReplicas))
	for _, c := range d.Status.Conditions {
		b.WriteString("; " + string(c.Type) + "=" + string(c.Status) + " " + c.Reason + ": " + c.Message)
	}
	return b.String()
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }

func ptr[T any](v T) *T { return &v }
