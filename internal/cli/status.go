package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/deploy"
)

type statusFlags struct {
	liveFlags
	output string
}

func newStatusCmd(s *streams) *cobra.Command {
	f := &statusFlags{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show per bundle whether its objects exist and are ready in the live cluster",
		Long: `status renders the Plan and reads every object from its cluster: per bundle how
many objects exist and how many are ready (kstatus plus the bundle's
readiness rules), and which are not. It exits 0 when every bundle is Ready
and 1 otherwise. A cluster's inputs are read once from the live clusters they
come from; an input without a value is a warning, and its ((input NAME))
reference stays in place.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, "table", "json"); err != nil {
				return err
			}
			p, res, err := renderLive(cmd, s, &f.liveFlags)
			if err != nil {
				return err
			}
			opts, err := readOptions(s, &f.liveFlags)
			if err != nil {
				return err
			}
			sts, err := deploy.Status(cmd.Context(), p, res, opts)
			if err != nil {
				return err
			}
			var buf bytes.Buffer
			allReady := true
			for _, st := range sts {
				allReady = allReady && st.State == "Ready"
			}
			if f.output == "json" {
				enc := json.NewEncoder(&buf)
				enc.SetIndent("", "  ")
				if sts == nil {
					sts = []deploy.BundleStatus{}
				}
				if err := enc.Encode(sts); err != nil {
					return err
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
					return err
				}
			}
			if _, err := s.out.Write(buf.Bytes()); err != nil {
				return err
			}
			if !allReady {
				return &silentExit{code: 1}
			}
			return nil
		},
	}
	addLiveFlags(cmd, &f.liveFlags)
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "table or json")
	return cmd
}
