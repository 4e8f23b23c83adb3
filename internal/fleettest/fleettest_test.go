package fleettest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/fleettest"
	"wookie.dev/wookie/internal/testenv"
)

// TestBundles hands Bundles to Fleet on the management cluster: one with a
// ConfigMap for both clusters, which appears on each and becomes Ready, and
// one with an object of a kind no cluster serves, whose Bundle carries
// Fleet's (Helm's) error message.
func TestBundles(t *testing.T) {
	mgmt := testenv.Start(t, testenv.Options{Kwok: true, Name: "mgmt"})
	down := testenv.Start(t, testenv.Options{Kwok: true, Name: "down"})
	f := fleettest.Start(t, mgmt, down)

	apply(t, f, `
apiVersion: fleet.cattle.io/v1alpha1
kind: Bundle
metadata: {name: hello, namespace: fleet-local}
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
  - clusterName: local
  - clusterName: down
`)
	apply(t, f, `
apiVersion: fleet.cattle.io/v1alpha1
kind: Bundle
metadata: {name: broken, namespace: fleet-local}
spec:
  defaultNamespace: default
  resources:
  - name: widget.yaml
    content: |
      apiVersion: example.com/v1
      kind: Widget
      metadata: {name: w}
  targets:
  - clusterName: local
`)

	tests := []struct {
		name       string
		bundle     string
		wantStatus string // status of condition Ready
		wantInMsg  string // part of its message
		wantReady  int64  // BundleDeployments Ready, of those desired
		wantConfig []*testenv.Env
	}{
		{name: "configmap on both clusters", bundle: "hello", wantStatus: "True", wantReady: 2, wantConfig: []*testenv.Env{mgmt, down}},
		{name: "unknown kind", bundle: "broken", wantStatus: "False", wantInMsg: `no matches for kind "Widget" in version "example.com/v1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var status, msg string
			var b *unstructured.Unstructured
			err := wait(2*time.Minute, func() (bool, error) {
				var err error
				b, err = f.Dynamic.Resource(fleettest.BundleResource).Namespace(fleettest.Workspace).Get(context.Background(), tc.bundle, metav1.GetOptions{})
				if err != nil {
					return false, err
				}
				status, msg = condition(b, "Ready")
				return status == tc.wantStatus && strings.Contains(msg, tc.wantInMsg), nil
			})
			if err != nil {
				t.Fatalf("bundle %s: Ready=%q %q, want %s with %q: %v", tc.bundle, status, msg, tc.wantStatus, tc.wantInMsg, err)
			}
			t.Logf("bundle %s: Ready=%s %q", tc.bundle, status, msg)
			desired, _, _ := unstructured.NestedInt64(b.Object, "status", "summary", "desiredReady")
			ready, _, _ := unstructured.NestedInt64(b.Object, "status", "summary", "ready")
			if want := int64(len(tc.wantConfig)); desired != want && tc.wantStatus == "True" {
				t.Errorf("bundle %s: %d BundleDeployments desired, want %d", tc.bundle, desired, want)
			}
			if ready != tc.wantReady {
				t.Errorf("bundle %s: %d BundleDeployments Ready, want %d", tc.bundle, ready, tc.wantReady)
			}
			for _, e := range tc.wantConfig {
				cs := kubernetes.NewForConfigOrDie(e.RESTConfig())
				cm, err := cs.CoreV1().ConfigMaps("default").Get(context.Background(), "hello", metav1.GetOptions{})
				if err != nil {
					t.Fatalf("cluster %s: %v", e.Context, err)
				}
				if got := cm.Data["greeting"]; got != "hi" {
					t.Errorf("cluster %s: greeting = %q, want hi", e.Context, got)
				}
			}
		})
	}
}

func apply(t *testing.T, f *fleettest.Fleet, doc string) {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var u unstructured.Unstructured
	if err := u.UnmarshalJSON(js); err != nil {
		t.Fatal(err)
	}
	force := true
	if _, err := f.Dynamic.Resource(fleettest.BundleResource).Namespace(u.GetNamespace()).Apply(context.Background(), u.GetName(), &u,
		metav1.ApplyOptions{FieldManager: "fleettest", Force: force}); err != nil {
		t.Fatalf("bundle %s: %v", u.GetName(), err)
	}
}

// condition returns the status and message of o's condition typ.
func condition(o *unstructured.Unstructured, typ string) (status, msg string) {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			status, _ = m["status"].(string)
			msg, _ = m["message"].(string)
			return status, msg
		}
	}
	return "", ""
}

func wait(timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return err
			}
			return fmt.Errorf("not after %s", timeout)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
