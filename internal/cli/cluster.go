package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cluster"
	"wookie.dev/wookie/pkg/pipeline"
)

func newClusterCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Create, delete and inspect the Plan's clusters (k3d clusters and kubeconfig contexts)",
		Long: `cluster works on the clusters of the Plan: the k3d clusters local-k3d and
multi-k3d contribute, which wookie creates and deletes, and clusters reached
through an existing kubeconfig context, which it only reaches. k3d config files
go to $XDG_STATE_HOME/wookie/<configuration>/k3d (else ~/.local/state/wookie/...),
where <configuration> is the name of the directory holding the configuration.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(newClusterCreateCmd(s), newClusterDeleteCmd(s), newClusterListCmd(s), newClusterKubeconfigCmd(s))
	return cmd
}

// clusterCmdFlags are the flags of the cluster commands.
type clusterCmdFlags struct {
	config     configFlags
	clusters   []string
	kubeconfig string
}

func addClusterCmdFlags(cmd *cobra.Command, f *clusterCmdFlags) {
	addConfigFlags(cmd, &f.config, true)
	cmd.Flags().StringArrayVar(&f.clusters, "cluster", nil, "cluster of the Plan to work on; repeatable; default all")
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file for every cluster (default: the cluster's own, else $KUBECONFIG or ~/.kube/config)")
}

// newManager returns the cluster manager of p, printing its progress to
// stderr unless quiet.
func newManager(s *streams, p *pipeline.Pipeline, cf *configFlags, kubeconfig string) (*cluster.Manager, error) {
	m, err := p.ClusterManager(kubeconfig)
	if err != nil {
		return nil, err
	}
	if !cf.quiet {
		m.Progress = s.err
		m.OnEvent = func(e cluster.Event) { fmt.Fprintln(s.err, clusterLine(e)) }
	}
	return m, nil
}

// clusterLine is the text form of a cluster event.
func clusterLine(e cluster.Event) string {
	switch e.Type {
	case "creating":
		return fmt.Sprintf("… %s  creating with k3d (%s)", e.Cluster, e.Message)
	case "starting":
		return fmt.Sprintf("… %s  starting (k3d cluster start)", e.Cluster)
	case "deleting":
		return fmt.Sprintf("… %s  deleting", e.Cluster)
	case "created", "started":
		return fmt.Sprintf("✓ %s  %s, %s  %.1fs", e.Cluster, e.Type, e.Message, e.Seconds)
	case "exists":
		return fmt.Sprintf("✓ %s  exists and is healthy, left alone: %s  %.1fs", e.Cluster, e.Message, e.Seconds)
	case "deleted":
		return fmt.Sprintf("✓ %s  deleted  %.1fs", e.Cluster, e.Seconds)
	case "absent":
		return fmt.Sprintf("- %s  nothing to delete: %s", e.Cluster, e.Message)
	}
	return fmt.Sprintf("%s %s %s", e.Type, e.Cluster, e.Message)
}

// withClusterHint adds a hint for the user to errors of package cluster.
func withClusterHint(err error) error {
	var mt *cluster.MissingToolError
	var de *cluster.DaemonError
	var nr *cluster.NotReadyError
	switch {
	case errors.As(err, &mt) && mt.Tool == "k3d":
		return fmt.Errorf("%w\nhint: install k3d (https://k3d.io/#installation; it is one static binary)", err)
	case errors.As(err, &mt) && mt.Tool == "docker":
		return fmt.Errorf("%w\nhint: install Docker (https://docs.docker.com/get-docker/): k3d runs the nodes as Docker containers", err)
	case errors.As(err, &de):
		return fmt.Errorf("%w\nhint: start Docker (Docker Desktop, or sudo systemctl start docker) and check that docker info works for your user", err)
	case errors.As(err, &nr):
		return fmt.Errorf("%w\nhint: give it longer with --timeout, or look at the nodes: docker ps -a --filter name=k3d-", err)
	}
	return err
}
