package cli

import (
	"github.com/spf13/cobra"
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
			p, err := loadPlan(s, &f.config)
			if err != nil {
				return err
			}
			sel, err := selectK3d(p, append(args, f.clusters...), "deletes")
			if err != nil {
				return err
			}
			m, err := newManager(s, &f.config, f.kubeconfig)
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
