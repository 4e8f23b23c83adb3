package cli

import (
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/internal/cluster"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
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
			if err := renderWithInputRefs(cmd, &f.liveFlags, p); err != nil {
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

// renderWithInputRefs renders the selected clusters of p, as pinned, that
// read inputs, which renderLiveLoaded leaves to deploy, with the input
// references in place, as deploy first renders them (to know which batch
// waits for which input): up checks that the Plan renders before it
// creates a cluster. The rendering is dropped, its warnings too (deploy
// says them).
func renderWithInputRefs(cmd *cobra.Command, f *liveFlags, p *plan.Plan) error {
	with := &plan.Plan{APIVersion: p.APIVersion, Kind: p.Kind, GitOps: p.GitOps}
	for _, c := range p.Clusters {
		if len(c.Inputs) > 0 && (len(f.cluster.clusters) == 0 || slices.Contains(f.cluster.clusters, c.Name)) {
			with.Clusters = append(with.Clusters, c)
		}
	}
	if len(with.Clusters) == 0 {
		return nil
	}
	opts, err := renderOptions(&f.config, &f.lock, &f.fetch, liveRender)
	if err != nil {
		return err
	}
	if _, err := render.Render(cmd.Context(), with, opts); err != nil {
		return withSchemaHint(withCertsHint(withNetworkHint(fmt.Errorf("%w\nhint: up renders every cluster before it creates any; one that reads inputs with its ((input NAME)) references in place", err))))
	}
	return nil
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
