package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/deploy"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/planview"
	"wookie.dev/wookie/pkg/pipeline"
)

type statusFlags struct {
	liveFlags
	output string
	via    string
}

func newStatusCmd(s *streams) *cobra.Command {
	f := &statusFlags{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show per bundle whether its objects exist and are ready in the live cluster",
		Long: `status renders the Plan and reads every object from its cluster: per bundle how
many objects exist and how many are ready (kstatus plus the bundle's
readiness rules, as deploy judges them), and which are not. An object that
cannot be read (its kind is not served, reading it is forbidden, the cluster
does not answer) counts as neither: its bundle is Unreadable and the reason
goes to stderr, a line per object naming cluster, batch and bundle. Objects
that exist and are not ready are described on stderr as deploy describes
them: status, message, conditions, and a line per cause (the messages of
unmet conditions, Warning events of the object and of its pods, such as
FailedCreate and FailedScheduling); -q leaves that out. It exits
0 when every bundle is Ready, 1 when some bundle is NotReady or Missing, and
2 when some object could not be read or on any other error. A cluster's
inputs are read once from the live clusters they come from; an input without
a value is a warning, and its ((input NAME)) reference stays in place.

With --via fleet, status reads Fleet's verdict instead, from the management
cluster: per bundle the Fleet Bundle wookie deploy --via fleet made, its
state (Ready, NotReady, WaitApplied, ErrApplied, Modified, OutOfSync,
Pending; Absent when there is none, NoCluster when it targets no registered
cluster, Stale before Fleet has seen its current version), the ready
clusters and Fleet's message, and the Bundles wookie made that left the
Plan as Extra. It exits 0 when every bundle is Ready, 1 when one is not.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, "table", "json", "html"); err != nil {
				return err
			}
			if f.via != "" {
				if f.output == "html" {
					return usagef("--via fleet: -o html is not supported; use table or json")
				}
				if err := checkVia(f.via, &f.liveFlags, nil); err != nil {
					return err
				}
				return runStatusViaFleet(cmd, s, f)
			}
			sts, pl, res, err := runStatus(cmd, s, f)
			if err != nil {
				return &codedError{code: 2, err: err}
			}
			var buf bytes.Buffer
			allReady := true
			for _, st := range sts {
				allReady = allReady && st.State == "Ready"
			}
			if f.output == "html" {
				page, err := statusPage(pl, res, sts)
				if err != nil {
					return &codedError{code: 2, err: err}
				}
				buf.Write(page)
			} else if f.output == "json" {
				enc := json.NewEncoder(&buf)
				enc.SetIndent("", "  ")
				if sts == nil {
					sts = []deploy.BundleStatus{}
				}
				if err := enc.Encode(sts); err != nil {
					return &codedError{code: 2, err: err}
				}
			} else {
				tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "CLUSTER\tBATCH\tBUNDLE\tOBJECTS\tPRESENT\tREADY\tSTATE\tNOT READY")
				for _, st := range sts {
					nr := "-"
					if len(st.NotReady) > 0 {
						nr = st.NotReady[0].Object + " " + st.NotReady[0].Status
						if len(st.NotReady) > 1 {
							nr += fmt.Sprintf(" (+%d more)", len(st.NotReady)-1)
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", st.Cluster, st.Batch, st.Bundle, st.Objects, st.Present, st.Ready, st.State, nr)
				}
				if err := tw.Flush(); err != nil {
					return &codedError{code: 2, err: err}
				}
			}
			if _, err := s.out.Write(buf.Bytes()); err != nil {
				return &codedError{code: 2, err: err}
			}
			if f.output == "table" && !f.config.quiet {
				for _, l := range notReadyLines(sts) {
					fmt.Fprintln(s.err, l)
				}
			}
			if err := unreadable(sts); err != nil {
				return &codedError{code: 2, err: err}
			}
			if !allReady {
				return &silentExit{code: 1}
			}
			return nil
		},
	}
	addLiveFlags(cmd, &f.liveFlags)
	addSelectFlags(cmd, &f.sel, false)
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "table, json or html (the Plan's graph, its nodes coloured by state)")
	cmd.Flags().StringVar(&f.via, "via", "", "fleet: show Fleet's verdict per bundle (Bundle and BundleDeployment status) instead of reading the objects")
	return cmd
}

// runStatus renders the Plan as deploy does and reads the state of its
// objects; it returns the Plan and its render too.
func runStatus(cmd *cobra.Command, s *streams, f *statusFlags) ([]deploy.BundleStatus, *plan.Plan, *pipeline.Result, error) {
	p, pl, res, err := renderLive(cmd, s, &f.liveFlags)
	if err != nil {
		return nil, nil, nil, err
	}
	sts, err := p.Status(cmd.Context(), pl, res, liveOptions(s, &f.liveFlags))
	return sts, pl, res, err
}

// statusPage is the Plan's HTML page with its nodes coloured by sts.
func statusPage(pl *plan.Plan, res *pipeline.Result, sts []deploy.BundleStatus) ([]byte, error) {
	g, err := planview.Build(pl, res)
	if err != nil {
		return nil, err
	}
	states := map[string]planview.State{}
	for _, st := range sts {
		ps := planview.State{State: st.State, Objects: st.Objects, Present: st.Present, Ready: st.Ready}
		for _, o := range st.NotReady {
			line := o.Object + ": " + o.Status
			if o.Message != "" {
				line += ": " + o.Message
			}
			ps.NotReady = append(ps.NotReady, line)
		}
		states[st.Cluster+"/"+st.Bundle] = ps
	}
	return planview.HTML(g, planview.Options{Title: "wookie status", Status: states})
}

// unreadable is an error with a line per object that could not be read,
// naming its cluster, batch and bundle; nil when every object was read.
func unreadable(sts []deploy.BundleStatus) error {
	var lines []string
	for _, st := range sts {
		for _, o := range st.NotReady {
			if o.Status == "Unreadable" {
				lines = append(lines, fmt.Sprintf("cluster %s: batch %s: bundle %s: cannot read %s: %s", st.Cluster, st.Batch, st.Bundle, o.Object, o.Message))
			}
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return errors.New(strings.Join(lines, "\n"))
}

// notReadyLines describe the objects of sts that exist and are not
// ready, as deploy's progress lines do: the object's status, message and
// conditions, then a line per cause.
func notReadyLines(sts []deploy.BundleStatus) []string {
	var out []string
	for _, st := range sts {
		where := st.Cluster + " " + st.Batch + "/" + st.Bundle
		for _, o := range st.NotReady {
			if o.Status == "Missing" || o.Status == "Unreadable" {
				continue
			}
			for _, l := range o.Describe() {
				out = append(out, fmt.Sprintf("✗ %s  %s", where, l))
			}
		}
	}
	return out
}
