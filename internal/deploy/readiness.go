package deploy

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/runtime/cel"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
)

// jobRule makes a Job ready when it has completed, not when it has started
// (which is all kstatus asks of a Job).
var jobRule = plan.Readiness{
	APIVersion: "batch/v1",
	Kind:       "Job",
	Current:    "has(status.conditions) && status.conditions.exists(c, c.type == 'Complete' && c.status == 'True')",
	Failed:     "has(status.conditions) && status.conditions.exists(c, c.type == 'Failed' && c.status == 'True')",
}

// withJobRule adds the built-in Job rule to a bundle's rules unless they
// have their own for Jobs.
func withJobRule(rules []plan.Readiness) []plan.Readiness {
	for _, r := range rules {
		if gk := schema.FromAPIVersionAndKind(r.APIVersion, r.Kind).GroupKind(); gk.Group == "batch" && (r.Kind == "" || r.Kind == "Job") {
			return rules
		}
	}
	return append(append([]plan.Readiness(nil), rules...), jobRule)
}

// statusReaders turns a bundle's readiness rules, plus the built-in Job
// rule, into kstatus status readers.
func statusReaders(rules []plan.Readiness) ([]func(meta.RESTMapper) engine.StatusReader, error) {
	var checks []kustomize.CustomHealthCheck
	for _, r := range withJobRule(rules) {
		checks = append(checks, kustomize.CustomHealthCheck{
			APIVersion: r.APIVersion,
			Kind:       r.Kind,
			HealthCheckExpressions: kustomize.HealthCheckExpressions{
				Current: r.Current, Failed: r.Failed, InProgress: r.InProgress,
			},
		})
	}
	reader, err := cel.NewStatusReader(checks)
	if err != nil {
		return nil, fmt.Errorf("readiness: %w", err)
	}
	return []func(meta.RESTMapper) engine.StatusReader{reader}, nil
}

// maxCause is the longest cause a not-ready report quotes, in runes.
const maxCause = 300

// maxCauses bounds the causes a not-ready report gives per object.
const maxCauses = 6

// maxPods bounds the pods of a workload whose events are read.
const maxPods = 20

// badWhenTrue are the condition types that say something is wrong when
// their status is True; any other condition does when it is False.
var badWhenTrue = map[string]bool{"ReplicaFailure": true, "Failed": true, "Stalled": true, "Degraded": true}

// causes explains, as far as the API server knows, why a workload is not
// ready, one line each ("reason: message", at most maxCause runes), at
// most maxCauses lines, without repeating a message:
//
//   - the messages of its conditions that say something is wrong (one of
//     badWhenTrue that is True, first, any other that is False), the most
//     recent first: a Deployment's ReplicaFailure, copied from its newest
//     ReplicaSet and saying why pods could not be created (an admission
//     webhook refusing them), then its Available=False;
//   - the Warning events about it, newest first: a StatefulSet's or
//     DaemonSet's FailedCreate, a Job's BackoffLimitExceeded;
//   - for a workload with a pod selector, the Warning events about its
//     pods, newest first, each naming a pod (FailedScheduling), or, when
//     there are none, the unmet conditions of the pods (Unschedulable).
//
// A cause whose events cannot be read is left out.
func causes(ctx context.Context, c client.Client, live *unstructured.Unstructured) []string {
	var out []string
	seen := map[string]bool{}
	add := func(line, msg string) {
		key := strings.Join(strings.Fields(msg), " ")
		if len(out) < maxCauses && key != "" && !seen[key] {
			seen[key] = true
			out = append(out, line)
		}
	}
	for _, cd := range badConditions(live.Object) {
		add(oneLine(cd.what, cd.message), cd.message)
	}
	if live.GetNamespace() == "" {
		return out
	}
	for _, e := range warnings(ctx, c, live.GetNamespace(), client.MatchingFields{
		"involvedObject.kind": live.GetKind(),
		"involvedObject.name": live.GetName(),
		"involvedObject.uid":  string(live.GetUID()),
		"type":                corev1.EventTypeWarning,
	}) {
		add(oneLine(e.Reason, e.Message), e.Message)
	}
	pods := podsOf(ctx, c, live)
	if len(pods) == 0 {
		return out
	}
	named := map[string]bool{}
	for _, p := range pods {
		named[p.GetName()] = true
	}
	found := false
	for _, e := range warnings(ctx, c, live.GetNamespace(), client.MatchingFields{"involvedObject.kind": "Pod", "type": corev1.EventTypeWarning}) {
		if named[e.InvolvedObject.Name] {
			found = true
			add(withPod(oneLine(e.Reason, e.Message), e.InvolvedObject.Name), e.Message)
		}
	}
	if found {
		return out
	}
	for _, p := range pods {
		for _, cd := range badConditions(p.Object) {
			add(withPod(oneLine(cd.what, cd.message), p.GetName()), cd.message)
		}
	}
	return out
}

// withPod names the pod a cause is about.
func withPod(line, pod string) string {
	return line + " (pod " + pod + ")"
}

// badCondition is a condition that says something is wrong.
type badCondition struct {
	// what is "Type=Status Reason".
	what, message string
	// failure is set for a condition of badWhenTrue.
	failure bool
	at      string
}

// badConditions returns the conditions of obj that say something is
// wrong and have a message: those of badWhenTrue first, then the others,
// each the most recent transition first.
func badConditions(obj map[string]any) []badCondition {
	raw, _, _ := unstructured.NestedSlice(obj, "status", "conditions")
	var out []badCondition
	for _, rc := range raw {
		m, _ := rc.(map[string]any)
		typ, _ := m["type"].(string)
		st, _ := m["status"].(string)
		msg, _ := m["message"].(string)
		if msg == "" || badWhenTrue[typ] != (st == "True") {
			continue
		}
		what := typ + "=" + st
		if r, _ := m["reason"].(string); r != "" {
			what += " " + r
		}
		at, _ := m["lastTransitionTime"].(string)
		out = append(out, badCondition{what: what, message: msg, failure: badWhenTrue[typ], at: at})
	}
	slices.SortStableFunc(out, func(a, b badCondition) int {
		if a.failure != b.failure {
			if a.failure {
				return -1
			}
			return 1
		}
		// RFC 3339 times in UTC sort as strings.
		return strings.Compare(b.at, a.at)
	})
	return out
}

// warnings lists the Warning events of namespace that match fields (which
// ask for Warning events), newest first; none when they cannot be read.
func warnings(ctx context.Context, c client.Client, namespace string, fields client.MatchingFields) []corev1.Event {
	events := &corev1.EventList{}
	if err := c.List(ctx, events, client.InNamespace(namespace), fields); err != nil {
		return nil
	}
	out := slices.DeleteFunc(events.Items, func(e corev1.Event) bool { return e.Type != corev1.EventTypeWarning })
	slices.SortStableFunc(out, func(a, b corev1.Event) int { return eventTime(&b).Compare(eventTime(&a)) })
	return out
}

// podsOf returns up to maxPods pods that live's pod selector
// (spec.selector of a Deployment, StatefulSet, DaemonSet, ReplicaSet or
// Job) selects and that are not running, by name; none when live has no
// selector or the pods cannot be read.
func podsOf(ctx context.Context, c client.Client, live *unstructured.Unstructured) []*unstructured.Unstructured {
	raw, ok, _ := unstructured.NestedMap(live.Object, "spec", "selector")
	if !ok {
		return nil
	}
	var ls metav1.LabelSelector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &ls); err != nil {
		return nil
	}
	sel, err := metav1.LabelSelectorAsSelector(&ls)
	if err != nil || sel.Empty() {
		return nil
	}
	pods := &unstructured.UnstructuredList{}
	pods.SetAPIVersion("v1")
	pods.SetKind("PodList")
	if err := c.List(ctx, pods, client.InNamespace(live.GetNamespace()), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil
	}
	var out []*unstructured.Unstructured
	for i := range pods.Items {
		p := &pods.Items[i]
		if phase, _, _ := unstructured.NestedString(p.Object, "status", "phase"); phase == "Running" || phase == "Succeeded" {
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *unstructured.Unstructured) int { return strings.Compare(a.GetName(), b.GetName()) })
	if len(out) > maxPods {
		out = out[:maxPods]
	}
	return out
}

// eventTime is when an event last happened.
func eventTime(e *corev1.Event) time.Time {
	switch {
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}

// oneLine is "reason: message" on one line, cut to maxCause runes.
func oneLine(reason, msg string) string {
	s := strings.Join(strings.Fields(msg), " ")
	if reason != "" {
		s = reason + ": " + s
	}
	if r := []rune(s); len(r) > maxCause {
		s = string(r[:maxCause-1]) + "…"
	}
	return s
}

// unsetFields names the fields a readiness rule read that the object obj
// does not have: "status.state is not set". CEL names them in full when a
// map on the way is missing ("no such attribute(s): a.b, c"), but only
// by the last key when the map is there without it ("no such key:
// state"); then the path is the one of exprs (the rule's expressions)
// that ends in that key and whose parent obj has without it, when
// exactly one does. It is the error's own words when it names no field.
func unsetFields(err error, exprs string, obj map[string]any) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if _, key, ok := strings.Cut(msg, "no such key: "); ok && key != "" {
		return missingKeyPath(key, exprs, obj) + " is not set"
	}
	_, fields, ok := strings.Cut(msg, "no such attribute(s): ")
	if !ok || fields == "" {
		return msg
	}
	if strings.Contains(fields, ",") {
		return fields + " are not set"
	}
	return fields + " is not set"
}

// selectPath matches a field path in a CEL expression, a.b.c; indexKey a
// constant string index, a['b'], which missingKeyPath reads as a.b.
var (
	selectPath = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+`)
	indexKey   = regexp.MustCompile(`\[\s*(?:'([A-Za-z_][A-Za-z0-9_]*)'|"([A-Za-z_][A-Za-z0-9_]*)")\s*\]`)
)

// missingKeyPath is the full path of the key that obj lacks: the one path
// of exprs ending in key whose parent is a map of obj without key; key
// alone when there is not exactly one.
func missingKeyPath(key, exprs string, obj map[string]any) string {
	var found []string
	for _, path := range selectPath.FindAllString(indexKey.ReplaceAllString(exprs, ".$1$2"), -1) {
		parts := strings.Split(path, ".")
		for i := len(parts) - 1; i > 0; i-- {
			if parts[i] != key {
				continue
			}
			parent, ok, _ := unstructured.NestedMap(obj, parts[:i]...)
			if _, has := parent[key]; ok && !has {
				if p := strings.Join(parts[:i+1], "."); !slices.Contains(found, p) {
					found = append(found, p)
				}
			}
		}
	}
	if len(found) != 1 {
		return key
	}
	return found[0]
}
