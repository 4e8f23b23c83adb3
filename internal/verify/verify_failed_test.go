package verify

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/internal/testenv"
)

// failJob plays the Job controller's verdict on Job ns/name, which kwok
// would complete: once the Job has a Pod the scheduler found no Node
// for, it marks the Job failed (the
// Pod stays, Pending, as a failed Pod stays on a real cluster). It sends
// the Pod's name on the channel it returns.
func failJob(t *testing.T, c client.Client, ns, name string) <-chan string {
	podName := make(chan string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for ctx.Err() == nil {
			pods := &corev1.PodList{}
			job := &batchv1.Job{}
			if err := c.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"batch.kubernetes.io/job-name": name}); err != nil || len(pods.Items) == 0 || !unschedulable(&pods.Items[0]) {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, job); err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			now := metav1.Now()
			patch := client.MergeFrom(job.DeepCopy())
			if job.Status.StartTime == nil {
				job.Status.StartTime = &now
			}
			job.Status.Active = 0
			for _, typ := range []batchv1.JobConditionType{batchv1.JobFailureTarget, batchv1.JobFailed} {
				job.Status.Conditions = append(job.Status.Conditions, batchv1.JobCondition{
					Type: typ, Status: corev1.ConditionTrue, Reason: "TestPlayed", Message: "set by the test",
					LastProbeTime: now, LastTransitionTime: now,
				})
			}
			if err := c.Status().Patch(ctx, job, patch); err != nil {
				t.Errorf("fail Job %s: %v", name, err)
				close(podName)
				return
			}
			podName <- pods.Items[0].Name
			return
		}
		t.Errorf("Job %s: no Pod after a minute", name)
		close(podName)
	}()
	return podName
}

// unschedulable reports whether the scheduler found no Node for pod.
func unschedulable(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return true
		}
	}
	return false
}

// TestClusterFailedJobs fails the Jobs of a Helm test hook and of an HTTP
// test (kwok would complete them: the test taints its Node so that their
// Pods stay Pending, and marks the Jobs failed itself): each ✗ says why,
// the logs say why its Pod has none, and each Job is kept or deleted as
// its policy says.
func TestClusterFailedJobs(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Kwok: true, Name: "verify-failed"})
	c, err := client.New(env.RESTConfig(), client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Create(ctx, obj(t, "{apiVersion: v1, kind: Namespace, metadata: {name: shop}}").Unstructured); err != nil {
		t.Fatal(err)
	}
	node := &corev1.Node{}
	if err := c.Get(ctx, client.ObjectKey{Name: testenv.KwokNodeName}, node); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(node.DeepCopy())
	node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: "test.wookie.dev/no-pods", Effect: corev1.TaintEffectNoSchedule})
	if err := c.Patch(ctx, node, patch); err != nil {
		t.Fatal(err)
	}

	pb := []plan.Bundle{{Name: "web", Namespace: "shop", Tests: []plan.Test{
		{Name: "health", HTTP: &plan.HTTPTest{URL: "http://web.shop.svc/healthz"}},
	}}}
	rb := []render.Bundle{{Name: "web", Namespace: "shop", Tests: []*render.Object{
		obj(t, `{apiVersion: batch/v1, kind: Job, metadata: {name: web-test-kept, namespace: shop, annotations: {helm.sh/hook: test}}, spec: {backoffLimit: 0, template: {spec: {restartPolicy: Never, containers: [{name: t, image: busybox}]}}}}`),
		obj(t, `{apiVersion: batch/v1, kind: Job, metadata: {name: web-test-deleted, namespace: shop, annotations: {helm.sh/hook: test, helm.sh/hook-delete-policy: hook-failed}}, spec: {backoffLimit: 0, template: {spec: {restartPolicy: Never, containers: [{name: t, image: busybox}]}}}}`),
	}}}
	rb[0].Tests[1].HookWeight = 1
	pods := map[string]<-chan string{}
	for _, name := range []string{"web-test-kept", "web-test-deleted", "wookie-test-web-health"} {
		pods[name] = failJob(t, c, "shop", name)
	}

	got, err := Cluster(ctx, live(t, env, c, pb, rb), Options{Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var sums []summary
	for _, r := range got {
		sums = append(sums, summary{r.Bundle, r.Name, r.Kind, r.Passed, r.Cause})
	}
	want := []summary{
		{"web", "Job/web-test-kept", KindHelm, false, "Job shop/web-test-kept: Failed TestPlayed: set by the test"},
		{"web", "Job/web-test-deleted", KindHelm, false, "Job shop/web-test-deleted: Failed TestPlayed: set by the test"},
		{"web", "health", KindHTTP, false, "Job shop/wookie-test-web-health: Failed TestPlayed: set by the test"},
	}
	if diff := cmp.Diff(want, sums); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	// The logs of each Job's Pod are asked for: a Pod that never ran has
	// none, and the logs say why.
	for i, job := range []string{"web-test-kept", "web-test-deleted", "wookie-test-web-health"} {
		pod := <-pods[job]
		want := "pod " + pod + ": no logs (phase Pending, not scheduled: Unschedulable: 0/1 nodes are available: 1 node(s) had untolerated taint(s)"
		if pod == "" || !strings.HasPrefix(got[i].Logs, want) || !strings.HasSuffix(got[i].Logs, ")\n") {
			t.Errorf("%s: logs %q, want %q...", job, got[i].Logs, want)
		}
	}
	// The line of a failed check carries its cause.
	if line := Line(got[2]); !strings.HasPrefix(line, "✗ cluster test: bundle web: http health (") || !strings.HasSuffix(line, "): Job shop/wookie-test-web-health: Failed TestPlayed: set by the test") {
		t.Errorf("line: %q", line)
	}

	// Helm's default policy (before-hook-creation) keeps a failed hook
	// until the next run, hook-failed deletes it; a failed HTTP test's Job
	// is kept (an hour, by its TTL) for its logs.
	for job, kept := range map[string]bool{"web-test-kept": true, "web-test-deleted": false, "wookie-test-web-health": true} {
		j := &batchv1.Job{}
		err := c.Get(ctx, client.ObjectKey{Namespace: "shop", Name: job}, j)
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		if there := err == nil && j.DeletionTimestamp == nil; there != kept {
			t.Errorf("Job %s: there %v, want %v", job, there, kept)
		}
		if job == "wookie-test-web-health" && err == nil && (j.Spec.TTLSecondsAfterFinished == nil || *j.Spec.TTLSecondsAfterFinished != 3600) {
			t.Errorf("Job %s: ttlSecondsAfterFinished %v, want 3600", job, j.Spec.TTLSecondsAfterFinished)
		}
	}
}
