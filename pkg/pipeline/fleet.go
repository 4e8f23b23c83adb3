package pipeline

import (
	"context"
	"time"

	"wookie.dev/wookie/internal/deploy/fleet"
	"wookie.dev/wookie/internal/emit"
)

// FleetState is Fleet's verdict on one bundle (see fleet.State).
type FleetState = fleet.State

// FleetBundle is the Fleet Bundle resource of one bundle (see
// emit.FleetBundle).
type FleetBundle = emit.FleetBundle

// FleetResult is what DeployViaFleet did (see fleet.Result).
type FleetResult = fleet.Result

// FleetNotReadyError reports the bundles Fleet did not make ready (see
// fleet.NotReadyError).
type FleetNotReadyError = fleet.NotReadyError

// FleetNotInstalledError says that the management cluster has no Fleet
// (see fleet.NotInstalledError).
type FleetNotInstalledError = fleet.NotInstalledError

// FleetOptions say which clusters DeployViaFleet and StatusViaFleet work
// on, how they reach Fleet's management cluster, and what a deploy does.
type FleetOptions struct {
	// Clusters selects clusters by name; none means all.
	Clusters []string
	// Kubeconfig replaces every cluster's kubeconfig file when set.
	Kubeconfig string
	// Context replaces the management cluster's kubeconfig context.
	Context string
	// Timeout is how long DeployViaFleet waits for Fleet to make every
	// bundle ready; 0 means 10 minutes.
	Timeout time.Duration
	// Prune deletes the Bundles wookie handed to Fleet before that are no
	// longer in the Plan; Fleet then removes what they deployed.
	Prune bool
	// IncludeSecrets hands Fleet the bundles and Secrets that render
	// leaves out unless asked (sensitive and generated bundles, Secrets
	// with data): Fleet keeps them in Bundle resources on the management
	// cluster.
	IncludeSecrets bool
	// OnEvent receives each step: Bundles handed, clusters registered,
	// Fleet's state of each bundle as it changes, pruned Bundles.
	OnEvent func(Event)
}

// FleetBundles renders pl as GitOps outputs are rendered (secrets only
// with o.IncludeSecrets; objects that need deploy-time inputs left out)
// and returns the Fleet Bundle of every bundle, with what rendering left
// out (Result.Omitted, Result.OmittedObjects) for the caller to report.
func (p *Pipeline) FleetBundles(ctx context.Context, pl *Plan, o FleetOptions) ([]FleetBundle, *Result, error) {
	if _, err := SelectClusters(pl, o.Clusters); err != nil {
		return nil, nil, err
	}
	if _, err := fleet.Management(pl); err != nil {
		return nil, nil, err
	}
	res, err := p.Render(ctx, pl, RenderOptions{LeaveOutInputRefs: true, IncludeSecrets: o.IncludeSecrets, Certs: o.IncludeSecrets})
	if err != nil {
		return nil, nil, err
	}
	bundles, warnings, err := emit.FleetBundles(pl, res, emit.Options{Format: emit.FormatFleet})
	if err != nil {
		return nil, nil, err
	}
	p.warn(warnings...)
	return bundles, res, nil
}

// DeployViaFleet hands bundles (from FleetBundles) to Rancher Fleet on
// pl's management cluster (gitops.fleet.management) and follows Fleet
// until every bundle is Ready: it registers the downstream clusters with
// Fleet, applies the Bundles with server-side apply, deletes with o.Prune
// the ones that left the Plan, and reads Fleet's status. The bundles that
// install Fleet (the fleet project's) are not handed over: Deploy installs
// them. Fleet's errors are a *FleetNotReadyError; a management cluster
// without Fleet a *FleetNotInstalledError.
func (p *Pipeline) DeployViaFleet(ctx context.Context, pl *Plan, bundles []FleetBundle, o FleetOptions) (*FleetResult, error) {
	return fleet.Deploy(ctx, pl, bundles, o.fleetOptions())
}

// StatusViaFleet reads Fleet's verdict on every bundle DeployViaFleet
// would hand over, and the Bundles it handed over before that left the
// Plan (State Extra).
func (p *Pipeline) StatusViaFleet(ctx context.Context, pl *Plan, bundles []FleetBundle, o FleetOptions) ([]FleetState, error) {
	return fleet.Status(ctx, pl, bundles, o.fleetOptions())
}

// fleetOptions are the options of package fleet for o.
func (o FleetOptions) fleetOptions() fleet.Options {
	return fleet.Options{
		Clusters: o.Clusters, Kubeconfig: o.Kubeconfig, Context: o.Context,
		Timeout: o.Timeout, Prune: o.Prune, OnEvent: o.OnEvent,
	}
}
