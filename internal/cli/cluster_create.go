package cli

import (
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cluster"
	"wookie.dev/wookie/pkg/pipeline"
)

type clusterCreateFlags struct {
	clusterCmdFlags
	timeout time.Duration
}

func newClusterCreateCmd(s *streams) *cobra.Command {
	f := &clusterCreateFlags{}
	cmd := &cobra.Command{
		Use:   "create [NAME...]",
		Short: "Create the Plan's k3d clusters that do not exist, and wait until they are ready",
		Long: `create makes every k3d cluster of the Plan (or those named, as arguments or with
--cluster) that k3d does not have: it writes the cluster's k3d config file into
the state directory and runs k3d cluster create --config FILE, which adds the
context k3d-<name> to the kubeconfig (--kubeconfig, the cluster's own, else the
first file of $KUBECONFIG or ~/.kube/config) without making it current. Then it
waits, for at most --timeout, until the API server is ready and every node is
Ready. A cluster k3d has is left alone once it is healthy; a stopped one is
started. k3d and docker must be installed and the Docker daemon running.`,
		Example: `  wookie cluster create
  wookie cluster create -f examples/multi-k3d east
  wookie cluster create --timeout 5m`,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, pl, err := load(s, &f.config, nil, nil)
			if err != nil {
				return err
			}
			sel, err := pipeline.SelectK3d(pl, append(args, f.clusters...), "creates")
			if err != nil {
				return err
			}
			m, err := newManager(s, p, &f.config, f.kubeconfig)
			if err != nil {
				return err
			}
			m.Timeout = f.timeout
			_, err = m.Create(cmd.Context(), sel)
			return withClusterHint(err)
		},
	}
	addClusterCmdFlags(cmd, &f.clusterCmdFlags)
	cmd.Flags().DurationVar(&f.timeout, "timeout", cluster.DefaultTimeout, "how long to wait for each cluster's API server and nodes")
	return cmd
}
