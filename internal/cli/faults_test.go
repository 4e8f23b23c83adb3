package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"wookie.dev/wookie/internal/testenv"
)

// faultPlan is a Plan of one cluster on env with four batches of two
// bundles of three ConfigMaps each in namespace faults: half of them the
// same in every Plan, half named after gen. It returns the Plan and the
// ConfigMaps' names.
func faultPlan(env *testenv.Env, gen int) (string, []string) {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: wookie.dev/v1alpha1
kind: Plan
clusters:
  - name: faults
    target: testenv
    context: %s
    kubeconfig: %s
    kubeVersion: 1.37.2
    batches:
`, env.Context, env.Kubeconfig)
	var names []string
	for bi := range 4 {
		fmt.Fprintf(&b, "      - name: batch%d\n        priority: %d\n        bundles:\n", bi, 100*(bi+1))
		for ui := range 2 {
			fmt.Fprintf(&b, "          - name: b%d-u%d\n            namespace: faults\n            manifests:\n", bi, ui)
			for k := range 3 {
				name := fmt.Sprintf("keep-%d-%d-%d", bi, ui, k)
				if ui == 1 {
					name = fmt.Sprintf("gen%d-%d-%d", gen, bi, k)
				}
				names = append(names, name)
				fmt.Fprintf(&b, "              - {apiVersion: v1, kind: ConfigMap, metadata: {name: %s}, data: {gen: %q}}\n", name, fmt.Sprint(gen))
			}
		}
	}
	slices.Sort(names)
	return b.String(), names
}

// wookieBinary is the test binary answering as wookie (TestMain).
func wookieBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("wookie")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestDeployKilled kills a deploy with --prune of a changing Plan at 20
// random points (SIGKILL, SIGTERM and SIGINT in turn), then deploys a last
// Plan to the end: every ConfigMap any of them applied that the last Plan
// lacks is pruned, and every one it has is there. Half the kills come as
// the first batch is done, and some must stop a deploy between its first
// and its last batch, or the test proved nothing. Before the inventory was
// recorded ahead of each batch, objects applied by a killed deploy were
// never pruned.
func TestDeployKilled(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Name: "cli-faults"})
	dir := t.TempDir()
	bin := wookieBinary(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 17))
	// deploy deploys Plan gen and sends kill after the delay, or with
	// after < 0 as soon as the first batch is done (its events on stdout).
	deploy := func(gen int, kill syscall.Signal, after time.Duration) (int, string) {
		t.Helper()
		doc, _ := faultPlan(env, gen)
		file := filepath.Join(dir, fmt.Sprintf("plan-%d.yaml", gen))
		if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "deploy", "--prune", "--timeout", "30s", "--from", file, "-o", "json")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "state"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if kill != 0 && after >= 0 {
			time.AfterFunc(after, func() { _ = cmd.Process.Signal(kill) })
		}
		done := 0
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e struct{ Type, Batch string }
			if json.Unmarshal(sc.Bytes(), &e) == nil && e.Type == "done" && e.Batch == "batch0" {
				if done++; done == 2 && kill != 0 && after < 0 {
					_ = cmd.Process.Signal(kill)
				}
			}
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, stderr.String()
		case errors.As(err, &ee):
			return ee.ExitCode(), stderr.String()
		}
		t.Fatalf("deploy %d: %v", gen, err)
		return 0, ""
	}

	began := time.Now()
	if code, stderr := deploy(0, 0, 0); code != 0 {
		t.Fatalf("first deploy: exit %d\n%s", code, stderr)
	}
	full := time.Since(began)
	t.Logf("a whole deploy takes %s", full.Round(time.Millisecond))
	cs, err := kubernetes.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	// exists reports whether ConfigMap faults/name is there.
	exists := func(name string) bool {
		_, err := cs.CoreV1().ConfigMaps("faults").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	signals := []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, syscall.SIGINT}
	var points []string
	partial := 0
	for gen := 1; gen <= 20; gen++ {
		sig := signals[gen%len(signals)]
		// Every other kill comes at a random point of a whole deploy's
		// time; the others as soon as the first batch is done, so that
		// some surely land in the middle of a deploy.
		after := time.Duration(rng.Int64N(int64(full)))
		if gen%2 == 0 {
			after = -1
		}
		code, stderr := deploy(gen, sig, after)
		// A deploy stopped in the middle applied the first batch of
		// its Plan and not the last.
		mid := exists(fmt.Sprintf("gen%d-0-0", gen)) && !exists(fmt.Sprintf("gen%d-3-0", gen))
		if mid {
			partial++
		}
		at := "batch0-done"
		if after >= 0 {
			at = after.Round(time.Millisecond).String()
		}
		points = append(points, fmt.Sprintf("%s@%s:%d:mid=%t", sig, at, code, mid))
		want := map[syscall.Signal]int{syscall.SIGKILL: -1, syscall.SIGTERM: 143, syscall.SIGINT: 130}[sig]
		// -1: killed by the signal before wookie could catch it.
		if code != 0 && code != want && code != -1 {
			t.Fatalf("deploy %d, %s after %s: exit %d, want %d (or 0 when it ended first, or -1 when it came before wookie handled signals)\n%s", gen, sig, after, code, want, stderr)
		}
	}
	t.Logf("kill points (signal@delay:exit:stopped mid-deploy): %s", strings.Join(points, " "))
	if partial == 0 {
		t.Errorf("no kill stopped a deploy between its first and last batch: the test did not interrupt anything")
	}

	if code, stderr := deploy(21, 0, 0); code != 0 {
		t.Fatalf("last deploy: exit %d\n%s", code, stderr)
	}
	_, want := faultPlan(env, 21)
	list, err := cs.CoreV1().ConfigMaps("faults").List(context.Background(), metav1.ListOptions{LabelSelector: "wookie.dev/cluster=faults"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, cm := range list.Items {
		if cm.DeletionTimestamp == nil {
			got = append(got, cm.Name)
		}
	}
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ConfigMaps after the last deploy (-want +got):\n%s", diff)
	}
}

// TestDeploySignals stops a deploy waiting for a bundle that never gets
// ready with SIGINT and with SIGTERM: it says so, exits 130 and 143, and
// the inventory lists what it applied, so that a deploy of a Plan without
// it prunes it.
func TestDeploySignals(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Name: "cli-signals"})
	dir := t.TempDir()
	bin := wookieBinary(t)
	plan := func(stuck bool) string {
		doc := fmt.Sprintf(`apiVersion: wookie.dev/v1alpha1
kind: Plan
clusters:
  - name: sig
    target: testenv
    context: %s
    kubeconfig: %s
    kubeVersion: 1.37.2
    batches:
      - name: first
        priority: 100
        bundles:
          - name: one
            namespace: sig
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: one}}
`, env.Context, env.Kubeconfig)
		if stuck {
			doc += `      - name: second
        priority: 200
        bundles:
          - name: stuck
            namespace: sig
            readiness: [{apiVersion: v1, kind: ConfigMap, current: "has(data.never)"}]
            manifests:
              - {apiVersion: v1, kind: ConfigMap, metadata: {name: stuck}}
`
		}
		return doc
	}
	cs, err := kubernetes.NewForConfig(env.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
		says string
	}{{syscall.SIGINT, 130, "wookie: interrupt: stopping"}, {syscall.SIGTERM, 143, "wookie: SIGTERM: stopping"}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			file := filepath.Join(dir, "plan.yaml")
			if err := os.WriteFile(file, []byte(plan(true)), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "deploy", "--from", file, "--timeout", "5m")
			cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(dir, "state"), "XDG_CACHE_HOME="+filepath.Join(dir, "cache"))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until the stuck ConfigMap is applied, then signal.
			deadline := time.Now().Add(time.Minute)
			for {
				if _, err := cs.CoreV1().ConfigMaps("sig").Get(context.Background(), "stuck", metav1.GetOptions{}); err == nil {
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("the stuck ConfigMap was never applied\n%s", stderr.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			_ = cmd.Process.Signal(tc.sig)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code || !strings.Contains(stderr.String(), tc.says) {
				t.Fatalf("after %s: %v, want exit %d and %q\n%s", tc.sig, err, tc.code, tc.says, stderr.String())
			}
			if err := os.WriteFile(file, []byte(plan(false)), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, out := run(t, "deploy", "--prune", "--from", file)
			if code != 0 {
				t.Fatalf("deploy --prune: exit %d\n%s", code, out)
			}
			if _, err := cs.CoreV1().ConfigMaps("sig").Get(context.Background(), "stuck", metav1.GetOptions{}); err == nil {
				t.Errorf("ConfigMap sig/stuck, applied by the stopped deploy, was not pruned")
			}
		})
	}
}
