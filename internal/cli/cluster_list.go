package cli

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cluster"
	"wookie.dev/wookie/pkg/pipeline"
)

type clusterListFlags struct {
	clusterCmdFlags
	output string
}

func newClusterListCmd(s *streams) *cobra.Command {
	f := &clusterListFlags{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the Plan's clusters: whether k3d has each and whether its API server answers",
		Long: `list prints every cluster of the Plan (or those --cluster names) with its
target and context; for a k3d cluster whether k3d has it and how many of its
servers and agents run; and whether its API server answers (with its version,
or why not).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(f.output, "table", "json"); err != nil {
				return err
			}
			p, pl, err := load(s, &f.config, nil, nil)
			if err != nil {
				return err
			}
			sel, err := pipeline.SelectClusters(pl, f.clusters)
			if err != nil {
				return err
			}
			m, err := newManager(s, p, &f.config, f.kubeconfig)
			if err != nil {
				return err
			}
			sts, err := m.List(cmd.Context(), sel)
			if err != nil {
				return withClusterHint(err)
			}
			var buf bytes.Buffer
			if f.output == "json" {
				if sts == nil {
					sts = []cluster.Status{}
				}
				enc := json.NewEncoder(&buf)
				enc.SetIndent("", "  ")
				if err := enc.Encode(sts); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "CLUSTER\tTARGET\tCONTEXT\tEXISTS\tSERVERS\tAGENTS\tREACHABLE\tVERSION OR PROBLEM")
				for _, st := range sts {
					exists, detail := "-", st.Version
					if st.Exists != nil {
						exists = yesNo(*st.Exists)
					}
					if !st.Reachable {
						detail = st.Problem
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Cluster, st.Target, st.Context, exists,
						cmp.Or(st.Servers, "-"), cmp.Or(st.Agents, "-"), yesNo(st.Reachable), detail)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			_, err = s.out.Write(buf.Bytes())
			return err
		},
	}
	addClusterCmdFlags(cmd, &f.clusterCmdFlags)
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "table or json")
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
