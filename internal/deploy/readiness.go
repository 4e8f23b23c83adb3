package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling/engine"
	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/runtime/cel"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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

// cause explains, when the API server knows, why a workload is not
// ready: the message of its ReplicaFailure condition (a Deployment's,
// copied from its newest ReplicaSet, saying why pods could not be created,
// such as an admission webhook refusing them), else the newest Warning
// event about the object (a StatefulSet's or DaemonSet's FailedCreate, a
// Job's BackoffLimitExceeded). It is one line, prefixed with the reason,
// at most maxCause runes; "" when there is nothing to say or the events
// cannot be read.
func cause(ctx context.Context, c client.Client, live *unstructured.Unstructured) string {
	raw, _, _ := unstructured.NestedSlice(live.Object, "status", "conditions")
	for _, rc := range raw {
		m, _ := rc.(map[string]any)
		if m["type"] == "ReplicaFailure" && m["status"] == "True" {
			if msg, _ := m["message"].(string); msg != "" {
				reason, _ := m["reason"].(string)
				return oneLine(reason, msg)
			}
		}
	}
	if live.GetNamespace() == "" {
		return ""
	}
	events := &corev1.EventList{}
	err := c.List(ctx, events, client.InNamespace(live.GetNamespace()), client.MatchingFields{
		"involvedObject.kind": live.GetKind(),
		"involvedObject.name": live.GetName(),
		"involvedObject.uid":  string(live.GetUID()),
	})
	if err != nil {
		return ""
	}
	var newest *corev1.Event
	for i := range events.Items {
		e := &events.Items[i]
		if e.Type == corev1.EventTypeWarning && (newest == nil || eventTime(e).After(eventTime(newest))) {
			newest = e
		}
	}
	if newest == nil {
		return ""
	}
	return oneLine(newest.Reason, newest.Message)
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

// unsetFields names the fields a readiness rule read that the object
// does not have, from CEL's "no such attribute(s): a.b, c" error: "status.state
// is not set"; the error's own words when it names none.
func unsetFields(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	_, fields, ok := strings.Cut(msg, "no such attribute(s): ")
	if !ok || fields == "" {
		return msg
	}
	if strings.Contains(fields, ",") {
		return fields + " are not set"
	}
	return fields + " is not set"
}
