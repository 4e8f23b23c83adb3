package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/pkg/pipeline"
)

// clusterFlags select clusters and how to reach them.
type clusterFlags struct {
	clusters   []string
	kubeconfig string
	context    string
}

func addClusterFlags(cmd *cobra.Command, f *clusterFlags) {
	cmd.Flags().StringArrayVar(&f.clusters, "cluster", nil, "cluster of the Plan to work on; repeatable; default all")
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file for every cluster (default: the cluster's own, else $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVar(&f.context, "context", "", "kubeconfig context, replacing the cluster's (one cluster only)")
}

// liveFlags are the flags of every command that renders the Plan and talks
// to its clusters: deploy, diff and status.
type liveFlags struct {
	config  configFlags
	lock    lockFlags
	fetch   fetchFlags
	cluster clusterFlags
	// sel is registered by deploy, diff and status (not up).
	sel selectFlags
}

func addLiveFlags(cmd *cobra.Command, f *liveFlags) {
	addConfigFlags(cmd, &f.config, true)
	addLockFlags(cmd, &f.lock)
	addFetchFlags(cmd, &f.fetch)
	addClusterFlags(cmd, &f.cluster)
}

// renderLive loads the Plan and renders it as deploy, diff and status
// want it (pipeline.RenderLive); an unknown --cluster, --batch or
// --bundle is a usage error, found before anything is rendered.
func renderLive(cmd *cobra.Command, s *streams, f *liveFlags) (*pipeline.Pipeline, *plan.Plan, *render.Result, error) {
	sel, err := f.sel.selection()
	if err != nil {
		return nil, nil, nil, err
	}
	p, pl, err := load(s, &f.config, &f.lock, &f.fetch)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := pipeline.CheckPart(pl, pipeline.Part{Clusters: f.cluster.clusters, Select: sel}); err != nil {
		return nil, nil, nil, err
	}
	res, err := p.RenderLive(cmd.Context(), pl, f.cluster.clusters)
	if err != nil {
		return nil, nil, nil, renderHints(err)
	}
	return p, pl, res, nil
}

// liveOptions are the options of diff and status: the selected clusters
// and how to reach them, the warnings about inputs without a value printed
// to stderr.
func liveOptions(s *streams, f *liveFlags) pipeline.DeployOptions {
	sel, _ := f.sel.selection() // checked by renderLive
	return pipeline.DeployOptions{
		Clusters: f.cluster.clusters, Select: sel, Kubeconfig: f.cluster.kubeconfig, Context: f.cluster.context,
		OnEvent: func(e deploy.Event) {
			if e.Type == "warning" {
				warn(s, &f.config, []string{"cluster " + e.Cluster + ": " + e.Message})
			}
		},
	}
}

type deployFlags struct {
	liveFlags
	timeout        time.Duration
	dryRun         string
	prune          bool
	forceConflicts bool
	lockWait       time.Duration
	output         string
	// via is "fleet" to hand the Plan to Fleet instead of applying it.
	via            string
	includeSecrets bool
	// unvalidated are the objects ("cluster object") a dry run could not
	// have the server check.
	unvalidated []string
}

func newDeployCmd(s *streams) *cobra.Command {
	f := &deployFlags{}
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Render the Plan and apply it, batch by batch, waiting for readiness",
		Long: `deploy renders the Plan (as wookie render does, cache included) and applies it
with server-side apply (field manager "wookie"), cluster by cluster: batches in
priority order; inside a batch, a bundle starts as soon as the bundles it
depends on are ready, up to four at once. Each bundle is waited for with
kstatus (CRDs Established, workloads rolled out, Jobs complete) and the
bundle's own readiness rules, for its timeout (5m unless the bundle or
--timeout says otherwise). After a failure no further bundle starts; the
message names batch, bundle and every object not ready, and the exit code is 1.

Fields another field manager owns are a conflict naming the object and the
manager, unless --force-conflicts. What wookie applied is recorded in each
cluster's inventory, ConfigMaps wookie-system/wookie-inventory-<cluster>-*
sharded to any size, written before each batch is applied and confirmed
after; --prune deletes what left the Plan (CRDs, Namespaces and PVCs only
when their bundle says prune: true). While it applies to a cluster, deploy
holds the Lease wookie-system/wookie-deploy-<cluster>: another deploy of that
cluster refuses at once, naming the holder, or waits up to --lock-wait.
SIGINT or SIGTERM stops deploy: nothing new is applied, what was is recorded,
and it exits 130 (SIGINT) or 143 (SIGTERM); a second SIGINT exits at once.

Clusters deploy at the same time, batch by batch: a cluster's first batch
waits for the clusters in its dependsOn, and a batch that uses an input waits
for the batch of the cluster it comes from that makes the input's object (or
for all of that cluster when none does), so two clusters may read from each
other as long as their batches do not wait in a circle, which is an error
before anything is applied. Inputs are read from the live clusters, waiting
up to each input's timeout, and put in place of ((input NAME)) before the
batch is rendered and applied. A cluster that fails stops the clusters that
wait for it; the others go on. With --cluster, inputs from a cluster not
selected are read from its live state without deploying it.

Bundles that carry secrets, which wookie render leaves out, are applied like
any other: sensitive ones, and generated ones such as Istio's cacerts Secret,
made from the intermediate CA that wookie certs keeps for the cluster. deploy
makes no certificates: when the certificate store lacks one, it fails before
anything is applied (wookie certs init, or wookie up, makes them).

--batch (by name or priority) and --bundle deploy part of each cluster: a
bundle is deployed when its batch is picked or it is named (a named chart
bundle brings its <bundle>-crds bundle); --until BATCH picks that batch and
every batch before it. A later batch is never applied. What the picked
bundles depend on (every bundle of the batches before theirs, and the
bundles of their own batch they depend on through dependsOn) must be ready
in the cluster: else deploy fails before applying anything, naming each one
that is not, unless --with-deps deploys them too. --prune with a selection
deletes only what left the bundles picked or the batches picked whole;
the inventory keeps every other entry.

--via fleet hands the Plan to Rancher Fleet instead of applying it: one
Fleet Bundle per bundle (the objects rendered as wookie render --format fleet
--fleet-bundles writes them, dependsOn keeping the batch order, targeted at
the cluster's Fleet cluster) applied with server-side apply to the
management cluster (gitops.fleet.management; the fleet project sets it) in
the cluster's workspace. Clusters other than the management cluster are
registered with Fleet first as Fleet documents (a Cluster and a kubeconfig
Secret in the workspace), unless a Cluster of that name exists that wookie
did not make. deploy then follows Fleet's verdict (Bundle and
BundleDeployment status), a line per change, until every bundle is Ready
(exit 0), or Fleet's error on a bundle has lasted 30s unchanged and every
other bundle that is not ready waits for it, or --timeout (default 10m)
passes (exit 1, a line per bundle with Fleet's message). --prune deletes the
Bundles wookie handed over before that left the Plan (Fleet then removes
their objects). The bundles labelled wookie.dev/installs: fleet (the fleet
project's) are never handed over: install Fleet first with
wookie deploy --until fleet. Objects that need deploy-time inputs are left
out, as in GitOps outputs, and so are secrets unless --include-secrets
(Fleet then keeps them in its Bundles).`,
		Example: `  wookie deploy
  wookie deploy --cluster wookie-local --timeout 10m --prune
  wookie deploy --dry-run=server
  wookie deploy --batch crds && wookie status --batch crds
  wookie deploy --until operators
  wookie deploy --bundle istiod --with-deps
  wookie deploy -o json | jq .
  wookie deploy --until fleet && wookie deploy --via fleet`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if f.via == "fleet" {
				return runDeployViaFleet(cmd, s, f)
			}
			return runDeploy(cmd, s, f)
		},
	}
	addDeployFlags(cmd, f)
	addSelectFlags(cmd, &f.sel, true)
	cmd.Flags().StringVar(&f.via, "via", "", "fleet: hand the Plan to Rancher Fleet on its management cluster and follow Fleet until every bundle is ready")
	cmd.Flags().BoolVar(&f.includeSecrets, "include-secrets", false, "with --via fleet: hand Fleet the bundles and Secrets that carry secrets too (Fleet keeps them in its Bundles)")
	return cmd
}

// addDeployFlags registers the flags of deploy (and up).
func addDeployFlags(cmd *cobra.Command, f *deployFlags) {
	addLiveFlags(cmd, &f.liveFlags)
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "how long to wait for each bundle, replacing the bundles' own (default 5m)")
	cmd.Flags().StringVar(&f.dryRun, "dry-run", "none", "server: send everything as a server-side dry run and change nothing")
	cmd.Flags().Lookup("dry-run").NoOptDefVal = "server"
	cmd.Flags().BoolVar(&f.prune, "prune", false, "delete objects wookie applied earlier that are no longer in the Plan")
	cmd.Flags().BoolVar(&f.forceConflicts, "force-conflicts", false, "take over fields other field managers own")
	cmd.Flags().DurationVar(&f.lockWait, "lock-wait", 0, "how long to wait when another deploy holds a cluster's lock (default: refuse at once)")
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "text (progress on stderr) or json (one event per line on stdout)")
}

// check reports flag values deploy does not know as usage errors.
func (f *deployFlags) check() error {
	if err := checkOutput(f.output, "text", "json"); err != nil {
		return err
	}
	if f.dryRun != "none" && f.dryRun != "server" {
		return usagef("--dry-run=%s: want server or none", f.dryRun)
	}
	if f.includeSecrets && f.via == "" {
		return usagef("--include-secrets goes with --via fleet: a deploy applies secrets anyway")
	}
	return checkVia(f.via, &f.liveFlags, map[string]bool{
		"--dry-run": f.dryRun != "none", "--force-conflicts": f.forceConflicts, "--lock-wait": f.lockWait != 0,
	})
}

func runDeploy(cmd *cobra.Command, s *streams, f *deployFlags) error {
	start := time.Now()
	p, pl, res, err := renderLive(cmd, s, &f.liveFlags)
	if err != nil {
		return err
	}
	sum, err := p.Deploy(cmd.Context(), pl, res, f.options(s))
	return f.report(s, sum, err, start)
}

// options are the deploy options the flags give; the text or JSON events
// go to stderr or stdout. The objects a dry run could not have the server
// check are collected for report.
func (f *deployFlags) options(s *streams) pipeline.DeployOptions {
	enc := json.NewEncoder(s.out)
	f.unvalidated = nil
	sel, _ := f.sel.selection() // checked by renderLive
	return pipeline.DeployOptions{
		Clusters:       f.cluster.clusters,
		Select:         sel,
		Kubeconfig:     f.cluster.kubeconfig,
		Context:        f.cluster.context,
		Timeout:        f.timeout,
		DryRun:         f.dryRun == "server",
		Prune:          f.prune,
		ForceConflicts: f.forceConflicts,
		LockWait:       f.lockWait,
		OnEvent: func(e deploy.Event) {
			for _, o := range e.Unvalidated {
				f.unvalidated = append(f.unvalidated, e.Cluster+" "+o)
			}
			if f.output == "json" {
				_ = enc.Encode(e)
				return
			}
			if !f.config.quiet {
				fmt.Fprintln(s.err, progressLine(e))
			}
		},
	}
}

// report turns the outcome of a deploy (wookie up's too) into the summary
// line on stderr, or the error with its hint.
func (f *deployFlags) report(s *streams, sum *pipeline.Summary, err error, start time.Time) error {
	var ce *pipeline.ConflictError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w\nhint: --force-conflicts takes the fields over for wookie", err)
	}
	if err != nil {
		return withDepsHint(withCertsHint(err))
	}
	if f.output == "text" && !f.config.quiet {
		verb := "deployed"
		if f.dryRun == "server" {
			verb = "dry run (server): nothing changed;"
		}
		fmt.Fprintf(s.err, "✓ %s %d bundles, %d objects: created %d, configured %d, unchanged %d, pruned %d, kept %d  %.1fs%s\n",
			verb, sum.Bundles, sum.Objects, sum.Created, sum.Configured, sum.Unchanged, sum.Pruned, sum.Kept, time.Since(start).Seconds(), unvalidatedNote(f.unvalidated))
	}
	return nil
}

// unvalidatedNote names the objects ("cluster object") a dry run could
// not have the server check, for the end of a summary line; "" for none.
func unvalidatedNote(objs []string) string {
	if len(objs) == 0 {
		return ""
	}
	slices.Sort(objs)
	return fmt.Sprintf("; %d objects not validated by the server (their namespace or CRD is created by this deploy first): %s", len(objs), strings.Join(objs, ", "))
}

// progressLine is the text form of a deploy event.
func progressLine(e deploy.Event) string {
	where := e.Cluster + " " + e.Batch + "/" + e.Bundle
	if e.Bundle == "" {
		where = e.Cluster
	}
	switch e.Type {
	case "start":
		return fmt.Sprintf("… %s  %d objects", where, e.Objects)
	case "done":
		var parts []string
		for _, p := range []struct {
			n    int
			verb string
		}{{e.Created, "created"}, {e.Configured, "configured"}, {e.Unchanged, "unchanged"}} {
			if p.n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", p.verb, p.n))
			}
		}
		if e.DryRun {
			line := fmt.Sprintf("✓ %s  %d objects  %s  (dry run)", where, e.Objects, strings.Join(parts, " "))
			if n := len(e.Unvalidated); n > 0 {
				line += fmt.Sprintf("  %d not validated by the server", n)
			}
			return line
		}
		return fmt.Sprintf("✓ %s  %d objects  %s  ready in %.1fs", where, e.Objects, strings.Join(parts, " "), e.Seconds)
	case "failed":
		if e.Bundle == "" {
			return fmt.Sprintf("✗ %s  failed after %.1fs", where, e.Seconds)
		}
		// A not-ready report has a line per cause: each names the bundle.
		lines := strings.Split(e.Message, "\n")
		for i, l := range lines {
			lines[i] = fmt.Sprintf("✗ %s  %s", where, l)
		}
		return strings.Join(lines, "\n")
	case "hook":
		return fmt.Sprintf("✓ %s  %s  in %.1fs", where, e.Message, e.Seconds)
	case "input":
		return fmt.Sprintf("✓ %s input %s  %s %s  in %.1fs", e.Cluster, e.Input, e.Message, e.Object, e.Seconds)
	case "input-wait":
		return fmt.Sprintf("… %s input %s  %s: %s", e.Cluster, e.Input, e.Object, e.Message)
	case "note":
		return fmt.Sprintf("• %s  %s", e.Cluster, e.Message)
	case "warning":
		return fmt.Sprintf("warning: cluster %s: %s", e.Cluster, e.Message)
	case "skipped":
		return fmt.Sprintf("- %s  skipped: %s", where, e.Message)
	case "namespace":
		if e.DryRun {
			return fmt.Sprintf("+ %s  would create %s (missing release namespace)", where, e.Object)
		}
		return fmt.Sprintf("+ %s  created %s (missing release namespace)", where, e.Object)
	case "pruned":
		line := fmt.Sprintf("- %s %s  deleted (no longer in the Plan)", e.Cluster, e.Object)
		if e.DryRun {
			line = fmt.Sprintf("- %s %s  would be deleted (no longer in the Plan)", e.Cluster, e.Object)
		}
		if e.Message != "" {
			line += ": " + e.Message
		}
		return line
	case "kept":
		return fmt.Sprintf("= %s %s  kept: %s", e.Cluster, e.Object, e.Message)
	case "cluster":
		return fmt.Sprintf("✓ %s  done in %.1fs", e.Cluster, e.Seconds)
	case "registered":
		return fmt.Sprintf("+ %s  %s with Fleet as %s", e.Cluster, e.Message, e.Object)
	case "fleet-applied":
		return fmt.Sprintf("→ %s  handed to Fleet as %s (%s)", where, e.Object, e.Message)
	case "fleet-waiting":
		return fmt.Sprintf("… %s  Fleet: %s", where, e.Message)
	case "fleet-ready":
		return fmt.Sprintf("✓ %s  Fleet: Ready (%s clusters) after %.1fs", where, e.Message, e.Seconds)
	}
	return fmt.Sprintf("%s %s %s", e.Type, where, e.Message)
}
