package cli

import (
	"slices"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/internal/cluster"
	"wookie.dev/wookie/internal/plan"
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
rendering fails, no cluster is created.

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
			p, err := loadPlan(s, &f.config)
			if err != nil {
				return err
			}
			sel, err := selectClusters(p, f.cluster.clusters)
			if err != nil {
				return err
			}
			if err := makeMissingCerts(s, &f.config, sel); err != nil {
				return err
			}
			p, res, err := renderLiveLoaded(cmd, s, &f.liveFlags, p)
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

// makeMissingCerts makes the root CA and the intermediate CAs that the
// istioCACerts bundles of clusters need and the certificate store lacks,
// replacing nothing.
func makeMissingCerts(s *streams, cf *configFlags, clusters []plan.Cluster) error {
	var names []string
	for _, c := range clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				if u.Generate != nil && u.Generate.IstioCACerts != nil {
					names = append(names, u.Generate.IstioCACerts.Cluster)
				}
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	store, err := certStore(cf)
	if err != nil {
		return err
	}
	return initCerts(s, cf, store, slices.Compact(names), certsInitHow{keyAlgorithm: cert.RSA, forUp: true})
}
