package pipeline

import (
	"context"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/verify"
)

// TestResult is the outcome of one check of Test.
type TestResult = verify.Result

// TestOptions say which clusters and bundles Test checks, how it reaches
// them and how long a check may wait.
type TestOptions struct {
	// DeployOptions select the clusters, batches and bundles and say how
	// to reach them; Timeout bounds each check that waits (default 5m).
	// The options of a deploy (DryRun, Prune, ...) are ignored.
	DeployOptions
	// OnResult receives each result as soon as it is known.
	OnResult func(TestResult)
}

// Test verifies the deployed stack: per selected cluster, per bundle in
// batch order, it runs the chart's Helm test hooks and the tests the
// bundle declares (CEL expressions over live objects, HTTP requests from
// inside the cluster, sidecar injection), giving a result per check. res
// is rendered from pl by RenderLive. A check that fails is a result, not
// an error; the error is for a cluster that cannot be reached or
// rendered, and comes with the results of the clusters before it.
func (p *Pipeline) Test(ctx context.Context, pl *Plan, res *Result, o TestOptions) ([]TestResult, error) {
	opts, err := p.deployOptions(pl, o.DeployOptions)
	if err != nil {
		return nil, err
	}
	vo := verify.Options{Timeout: o.Timeout, OnResult: o.OnResult}
	var out []TestResult
	err = deploy.Visit(ctx, pl, res, opts, func(ctx context.Context, l *deploy.Live) error {
		rs, err := verify.Cluster(ctx, l, vo)
		out = append(out, rs...)
		return err
	})
	return out, err
}

// TestsFailed counts the results that did not pass.
func TestsFailed(results []TestResult) int { return verify.Failed(results) }

// TestLine is the line wookie test prints for a result: ✓ or ✗, cluster,
// bundle, kind and name of the check, duration and cause.
func TestLine(r TestResult) string { return verify.Line(r) }

// TestJUnit is the JUnit XML report of results.
func TestJUnit(results []TestResult) ([]byte, error) { return verify.JUnit(results) }
