package cli

import (
	"github.com/spf13/cobra"
	"wookie.dev/wookie/pkg/pipeline"
)

func newClusterDeleteCmd(s *streams) *cobra.Command {
	f := &clusterCmdFlags{}
	cmd := &cobra.Command{
		Use:   "delete [NAME...]",
		Short: "Delete the Plan's k3d clusters, without asking",
		Long: `delete runs k3d cluster delete for every k3d cluster of the Plan (or those named,
as arguments or with --cluster) that k3d has, which also removes its context
from the kubeconfig, and removes its k3d config file from the state directory.
It does not ask first: wookie down does. Clusters reached through a kubeconfig
context are never deleted.`,
		Example: `  wookie cluster delete
  wookie cluster delete -f examples/multi-k3d west`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, pl, err := load(s, &f.config, nil, nil)
			if err != nil {
				return err
			}
			sel, err := pipeline.SelectK3d(pl, append(args, f.clusters...), "deletes")
			if err != nil {
				return err
			}
			m, err := newManager(s, p, &f.config, f.kubeconfig)
			if err != nil {
				return err
			}
			_, err = m.Delete(cmd.Context(), sel)
			return withClusterHint(err)
		},
	}
	addClusterCmdFlags(cmd, f)
	return cmd
}
