package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/runtime/cel"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"wookie.dev/wookie/internal/plan"
)

// notReady reads every object and reports those that are not ready.
func (d *clusterDeploy) notReady(ctx context.Context, objs []*unstructured.Unstructured, rules []plan.Readiness) []ObjectState {
	var out []ObjectState
	for _, o := range objs {
		if st, ready := liveState(ctx, d.conn.client, o, rules); !ready {
			out = append(out, st)
		}
	}
	return out
}

// liveState reads one object and judges its readiness by the rule for its
// kind, or else kstatus: Missing when it does not exist, Unreadable when
// it cannot be read (its kind is not served, reading it is forbidden, the
// cluster does not answer) with the reason, Unknown when it cannot be
// judged, else kstatus's status with the message and the object's
// conditions.
func liveState(ctx context.Context, c client.Client, o *unstructured.Unstructured, rules []plan.Readiness) (ObjectState, bool) {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(o.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(o), live); err != nil {
		if apierrors.IsNotFound(err) {
			return ObjectState{Object: subject(o), Status: "Missing"}, false
		}
		return ObjectState{Object: subject(o), Status: "Unreadable", Message: readError(o, err)}, false
	}
	st := ObjectState{Object: subject(o), Conditions: conditions(live)}
	res, rule, err := evaluate(ctx, live, rules)
	switch {
	case err != nil:
		st.Status, st.Message = "Unknown", err.Error()
	case res.Status == status.CurrentStatus:
		return st, true
	default:
		st.Status, st.Message = res.Status.String(), res.Message
		if rule != "" && st.Message == "" {
			st.Message = "readiness rule not met: " + rule
		}
		st.Causes = causes(ctx, c, live)
	}
	return st, false
}

// readError says, on one line, why o could not be read.
func readError(o *unstructured.Unstructured, err error) string {
	if meta.IsNoMatchError(err) {
		return "the cluster does not serve " + o.GetAPIVersion() + " " + o.GetKind()
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// evaluate computes an object's readiness by the rule for its kind, or
// kstatus when there is none; it returns the rule's Current expression.
func evaluate(ctx context.Context, u *unstructured.Unstructured, rules []plan.Readiness) (*status.Result, string, error) {
	gk := u.GroupVersionKind().GroupKind()
	for _, r := range rules {
		rgk := schema.FromAPIVersionAndKind(r.APIVersion, r.Kind).GroupKind()
		if rgk.Group != gk.Group || r.Kind != "" && rgk.Kind != gk.Kind {
			continue
		}
		ev, err := cel.NewStatusEvaluator(&kustomize.HealthCheckExpressions{Current: r.Current, Failed: r.Failed, InProgress: r.InProgress})
		if err != nil {
			return nil, r.Current, err
		}
		res, err := ev.Evaluate(ctx, u)
		if err != nil && (strings.Contains(err.Error(), "no such attribute") || strings.Contains(err.Error(), "no such key")) {
			// The fields the rule reads are not there yet: not ready.
			exprs := strings.Join([]string{r.Current, r.Failed, r.InProgress}, " ")
			return &status.Result{Status: status.InProgressStatus, Message: "readiness rule not met yet (" + r.Current + "): " + unsetFields(err, exprs, u.Object)}, r.Current, nil
		}
		return res, r.Current, err
	}
	res, err := status.Compute(u)
	return res, "", err
}

// conditions lists an object's status conditions as Type=Status Reason.
func conditions(u *unstructured.Unstructured) []string {
	raw, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	var out []string
	for _, c := range raw {
		m, ok := c.(map[string]any)
		if !ok {
			continue
		}
		s := fmt.Sprintf("%v=%v", m["type"], m["status"])
		if r, ok := m["reason"].(string); ok && r != "" {
			s += " " + r
		}
		out = append(out, s)
	}
	return out
}

// describe says which objects are not ready, or repeats the wait error:
// on one line, each object with its status, message and conditions, then
// a line per cause (see ObjectState.Describe).
func describe(states []ObjectState, err error) string {
	if len(states) == 0 {
		return strings.Join(strings.Fields(err.Error()), " ")
	}
	var parts, causes []string
	for _, s := range states {
		lines := s.Describe()
		parts = append(parts, lines[0])
		causes = append(causes, lines[1:]...)
	}
	return strings.Join(append([]string{strings.Join(parts, "; ")}, causes...), "\n")
}

// Describe describes s in lines: the object, its status, message and
// conditions ("Deployment/ns/web InProgress: Available: 0/1
// (Available=False MinimumReplicasUnavailable)"), then a line per cause
// ("Deployment/ns/web: FailedScheduling: 0/1 nodes are available: ...").
func (s ObjectState) Describe() []string {
	first := s.Object + " " + s.Status
	if s.Message != "" {
		first += ": " + s.Message
	}
	if len(s.Conditions) > 0 {
		first += " (" + strings.Join(s.Conditions, ", ") + ")"
	}
	out := []string{first}
	for _, c := range s.Causes {
		out = append(out, s.Object+": "+c)
	}
	return out
}

// waitReady waits, for at most timeout, until every object of objs is
// ready, judged as liveState judges it (the bundle's rules, else
// kstatus). Each round reads the objects with one list per kind and
// namespace (listLive), and one by one only those the lists do not hold;
// an object judged Failed ends the wait at once. The error names the
// objects not ready.
func (d *clusterDeploy) waitReady(ctx context.Context, objs []*unstructured.Unstructured, rules []plan.Readiness, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	// The first looks come soon and often, then further apart: most
	// objects are ready within a second or two of their apply (a CRD
	// Established, a Deployment whose Pods start), and a look is one list
	// per kind and namespace.
	start := time.Now()
	for {
		live, _, err := d.listLive(ctx, objs)
		if err != nil {
			return err
		}
		var pending []string
		for _, o := range objs {
			u := live[keyOf(o)]
			if u == nil {
				u = &unstructured.Unstructured{}
				u.SetGroupVersionKind(o.GroupVersionKind())
				if err := d.conn.client.Get(ctx, client.ObjectKeyFromObject(o), u); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					pending = append(pending, subject(o)+" "+strings.Join(strings.Fields(err.Error()), " "))
					continue
				}
			}
			res, _, err := evaluate(ctx, u, rules)
			switch {
			case err != nil:
				pending = append(pending, subject(o)+" Unknown: "+err.Error())
			case res.Status == status.FailedStatus:
				return fmt.Errorf("%s Failed: %s", subject(o), res.Message)
			case res.Status != status.CurrentStatus:
				pending = append(pending, subject(o)+" "+res.Status.String())
			}
		}
		if len(pending) == 0 {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("timeout waiting for %s", strings.Join(pending, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(pause(time.Since(start), d.interval()), time.Until(deadline))):
		}
	}
}

// pause is how long waitReady waits before its next look, elapsed into
// the wait: 0.1 s for the first 2 s, 0.25 s until 5 s, then interval (at
// most those).
func pause(elapsed, interval time.Duration) time.Duration {
	switch {
	case elapsed < 2*time.Second:
		return min(100*time.Millisecond, interval)
	case elapsed < 5*time.Second:
		return min(250*time.Millisecond, interval)
	}
	return interval
}
