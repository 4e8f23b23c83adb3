package cli

import (
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cluster"
)

type upFlags struct {
	deployFlags
	clusterTimeout time.Duration
}

func newUpCmd(s *streams) *cobra.Command {
	f := &upFlags{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Create the Plan's missing k3d clusters, then deploy to every cluster",
		Long: `up renders the Plan, creates every k3d cluster of it (or of those --cluster
names) that k3d does not have, as wookie cluster create does, and then deploys
to every selected cluster, as wookie deploy does, with deploy's flags. When
rendering fails, no cluster is created.`,
		Example: `  wookie up
  wookie up -f examples/multi-k3d
  wookie up --cluster east --cluster-timeout 5m`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			start := time.Now()
			p, res, err := renderLive(cmd, s, &f.liveFlags)
			if err != nil {
				return err
			}
			sel, err := selectClusters(p, f.cluster.clusters)
			if err != nil {
				return err
			}
			if k3d := k3dClusters(sel); len(k3d) > 0 {
				m, err := newManager(s, &f.config, f.cluster.kubeconfig)
				if err != nil {
					return err
				}
				m.Timeout = f.clusterTimeout
				if _, err := m.Create(cmd.Context(), k3d); err != nil {
					return withClusterHint(err)
				}
			}
			return deployRendered(cmd, s, &f.deployFlags, p, res, start)
		},
	}
	addDeployFlags(cmd, &f.deployFlags)
	cmd.Flags().DurationVar(&f.clusterTimeout, "cluster-timeout", cluster.DefaultTimeout, "how long to wait for each k3d cluster's API server and nodes")
	return cmd
}
