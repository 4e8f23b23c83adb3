package pipeline

import (
	"context"
	"time"

	"wookie.dev/wookie/internal/deploy"
)

// DeployOptions say which clusters Deploy, Diff and Status work on, how
// they reach them, and what Deploy (and Diff, which previews it) does.
type DeployOptions struct {
	// Clusters selects clusters by name; none means all.
	Clusters []string
	// Select picks batches and bundles of those clusters (see
	// Selection); the zero Selection picks all of them.
	Select Selection
	// Kubeconfig replaces every cluster's kubeconfig file when set.
	Kubeconfig string
	// Context replaces the kubeconfig context; one cluster only.
	Context string
	// Timeout replaces every bundle's readiness timeout when set.
	Timeout time.Duration
	// DryRun sends everything as a server-side dry run (Deploy).
	DryRun bool
	// Prune deletes (Deploy) or shows (Diff) objects applied before that
	// left the Plan.
	Prune bool
	// ForceConflicts takes over fields other field managers own.
	ForceConflicts bool
	// LockWait is how long Deploy waits for another deploy holding a
	// cluster's lock; 0 refuses at once.
	LockWait time.Duration
	// OnEvent receives each step: progress, warnings, notes.
	OnEvent func(Event)
}

// ConflictError reports fields of objects to apply that other field
// managers own: Deploy returns it unless ForceConflicts (Diff shows
// conflicts as changes). Its Conflicts name each object, manager and
// field.
type ConflictError = deploy.ConflictError

// LockError says that another deploy holds the lock (a Lease in the
// inventory's namespace) of a cluster Deploy was to apply to, for longer
// than LockWait: it names the holder and when its lock lapses.
type LockError = deploy.LockError

// deployOptions are the options of package deploy for o: the clusters
// with inputs rendered as RenderLive leaves them to be.
func (p *Pipeline) deployOptions(pl *Plan, o DeployOptions) (deploy.Options, error) {
	if err := CheckPart(pl, Part{Clusters: o.Clusters, Select: o.Select}); err != nil {
		return deploy.Options{}, err
	}
	ropts, err := p.renderOptions(liveRender)
	if err != nil {
		return deploy.Options{}, err
	}
	return deploy.Options{
		Render:         ropts,
		Clusters:       o.Clusters,
		Select:         o.Select,
		Kubeconfig:     o.Kubeconfig,
		Context:        o.Context,
		Timeout:        o.Timeout,
		DryRun:         o.DryRun,
		Prune:          o.Prune,
		ForceConflicts: o.ForceConflicts,
		LockWait:       o.LockWait,
		OnEvent:        o.OnEvent,
	}, nil
}

// Deploy applies res, rendered from pl by RenderLive, with server-side
// apply, cluster by cluster and batch by batch, waiting for readiness;
// it records what it applied in each cluster's inventory and, with
// Prune, deletes what left the Plan. A conflict with another field
// manager is a *ConflictError, a cluster locked by another deploy a
// *LockError. With o.Select it applies only the part picked,
// after checking that what it depends on is ready in the cluster (else a
// *DependencyError), and prunes only what left that part.
func (p *Pipeline) Deploy(ctx context.Context, pl *Plan, res *Result, o DeployOptions) (*Summary, error) {
	opts, err := p.deployOptions(pl, o)
	if err != nil {
		return nil, err
	}
	return deploy.Deploy(ctx, pl, res, opts)
}

// Diff returns what Deploy with the same options would do, through the
// same code as a server-side dry run, changing nothing.
func (p *Pipeline) Diff(ctx context.Context, pl *Plan, res *Result, o DeployOptions) ([]Change, error) {
	opts, err := p.deployOptions(pl, o)
	if err != nil {
		return nil, err
	}
	return deploy.Diff(ctx, pl, res, opts)
}

// Status reads every object of res from its cluster and says per bundle
// how many exist and are ready, as Deploy judges readiness.
func (p *Pipeline) Status(ctx context.Context, pl *Plan, res *Result, o DeployOptions) ([]BundleStatus, error) {
	opts, err := p.deployOptions(pl, o)
	if err != nil {
		return nil, err
	}
	return deploy.Status(ctx, pl, res, opts)
}
