package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/chart"
	"wookie.dev/wookie/internal/emit"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

type renderFlags struct {
	config  configFlags
	lock    lockFlags
	fetch   fetchFlags
	output  string
	noCache bool
}

func newRenderCmd(s *streams) *cobra.Command {
	f := &renderFlags{}
	cmd := &cobra.Command{
		Use:   "render",
		Short: "Render the Plan into Kubernetes manifests, one file per bundle",
		Long: `render evaluates the configuration (or reads --from), fetches every chart as
pinned in wookie.lock (verifying its digest), renders the charts client-side
with the Helm v4 SDK, and writes

  DIR/<cluster>/<batch>/<bundle>.yaml   the bundle's objects in apply order
  DIR/<cluster>/plan.yaml               the Plan that made them, with digests

DIR (default result) is replaced whole and atomically: on any error the
previous tree stays as it was. -o - writes one YAML stream in deploy order.

Namespaced objects without a namespace get the bundle's; every object gets
the labels wookie.dev/cluster and wookie.dev/bundle. A chart's crds/ CRDs go
to a bundle <bundle>-crds in the crds batch (crds: inline or skip to change
that), because Helm never upgrades crds/ and GitOps engines fail when a
custom resource and its CRD are applied together. Helm hooks become ordinary
objects: pre-install/pre-upgrade before the bundle's others, post-* after,
by weight; test, delete and rollback hooks are dropped.`,
		Example: `  wookie render
  wookie render -f wookie.cue -o out/
  wookie render --offline --locked -o - | kubectl apply --server-side -f -`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRender(cmd, s, f)
		},
	}
	addConfigFlags(cmd, &f.config, true)
	addLockFlags(cmd, &f.lock)
	addFetchFlags(cmd, &f.fetch)
	cmd.Flags().StringVarP(&f.output, "output", "o", "result", "output directory, or - for one YAML stream on stdout")
	cmd.Flags().BoolVar(&f.noCache, "no-cache", false, "render every chart even when an identical render is cached")
	return cmd
}

func runRender(cmd *cobra.Command, s *streams, f *renderFlags) error {
	start := time.Now()
	p, res, err := renderPlan(cmd, s, &f.config, &f.lock, &f.fetch, f.noCache)
	if err != nil {
		return err
	}
	if f.output == "-" {
		return emit.Stream(s.out, res)
	}
	if err := emit.Manifests(f.output, p, res); err != nil {
		return fmt.Errorf("write %s: %w", f.output, err)
	}
	if !f.config.quiet {
		objects, bundles := 0, 0
		for _, c := range res.Clusters {
			for _, b := range c.Batches {
				for _, u := range b.Bundles {
					bundles++
					objects += len(u.Objects)
				}
			}
		}
		fmt.Fprintf(s.err, "✓ %s: %d objects in %d bundles, %d clusters  %.2fs\n", f.output, objects, bundles, len(res.Clusters), time.Since(start).Seconds())
	}
	return nil
}

// renderPlan evaluates (or reads) the Plan, pins it from the lock file and
// renders it, printing the warnings of every step.
func renderPlan(cmd *cobra.Command, s *streams, cf *configFlags, lf *lockFlags, ff *fetchFlags, noCache bool) (*plan.Plan, *render.Result, error) {
	p, err := loadPlan(s, cf)
	if err != nil {
		return nil, nil, err
	}
	if err := pinPlan(s, cf, lf, p); err != nil {
		return nil, nil, err
	}
	lock, err := readLock(lf.lockFile)
	if err != nil {
		return nil, nil, err
	}
	client, err := newChartClient(ff)
	if err != nil {
		return nil, nil, err
	}
	opts := render.Options{
		Charts:  &chart.PlanSource{Client: client, Lock: lock},
		Version: cacheVersion(),
	}
	if !noCache {
		opts.Cache = &render.Cache{Dir: client.Cache.Dir}
	}
	res, err := render.Render(cmd.Context(), p, opts)
	if err != nil {
		return nil, nil, withNetworkHint(err)
	}
	warn(s, cf, res.Warnings)
	return p, res, nil
}

// withNetworkHint adds a hint to errors from an unreachable repository.
func withNetworkHint(err error) error {
	if isNetworkError(err) {
		return fmt.Errorf("%w\nhint: a chart repository or registry cannot be reached; with the charts in the cache ('wookie charts pull' while online) run with --offline", err)
	}
	return err
}

// isNetworkError reports whether err comes from a failed connection, name
// lookup or timeout.
func isNetworkError(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	var ue *url.Error
	return errors.As(err, &oe) || errors.As(err, &de) || errors.As(err, &ue) && ue.Timeout()
}

// cacheVersion is wookie's version as the render cache knows it; a
// development build adds its executable's size and time, so a rebuilt
// wookie never reuses renders of another build.
func cacheVersion() string {
	v := currentVersion().Version
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			v += fmt.Sprintf("+%d.%d", st.Size(), st.ModTime().UnixNano())
		}
	}
	return v
}
