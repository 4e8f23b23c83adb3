package verify

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/kubernetes"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// The kinds of check a Result reports.
const (
	KindHelm      = "helm"
	KindCEL       = "cel"
	KindHTTP      = "http"
	KindInjection = "injection"
)

// Result is the outcome of one check.
type Result struct {
	Cluster string `json:"cluster"`
	Batch   string `json:"batch"`
	Bundle  string `json:"bundle"`
	// Name names the check in its bundle: a declared test's name, or the
	// Helm test hook's Kind/name.
	Name string `json:"name"`
	// Kind is KindHelm, KindCEL, KindHTTP or KindInjection.
	Kind   string `json:"kind"`
	Passed bool   `json:"passed"`
	// Duration is how long the check took.
	Duration time.Duration `json:"-"`
	// Millis is Duration in milliseconds, for JSON.
	Millis int64 `json:"durationMs"`
	// Cause says, on one line, why the check failed.
	Cause string `json:"cause,omitempty"`
	// Logs are the last lines of the logs of a failed Pod (a Helm test
	// Pod, an HTTP test's Job), when they can be read.
	Logs string `json:"logs,omitempty"`
}

// Options say how long a check may wait and who hears of each result.
type Options struct {
	// Timeout bounds each check that waits (a Helm test, an HTTP Job, a
	// test namespace going away); 0 means 5 minutes.
	Timeout time.Duration
	// OnResult receives each Result as soon as it is known.
	OnResult func(Result)
}

// defaultTimeout is Options.Timeout's default.
const defaultTimeout = 5 * time.Minute

// runner runs the checks of one cluster.
type runner struct {
	live    *deploy.Live
	logs    kubernetes.Interface
	timeout time.Duration
}

// Cluster runs the checks of the bundles of l that it picks, in batch
// order and, in a bundle, its Helm test hooks first, then its declared
// tests in Plan order. A check that cannot run (its object unreadable, the
// API server refusing it) fails with the reason; Cluster itself fails
// only when it cannot reach the cluster's logs API.
func Cluster(ctx context.Context, l *deploy.Live, opts Options) ([]Result, error) {
	logs, err := kubernetes.NewForConfig(l.Config)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: %w", l.Plan.Name, err)
	}
	r := &runner{live: l, logs: logs, timeout: opts.Timeout}
	if r.timeout <= 0 {
		r.timeout = defaultTimeout
	}
	bundles := map[string]*plan.Bundle{}
	for bi := range l.Plan.Batches {
		for ui := range l.Plan.Batches[bi].Bundles {
			u := &l.Plan.Batches[bi].Bundles[ui]
			bundles[u.Name] = u
		}
	}
	var out []Result
	emit := func(res Result) {
		res.Cluster = l.Plan.Name
		res.Millis = res.Duration.Milliseconds()
		out = append(out, res)
		if opts.OnResult != nil {
			opts.OnResult(res)
		}
	}
	for bi := range l.Render.Batches {
		b, ok := l.Picked.Batch(&l.Render.Batches[bi])
		if !ok {
			continue
		}
		for ui := range b.Bundles {
			u := &b.Bundles[ui]
			for _, res := range r.helmTests(ctx, u) {
				res.Batch, res.Bundle = b.Name, u.Name
				emit(res)
			}
			pu := bundles[u.Name]
			if pu == nil {
				continue
			}
			for _, t := range pu.Tests {
				start := time.Now()
				res := r.declared(ctx, pu, t)
				res.Batch, res.Bundle, res.Name = b.Name, u.Name, t.Name
				res.Duration = time.Since(start)
				emit(res)
			}
		}
	}
	return out, nil
}

// declared runs one test the Plan declares.
func (r *runner) declared(ctx context.Context, u *plan.Bundle, t plan.Test) Result {
	switch {
	case t.CEL != nil:
		return r.celTest(ctx, u, t.CEL)
	case t.HTTP != nil:
		return r.httpTest(ctx, u, t.Name, t.HTTP)
	case t.Injection != nil:
		return r.injectionTest(ctx, u, t.Name, t.Injection)
	}
	return Result{Cause: "the test declares no check"}
}

// Failed counts the results that did not pass.
func Failed(results []Result) int {
	n := 0
	for _, r := range results {
		if !r.Passed {
			n++
		}
	}
	return n
}

// isTest reports whether o is a test hook object wookie test waits for.
func isTest(o *render.Object) bool {
	k := o.GetKind()
	return o.GetAPIVersion() == "v1" && k == "Pod" || o.GroupVersionKind().Group == "batch" && k == "Job"
}
