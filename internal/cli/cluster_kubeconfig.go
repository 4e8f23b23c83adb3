package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cluster"
	"wookie.dev/wookie/pkg/pipeline"
)

func newClusterKubeconfigCmd(s *streams) *cobra.Command {
	f := &clusterCmdFlags{}
	cmd := &cobra.Command{
		Use:   "kubeconfig NAME",
		Short: "Print how to reach a cluster: k3d's kubeconfig, or the kubeconfig file and context",
		Long: `kubeconfig prints, for a k3d cluster, the kubeconfig k3d gives for it (k3d
kubeconfig get: it holds the admin credentials); for a cluster reached through
an existing context, the kubeconfig file and the context.`,
		Example: `  wookie cluster kubeconfig wookie-local > /tmp/kubeconfig
  KUBECONFIG=/tmp/kubeconfig kubectl get nodes`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, pl, err := load(s, &f.config, nil, nil)
			if err != nil {
				return err
			}
			sel, err := pipeline.SelectClusters(pl, args)
			if err != nil {
				return err
			}
			c := &sel[0]
			if c.K3d == nil {
				_, err := fmt.Fprintf(s.out, "kubeconfig: %s\ncontext: %s\n", cluster.KubeconfigPath(c, f.kubeconfig), c.Context)
				return err
			}
			m, err := newManager(s, p, &f.config, f.kubeconfig)
			if err != nil {
				return err
			}
			out, err := m.KubeconfigOf(cmd.Context(), c)
			if err != nil {
				return withClusterHint(err)
			}
			_, err = s.out.Write(out)
			return err
		},
	}
	addConfigFlags(cmd, &f.config, true)
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file of a cluster reached through a context (default: the cluster's own, else $KUBECONFIG or ~/.kube/config)")
	return cmd
}
