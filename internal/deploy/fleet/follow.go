package fleet

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wookie.dev/wookie/internal/deploy"
)

// follow reads Fleet's status of every handed bundle each interval,
// reporting each change, until all are ready (nil), every bundle that is
// not is in an error that lasted Settle unchanged or waits for one that
// is, or the timeout passes (a *NotReadyError either way).
func (s *session) follow(ctx context.Context, start time.Time) ([]State, error) {
	timeout := s.opts.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	settle := s.opts.Settle
	if settle == 0 {
		settle = 30 * time.Second
	}
	interval := s.opts.Interval
	if interval == 0 {
		interval = time.Second
	}
	deadline := time.Now().Add(timeout)
	last := make([]State, len(s.bundles))
	since := make([]time.Time, len(s.bundles)) // when last[i] began
	for {
		snap, err := s.look(ctx, true)
		if err != nil {
			return nil, err
		}
		states := make([]State, len(s.bundles))
		for i, b := range s.bundles {
			st := s.read(b, snap)
			states[i] = st
			if st.State != last[i].State || st.Message != last[i].Message {
				since[i] = time.Now()
				s.report(b, st, start)
			}
		}
		last = states
		var notReady []State
		for _, st := range states {
			if !st.Ready {
				notReady = append(notReady, st)
			}
		}
		if len(notReady) == 0 {
			return states, nil
		}
		if s.stuck(states, since, settle) {
			return states, &NotReadyError{States: notReady, Of: len(states), Why: "Fleet reports errors"}
		}
		if time.Now().After(deadline) {
			return states, &NotReadyError{States: notReady, Of: len(states), Why: "after " + timeout.String()}
		}
		select {
		case <-ctx.Done():
			return states, &NotReadyError{States: notReady, Of: len(states), Why: ctx.Err().Error()}
		case <-time.After(interval):
		}
	}
}

// report sends the event of b's new state st.
func (s *session) report(b handed, st State, start time.Time) {
	e := deploy.Event{Cluster: b.Cluster, Batch: b.batch, Bundle: b.Bundle, Object: "Bundle " + b.Workspace + "/" + b.Name}
	if st.Ready {
		e.Type, e.Message, e.Seconds = "fleet-ready", st.Clusters, time.Since(start).Seconds()
	} else {
		e.Type, e.Message = "fleet-waiting", describe(st)
		if st.State == "ErrApplied" && waitsForDeps(st.Message) {
			e.Message = "waits for the bundles it depends on"
		}
	}
	s.emit(e)
}

// stuck reports whether every bundle that is not ready has been in an
// error for settle, unchanged, or depends, directly or not, on one that
// has.
func (s *session) stuck(states []State, since []time.Time, settle time.Duration) bool {
	failed := map[string]bool{} // by Fleet name
	for i, st := range states {
		if isError(st) && time.Since(since[i]) >= settle {
			failed[s.bundles[i].Workspace+"/"+st.Name] = true
		}
	}
	if len(failed) == 0 {
		return false
	}
	blocked := func(i int) bool {
		seen := map[int]bool{}
		var walk func(i int) bool
		walk = func(i int) bool {
			if seen[i] {
				return false
			}
			seen[i] = true
			b := s.bundles[i]
			if failed[b.Workspace+"/"+b.Name] {
				return true
			}
			for _, d := range dependsOn(b.obj) {
				for j, o := range s.bundles {
					if o.Workspace == b.Workspace && o.Name == d && walk(j) {
						return true
					}
				}
			}
			return false
		}
		return walk(i)
	}
	for i, st := range states {
		if !st.Ready && !blocked(i) {
			return false
		}
	}
	return true
}

// isError reports whether st is an error Fleet reports rather than work
// in progress. Fleet's agent reports a bundle that waits for the bundles
// it depends on as ErrApplied too ("dependent bundle(s) are not ready",
// or, before their BundleDeployments exist, "no bundles matching
// labels"): that is waiting.
func isError(st State) bool {
	switch st.State {
	case "ErrApplied", "Modified", "OutOfSync":
		return !waitsForDeps(st.Message)
	}
	return false
}

// waitsForDeps reports whether a Fleet message says only that the bundle
// waits for the bundles it depends on.
func waitsForDeps(msg string) bool {
	return strings.Contains(msg, "dependent bundle(s) are not ready") || strings.Contains(msg, "list bundledeployments: no bundles matching labels")
}

// dependsOn lists the names in a Bundle's spec.dependsOn.
func dependsOn(obj *unstructured.Unstructured) []string {
	deps, _, _ := unstructured.NestedSlice(obj.Object, "spec", "dependsOn")
	var out []string
	for _, d := range deps {
		if m, ok := d.(map[string]any); ok {
			if n, ok := m["name"].(string); ok {
				out = append(out, n)
			}
		}
	}
	return out
}

// read is Fleet's verdict on b in snap.
func (s *session) read(b handed, snap *snapshot) State {
	st := State{Cluster: b.Cluster, Batch: b.batch, Bundle: b.Bundle, Workspace: b.Workspace, Name: b.Name}
	o := snap.bundles[b.Workspace+"/"+b.Name]
	if o == nil {
		st.State = "Absent"
		st.Message = "no such Bundle on the management cluster"
		return st
	}
	observed, _, _ := unstructured.NestedInt64(o.Object, "status", "observedGeneration")
	desired, _, _ := unstructured.NestedInt64(o.Object, "status", "summary", "desiredReady")
	ready, _, _ := unstructured.NestedInt64(o.Object, "status", "summary", "ready")
	st.Clusters, _, _ = unstructured.NestedString(o.Object, "status", "display", "readyClusters")
	display, _, _ := unstructured.NestedString(o.Object, "status", "display", "state")
	cond, msg := condition(o, "Ready")
	switch {
	case observed < o.GetGeneration():
		st.State = "Stale"
		st.Message = "Fleet has not processed this version of the Bundle yet"
	case desired == 0:
		st.State = "NoCluster"
		st.Message = "targets no Fleet cluster yet: " + targetsOf(o)
	case cond == "True" && ready == desired:
		st.Ready, st.State = true, "Ready"
	default:
		st.State = or(display, "NotReady")
		st.Message = strings.TrimSpace(msg)
		bd := deploymentMessages(snap.deployments[b.Workspace+"/"+b.Name], st.Message)
		st.Message = strings.Join(slices.DeleteFunc([]string{st.Message, bd}, func(x string) bool { return x == "" }), "; ")
	}
	st.Message = oneLine(st.Message)
	return st
}

// deploymentMessages are the states and messages of the
// BundleDeployments ds that are not ready, "cluster NS/NAME: State:
// message" joined by "; ", leaving out those whose message the Bundle's
// (known) already carries.
func deploymentMessages(ds []*unstructured.Unstructured, known string) string {
	var out []string
	for _, d := range ds {
		status, msg := condition(d, "Ready")
		if status == "True" {
			continue
		}
		state, _, _ := unstructured.NestedString(d.Object, "status", "display", "state")
		if msg == "" {
			_, msg = condition(d, "Deployed")
		}
		msg = strings.TrimPrefix(strings.TrimSpace(msg), "not ready: ")
		if msg != "" && strings.Contains(known, msg) {
			continue
		}
		line := "cluster " + or(d.GetLabels()["fleet.cattle.io/cluster-namespace"]+"/", "") + d.GetLabels()["fleet.cattle.io/cluster"]
		if state != "" {
			line += ": " + state
		}
		if msg != "" {
			line += ": " + strings.TrimSpace(msg)
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}

// targetsOf describes a Bundle's targets for messages.
func targetsOf(o *unstructured.Unstructured) string {
	targets, _, _ := unstructured.NestedSlice(o.Object, "spec", "targets")
	var out []string
	for _, t := range targets {
		m, _ := t.(map[string]any)
		if n, ok := m["clusterName"].(string); ok && n != "" {
			out = append(out, fmt.Sprintf("Cluster %s/%s (is it registered, its agent running?)", o.GetNamespace(), n))
		} else if sel, ok := m["clusterSelector"]; ok {
			out = append(out, fmt.Sprintf("Clusters in %s labelled %v", o.GetNamespace(), sel))
		}
	}
	if len(out) == 0 {
		return "no targets"
	}
	return strings.Join(out, ", ")
}

// condition returns the status and message of o's condition typ.
func condition(o *unstructured.Unstructured, typ string) (string, string) {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			status, _ := m["status"].(string)
			msg, _ := m["message"].(string)
			return status, msg
		}
	}
	return "", ""
}

// oneLine joins the lines of a Fleet message ("...\nensure CRDs are
// installed first") with "; ".
func oneLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(slices.DeleteFunc(lines, func(l string) bool { return l == "" }), "; ")
}
