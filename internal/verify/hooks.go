package verify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/render"
)

// Helm's hook delete policies.
const (
	hookDeleteAnnotation = "helm.sh/hook-delete-policy"
	beforeHookCreation   = "before-hook-creation"
	hookSucceeded        = "hook-succeeded"
	hookFailed           = "hook-failed"
)

// pollInterval is how often a wait reads the object it waits for.
const pollInterval = 250 * time.Millisecond

// logLines is how many of a failed Pod's last log lines a Result keeps.
const logLines = 20

// helmTests runs the test hooks of u as helm test does: by weight, each
// object replaced when it exists, Pods and Jobs waited for until they
// succeed or fail, each deleted after as its helm.sh/hook-delete-policy
// says (Helm's default, before-hook-creation, leaves it until the next
// run). The other objects of the hooks (a ConfigMap a test Pod mounts)
// are applied first and give no result unless they fail to apply; after
// the bundle's tests they are deleted as their policy says:
// hook-succeeded when every test passed, hook-failed when one did not.
func (r *runner) helmTests(ctx context.Context, u *render.Bundle) []Result {
	tests := slices.Clone(u.Tests)
	slices.SortStableFunc(tests, func(a, b *render.Object) int {
		if x, y := isTest(a), isTest(b); x != y {
			if y {
				return -1
			}
			return 1
		}
		return a.HookWeight - b.HookWeight
	})
	var out []Result
	var others []*unstructured.Unstructured // applied, not waited for
	allPassed := true
	defer func() {
		for _, obj := range others {
			policies := deletePolicies(obj)
			if allPassed && slices.Contains(policies, hookSucceeded) || !allPassed && slices.Contains(policies, hookFailed) {
				r.remove(ctx, obj)
			}
		}
	}()
	for _, o := range tests {
		start := time.Now()
		obj := o.DeepCopy()
		res := Result{Kind: KindHelm, Name: o.GetKind() + "/" + o.GetName()}
		if !isTest(o) {
			if err := r.replace(ctx, obj); err != nil {
				allPassed = false
				res.Cause = oneLine(err.Error())
				res.Duration = time.Since(start)
				out = append(out, res)
			} else {
				others = append(others, obj)
			}
			continue
		}
		res.Passed, res.Cause, res.Logs = r.runToCompletion(ctx, obj)
		allPassed = allPassed && res.Passed
		policies := deletePolicies(obj)
		if res.Passed && slices.Contains(policies, hookSucceeded) || !res.Passed && slices.Contains(policies, hookFailed) {
			r.remove(ctx, obj)
		}
		res.Duration = time.Since(start)
		out = append(out, res)
	}
	return out
}

// deletePolicies are the hook delete policies of obj; Helm's default,
// before-hook-creation, when it names none.
func deletePolicies(obj *unstructured.Unstructured) []string {
	var out []string
	for _, p := range strings.Split(obj.GetAnnotations()[hookDeleteAnnotation], ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = []string{beforeHookCreation}
	}
	return out
}

// runToCompletion replaces obj, a Pod or a Job, and waits until it
// succeeds or fails; when it fails it says why and gives the last lines
// of its (or its pods') logs.
func (r *runner) runToCompletion(ctx context.Context, obj *unstructured.Unstructured) (passed bool, cause, logs string) {
	what := obj.GetKind() + " " + obj.GetNamespace() + "/" + obj.GetName()
	if err := r.replace(ctx, obj); err != nil {
		return false, oneLine(err.Error()), ""
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(obj.GroupVersionKind())
	key := client.ObjectKeyFromObject(obj)
	var done bool
	err := wait.PollUntilContextTimeout(ctx, pollInterval, r.timeout, true, func(ctx context.Context) (bool, error) {
		err := r.live.Client.Get(ctx, key, live)
		switch {
		case apierrors.IsNotFound(err):
			// Something else deleted it: it will never finish.
			done, passed, cause = true, false, "deleted by someone else before it finished"
			return true, nil
		case err != nil:
			return false, nil
		}
		done, passed, cause = finished(live)
		return done, nil
	})
	if err != nil && !done {
		cause = fmt.Sprintf("not finished after %s", r.timeout)
		if phase, _, _ := unstructured.NestedString(live.Object, "status", "phase"); phase != "" {
			cause += " (phase " + phase + ")"
		}
	}
	if cause != "" {
		cause = what + ": " + cause
	}
	if !passed {
		logs = r.logsOf(ctx, live)
	}
	return passed, cause, logs
}

// finished says whether a Pod or Job is done, and if so whether it
// succeeded, and why not.
func finished(live *unstructured.Unstructured) (done, passed bool, cause string) {
	if live.GetKind() == "Pod" {
		phase, _, _ := unstructured.NestedString(live.Object, "status", "phase")
		switch phase {
		case string(corev1.PodSucceeded):
			return true, true, ""
		case string(corev1.PodFailed):
			return true, false, "Failed" + podReason(live)
		}
		return false, false, ""
	}
	conds, _, _ := unstructured.NestedSlice(live.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["status"] != "True" {
			continue
		}
		switch m["type"] {
		case "Complete":
			return true, true, ""
		case "Failed":
			msg, _ := m["message"].(string)
			reason, _ := m["reason"].(string)
			return true, false, strings.TrimSpace("Failed " + reason + ": " + msg)
		}
	}
	return false, false, ""
}

// podReason says why a failed Pod failed: its reason and message, else
// its first terminated container's exit code and reason.
func podReason(pod *unstructured.Unstructured) string {
	reason, _, _ := unstructured.NestedString(pod.Object, "status", "reason")
	msg, _, _ := unstructured.NestedString(pod.Object, "status", "message")
	if reason != "" || msg != "" {
		return strings.TrimRight(" "+reason+": "+msg, ": ")
	}
	statuses, _, _ := unstructured.NestedSlice(pod.Object, "status", "containerStatuses")
	for _, s := range statuses {
		m, _ := s.(map[string]any)
		t, ok, _ := unstructured.NestedMap(m, "state", "terminated")
		if !ok {
			continue
		}
		code, _, _ := unstructured.NestedInt64(t, "exitCode")
		why, _ := t["reason"].(string)
		return fmt.Sprintf(": container %v exited with code %d %s", m["name"], code, why)
	}
	return ""
}

// logsOf returns the last lines of the logs of a Pod, or of the pods of
// a Job; for a pod that has none (it never ran), why not; a note saying
// why when they cannot be read.
func (r *runner) logsOf(ctx context.Context, live *unstructured.Unstructured) string {
	ns := live.GetNamespace()
	var pods []corev1.Pod
	if live.GetKind() == "Pod" {
		pod := corev1.Pod{}
		if err := r.live.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: live.GetName()}, &pod); err != nil {
			return "pod " + live.GetName() + ": " + oneLine(err.Error()) + "\n"
		}
		pods = []corev1.Pod{pod}
	} else {
		list := &corev1.PodList{}
		if err := r.live.Client.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{"batch.kubernetes.io/job-name": live.GetName()}); err != nil {
			return "logs: " + oneLine(err.Error())
		}
		pods = list.Items
		slices.SortFunc(pods, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	}
	var b strings.Builder
	tail := int64(logLines)
	for i := range pods {
		p := &pods[i]
		raw, err := r.logs.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{TailLines: &tail}).DoRaw(ctx)
		switch {
		case err != nil:
			fmt.Fprintf(&b, "pod %s: logs cannot be read: %s\n", p.Name, oneLine(err.Error()))
			continue
		case len(raw) == 0:
			fmt.Fprintf(&b, "pod %s: no logs (%s)\n", p.Name, podState(p))
			continue
		}
		fmt.Fprintf(&b, "pod %s:\n%s", p.Name, raw)
		if raw[len(raw)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// podState says, on one line, where a pod is: its phase and, when it is
// not scheduled, why, else the first waiting container's reason.
func podState(p *corev1.Pod) string {
	s := "phase " + string(p.Status.Phase)
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return s + ", not scheduled: " + oneLine(strings.TrimSuffix(c.Reason+": "+c.Message, ": "))
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			return s + ", container " + cs.Name + " waiting: " + oneLine(strings.TrimSuffix(w.Reason+": "+w.Message, ": "))
		}
	}
	return s
}

// replace creates obj, deleting the object of its name first, and waiting
// until it is gone, when it exists.
func (r *runner) replace(ctx context.Context, obj *unstructured.Unstructured) error {
	if err := r.deleteAndWait(ctx, obj.DeepCopy()); err != nil {
		return err
	}
	if err := r.live.Client.Create(ctx, obj, client.FieldOwner(deploy.FieldManager)); err != nil {
		return fmt.Errorf("create %s %s/%s: %w", obj.GetKind(), obj.GetNamespace(), obj.GetName(), err)
	}
	return nil
}

// deleteAndWait deletes obj, when it exists, and waits until it is gone.
func (r *runner) deleteAndWait(ctx context.Context, obj *unstructured.Unstructured) error {
	c := r.live.Client
	key := client.ObjectKeyFromObject(obj)
	err := c.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground))
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil && !apierrors.IsConflict(err):
		return fmt.Errorf("delete %s %s: %w", obj.GetKind(), key, err)
	}
	err = wait.PollUntilContextTimeout(ctx, pollInterval, r.timeout, true, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, key, obj)
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		return fmt.Errorf("%s %s still there %s after it was deleted", obj.GetKind(), key, r.timeout)
	}
	return nil
}

// remove deletes obj without waiting; a failure is no test's failure.
func (r *runner) remove(ctx context.Context, obj *unstructured.Unstructured) {
	_ = r.live.Client.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground))
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
