package cli

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cluster"
	"wookie.dev/wookie/pkg/pipeline"
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
to every selected cluster, as wookie deploy does, with deploy's flags. It
renders every cluster before it creates any, offline: the charts fetched and
every bundle rendered, those of clusters that read inputs with the ((input
NAME)) references in place, as deploy first renders them. When rendering
fails, no cluster is created.

Before rendering, up makes the certificates the selected clusters' Istio
cacerts bundles need and the certificate store lacks, as wookie certs init
does for just those clusters: the root CA when there is none, and the
missing intermediate CAs. It never replaces existing ones.`,
		Example: `  wookie up
  wookie up -f examples/multi-k3d
  wookie up --cluster east --cluster-timeout 5m`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			start := time.Now()
			p, pl, err := load(s, &f.config, &f.lock, &f.fetch)
			if err != nil {
				return err
			}
			o := pipeline.UpOptions{DeployOptions: f.options(s), ClusterTimeout: f.clusterTimeout}
			if !f.config.quiet {
				o.OnCert = func(a pipeline.CertAction) { sayCert(s, &f.config, a, true) }
				o.OnCluster = func(e cluster.Event) { fmt.Fprintln(s.err, clusterLine(e)) }
				o.ClusterProgress = s.err
			}
			sum, err := p.Up(cmd.Context(), pl, o)
			var ue *pipeline.UpError
			if errors.As(err, &ue) {
				switch ue.Stage {
				case pipeline.StageRender:
					return renderHints(err)
				case pipeline.StageRenderInputs:
					return renderHints(fmt.Errorf("%w\nhint: up renders every cluster before it creates any; one that reads inputs with its ((input NAME)) references in place", err))
				case pipeline.StageClusters:
					return withClusterHint(err)
				}
			}
			return f.report(s, sum, err, start)
		},
	}
	addDeployFlags(cmd, &f.deployFlags)
	cmd.Flags().DurationVar(&f.clusterTimeout, "cluster-timeout", cluster.DefaultTimeout, "how long to wait for each k3d cluster's API server and nodes")
	return cmd
}
