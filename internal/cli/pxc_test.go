package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"wookie.dev/wookie/internal/testenv"
)

// TestDeployPXCReadiness deploys the wookie project's PXC bundles (Istio
// off) to a real API server, with Percona-shaped test charts. Nothing runs
// the operator, so the test plays it: it sets the PerconaXtraDBCluster's
// status.state. The deploy finishes only after the state is ready (kstatus
// alone would call the CR ready at once), and fails, the CR Failed, on
// error.
func TestDeployPXCReadiness(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "pxc"})
	repo := catalogRepo(t)
	workIn(t, t.TempDir(), fmt.Sprintf(`targets: kubeconfig: {enable: true, clusterName: "test", context: %q, path: %q, kubeVersion: "1.37.2"}
projects: wookie: {enable: true, istio: enable: false, pxc: enable: true}
`, env.Context, env.Kubeconfig))
	if err := os.WriteFile("mirror.cue", catalogMirror(repo.URL), 0o644); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	pxcs := dyn.Resource(schema.GroupVersionResource{Group: "pxc.percona.com", Version: "v1", Resource: "perconaxtradbclusters"}).Namespace("pxc")

	// play waits for the CR, then sets its state to each of states in turn,
	// a second apart, and reports when it set the last.
	play := func(states ...string) <-chan time.Time {
		set := make(chan time.Time, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			for ctx.Err() == nil {
				if _, err := pxcs.Get(ctx, "pxc-db", metav1.GetOptions{}); err == nil {
					break
				} else if !errors.IsNotFound(err) {
					t.Error(err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			for _, st := range states {
				time.Sleep(time.Second)
				patch := fmt.Sprintf(`{"status":{"state":%q}}`, st)
				if _, err := pxcs.Patch(ctx, "pxc-db", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
					t.Errorf("set state %s: %v", st, err)
				}
			}
			set <- time.Now()
		}()
		return set
	}

	files := []string{"-f", "wookie.cue", "-f", "mirror.cue"}
	set := play("initializing", "ready")
	code, _, stderr := run(t, append([]string{"deploy", "--timeout", "60s"}, files...)...)
	finished := time.Now()
	if code != 0 {
		t.Fatalf("deploy: exit %d: %s", code, stderr)
	}
	if readyAt := <-set; finished.Before(readyAt) {
		t.Errorf("deploy finished at %s, before the state was ready at %s", finished, readyAt)
	}
	if !strings.Contains(stderr, "pxc-db") {
		t.Errorf("deploy output names no pxc-db: %s", stderr)
	}

	// A failed database fails the deploy without waiting for the timeout.
	if err := pxcs.Delete(context.Background(), "pxc-db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	set = play("error")
	code, _, stderr = run(t, append([]string{"deploy", "--timeout", "60s"}, files...)...)
	<-set
	if code != 1 || !strings.Contains(stderr, "bundle pxc-db: not ready after") || !strings.Contains(stderr, "PerconaXtraDBCluster/pxc/pxc-db Failed") {
		t.Errorf("deploy of a failed database: exit %d: %s", code, stderr)
	}
}
