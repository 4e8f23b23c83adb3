package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	"wookie.dev/wookie/pkg/pipeline"
)

// A program deploys a configuration and branches on the errors it can
// act on: a field conflict (retry with ForceConflicts), a cluster locked
// by another deploy (wait), dependencies that are not ready.
func ExamplePipeline_Deploy() {
	ctx := context.Background()
	p, err := pipeline.New(pipeline.Config{Files: []string{"wookie.cue"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	pl, err := p.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	res, err := p.RenderLive(ctx, pl, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	_, err = p.Deploy(ctx, pl, res, pipeline.DeployOptions{Prune: true})
	var conflict *pipeline.ConflictError
	var locked *pipeline.LockError
	var deps *pipeline.DependencyError
	switch {
	case errors.As(err, &conflict):
		fmt.Fprintln(os.Stderr, "fields owned by others:", conflict.Conflicts)
	case errors.As(err, &locked):
		fmt.Fprintf(os.Stderr, "cluster %s is being deployed by %s\n", locked.Cluster, locked.Holder)
	case errors.As(err, &deps):
		fmt.Fprintln(os.Stderr, "deploy what the selection depends on first:", err)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
	}
}
