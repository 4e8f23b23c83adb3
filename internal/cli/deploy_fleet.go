package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/pkg/pipeline"
)

// checkVia reports flags that --via fleet does not take as usage errors.
func checkVia(via string, f *liveFlags, others map[string]bool) error {
	switch via {
	case "":
		return nil
	case "fleet":
	default:
		return usagef("--via %s: want fleet", via)
	}
	if len(f.sel.batches)+len(f.sel.bundles) > 0 || f.sel.until != "" || f.sel.withDeps {
		return usagef("--via fleet hands every bundle to Fleet, which keeps the batch order itself: --batch, --bundle, --until and --with-deps do not apply")
	}
	for flag, set := range others {
		if set {
			return usagef("--via fleet: %s does not apply (Fleet applies the objects)", flag)
		}
	}
	return nil
}

// fleetOptions are the options of --via fleet.
func fleetOptions(f *liveFlags, timeout time.Duration, prune, includeSecrets bool, onEvent func(deploy.Event)) pipeline.FleetOptions {
	return pipeline.FleetOptions{
		Clusters: f.cluster.clusters, Kubeconfig: f.cluster.kubeconfig, Context: f.cluster.context,
		Timeout: timeout, Prune: prune, IncludeSecrets: includeSecrets, OnEvent: onEvent,
	}
}

// fleetBundles loads the Plan and builds its Fleet Bundles, printing
// what rendering left out as notes.
func fleetBundles(cmd *cobra.Command, s *streams, f *liveFlags, o pipeline.FleetOptions) (*pipeline.Pipeline, *pipeline.Plan, []pipeline.FleetBundle, error) {
	p, pl, err := load(s, &f.config, &f.lock, &f.fetch)
	if err != nil {
		return nil, nil, nil, err
	}
	bundles, res, err := p.FleetBundles(cmd.Context(), pl, o)
	if err != nil {
		return nil, nil, nil, renderHints(err)
	}
	note(s, &f.config, pipeline.OmittedNotes(res))
	return p, pl, bundles, nil
}

// runDeployViaFleet is deploy --via fleet.
func runDeployViaFleet(cmd *cobra.Command, s *streams, f *deployFlags) error {
	start := time.Now()
	enc := json.NewEncoder(s.out)
	o := fleetOptions(&f.liveFlags, f.timeout, f.prune, f.includeSecrets, func(e deploy.Event) {
		if f.output == "json" {
			_ = enc.Encode(e)
			return
		}
		if !f.config.quiet {
			fmt.Fprintln(s.err, progressLine(e))
		}
	})
	p, pl, bundles, err := fleetBundles(cmd, s, &f.liveFlags, o)
	if err != nil {
		return err
	}
	res, err := p.DeployViaFleet(cmd.Context(), pl, bundles, o)
	if err != nil {
		return withFleetHint(err)
	}
	if f.output == "text" && !f.config.quiet {
		fmt.Fprintf(s.err, "✓ Fleet made %d bundles ready; Bundles created %d, configured %d, unchanged %d; clusters registered %d; pruned %d  %.1fs\n",
			len(res.States), res.Created, res.Configured, res.Unchanged, res.Registered, res.Pruned, time.Since(start).Seconds())
	}
	return nil
}

// withFleetHint adds the way to install Fleet to a
// FleetNotInstalledError.
func withFleetHint(err error) error {
	var ni *pipeline.FleetNotInstalledError
	if errors.As(err, &ni) {
		return fmt.Errorf("%w\nhint: enable the fleet project (projects: fleet: enable: true) and install Fleet with wookie deploy --until fleet", err)
	}
	return err
}

// runStatusViaFleet is status --via fleet: a table (or JSON) of Fleet's
// verdict per bundle; exit 1 when some bundle of the Plan is not Ready.
func runStatusViaFleet(cmd *cobra.Command, s *streams, f *statusFlags) error {
	o := fleetOptions(&f.liveFlags, 0, false, false, nil)
	p, pl, bundles, err := fleetBundles(cmd, s, &f.liveFlags, o)
	if err != nil {
		return &codedError{code: 2, err: err}
	}
	states, err := p.StatusViaFleet(cmd.Context(), pl, bundles, o)
	if err != nil {
		return &codedError{code: 2, err: withFleetHint(err)}
	}
	var buf bytes.Buffer
	if f.output == "json" {
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if states == nil {
			states = []pipeline.FleetState{}
		}
		if err := enc.Encode(states); err != nil {
			return &codedError{code: 2, err: err}
		}
	} else {
		tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CLUSTER\tBATCH\tBUNDLE\tFLEET BUNDLE\tSTATE\tCLUSTERS\tMESSAGE")
		for _, st := range states {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s/%s\t%s\t%s\t%s\n", st.Cluster, st.Batch, st.Bundle, st.Workspace, st.Name, st.State, dash(st.Clusters), dash(st.Message))
		}
		if err := tw.Flush(); err != nil {
			return &codedError{code: 2, err: err}
		}
	}
	if _, err := s.out.Write(buf.Bytes()); err != nil {
		return &codedError{code: 2, err: err}
	}
	for _, st := range states {
		if !st.Ready && st.State != "Extra" {
			return &silentExit{code: 1}
		}
	}
	return nil
}

// dash is s, or "-" when s is empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
