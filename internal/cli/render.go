package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/emit"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/pkg/pipeline"
)

type renderFlags struct {
	config         configFlags
	lock           lockFlags
	fetch          fetchFlags
	output         string
	noCache        bool
	check          bool
	strict         bool
	includeSecrets bool
	emit           emit.Options
	clusters       []string
	sel            selectFlags
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

DIR (default result) is replaced atomically: on any error the previous tree
stays as it was. It is replaced whole, unless --cluster, --batch or --bundle
write part of it (below). -o - writes one YAML stream in deploy order.

--format chooses what is written for a GitOps engine, for every cluster:

  manifests  the tree above (default)
  fleet      DIR/<cluster>/<batch>/<bundle>/{fleet.yaml,manifests.yaml} for
             a Rancher Fleet GitRepo (DIR/gitrepo.yaml), dependsOn
             reproducing batches and dependsOn; --fleet-mode chart lets
             Fleet pull the charts; --fleet-bundles adds Bundle resources
  helmfile   DIR/<cluster>/helmfile.yaml with needs reproducing the order;
             raw manifests become local charts beside it
  argocd     an Application per bundle with sync waves, an app-of-apps per
             cluster, the rendered manifests per bundle directory;
             --argocd-mode chart gives chart bundles' Applications the
             chart as a Helm source instead, which Argo CD renders
  flux       a Kustomization per bundle with dependsOn, wait and prune;
             --flux-mode chart writes HelmRepository/OCIRepository and
             HelmRelease objects instead of rendered charts

--git-repo, --git-revision and --git-path (or gitops in the config) say
where the output is pushed, for the objects that point back at it.

Namespaced objects without a namespace get the bundle's; every object gets
the labels wookie.dev/cluster and wookie.dev/bundle. A chart's crds/ CRDs go
to a bundle <bundle>-crds in the crds batch (crds: inline or skip to change
that), because Helm never upgrades crds/ and GitOps engines fail when a
custom resource and its CRD are applied together. Helm hooks become ordinary
objects: pre-install/pre-upgrade before the bundle's others, post-* after,
by weight; test, delete and rollback hooks are dropped.

Bundles whose objects carry secrets are left out, with a note on stderr
for each: sensitive bundles (sensitive: true, such as Istio's remote secrets
with tokens read at deploy time) and generated ones (Istio's cacerts Secret
with the intermediate CA's key from the certificate store of wookie certs).
wookie deploy applies them; the dependsOn entries naming them are dropped
from the output and from plan.yaml. So is every Secret with data that a
chart or the manifests of another bundle make, with a note naming it and
its template (a Secret without data, such as a service-account token Secret
the cluster fills in, stays). --include-secrets writes them too, with a
warning counting the bundles whose output holds secrets: such an output
must not go into Git.

Objects that refer to a deploy-time input ((input NAME), read from a live
cluster by wookie deploy) are left out of every output, with a note naming
the object, its template and the inputs: a GitOps engine would apply the
reference as written. plan.yaml, which no engine applies, keeps them.

--check runs the checks of wookie check on the rendered objects before
anything is written; with errors (or warnings and --strict) the findings go
to stderr, nothing is written and wookie exits 1.

--cluster, --batch (by name or priority) and --bundle write part of the
Plan: the files of the bundles they pick (a bundle is picked when its batch
is or it is named; a named chart bundle brings its <bundle>-crds bundle).
The folder of a batch picked whole (by --batch, or every batch of a cluster
given with --cluster alone) is rewritten whole: files of bundles no longer in
it are removed. A bundle named by --bundle gets its file only. Every other
file of DIR stays as it was, plan.yaml included, and DIR is still replaced
atomically; -o - streams just those bundles. The whole Plan is rendered (and checked, with
--check) all the same. Only --format manifests writes a part: the GitOps
formats are read whole by their engines.`,
		Example: `  wookie render
  wookie render -f wookie.cue -o out/
  wookie render --offline --locked -o - | kubectl apply --server-side -f -
  wookie render --check --strict -o out/
  wookie render --batch crds --bundle istiod -o out/
  wookie render --format fleet --git-repo https://git.example.org/platform.git -o fleet/
  wookie render --format argocd --git-repo https://git.example.org/platform.git --git-path deploy -o deploy/`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRender(cmd, s, f)
		},
	}
	addConfigFlags(cmd, &f.config, true)
	addLockFlags(cmd, &f.lock)
	addFetchFlags(cmd, &f.fetch)
	cmd.Flags().StringVarP(&f.output, "output", "o", "result", "output directory, or - for one YAML stream on stdout")
	cmd.Flags().StringArrayVar(&f.clusters, "cluster", nil, "cluster of the Plan to write; repeatable; default all")
	addSelectFlags(cmd, &f.sel, false)
	cmd.Flags().BoolVar(&f.noCache, "no-cache", false, "render every chart even when an identical render is cached")
	cmd.Flags().BoolVar(&f.check, "check", false, "run wookie check on the rendered objects first; write nothing when it finds errors")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "with --check: warnings fail too")
	cmd.Flags().BoolVar(&f.includeSecrets, "include-secrets", false, "also write sensitive and generated bundles (tokens, the Istio CA key): never commit such an output")
	cmd.Flags().StringVar(&f.emit.Format, "format", emit.FormatManifests, "output format: "+strings.Join(emit.Formats, ", "))
	cmd.Flags().StringVar(&f.emit.FleetMode, "fleet-mode", emit.ModeRendered, "fleet format: rendered (manifests as wookie renders them) or chart (Fleet pulls and renders the charts)")
	cmd.Flags().BoolVar(&f.emit.FleetBundles, "fleet-bundles", false, "fleet format: also write Fleet Bundle resources with the manifests embedded")
	cmd.Flags().StringVar(&f.emit.FluxMode, "flux-mode", emit.ModeRendered, "flux format: rendered (a Kustomization per bundle) or chart (HelmRelease objects)")
	cmd.Flags().StringVar(&f.emit.ArgoCDMode, "argocd-mode", emit.ModeRendered, "argocd format: rendered (Applications of rendered manifests) or chart (Argo CD pulls and renders the charts)")
	cmd.Flags().StringVar(&f.emit.Repo, "git-repo", "", "URL of the Git repository the output is pushed to (default gitops.repo)")
	cmd.Flags().StringVar(&f.emit.Revision, "git-revision", "", "branch, tag or commit GitOps engines follow (default gitops.revision)")
	cmd.Flags().StringVar(&f.emit.Path, "git-path", "", "directory of the output inside the repository (default gitops.path)")
	return cmd
}

func runRender(cmd *cobra.Command, s *streams, f *renderFlags) error {
	start := time.Now()
	if err := checkEmitFlags(&f.emit, f.output); err != nil {
		return err
	}
	sel, err := f.sel.selection()
	if err != nil {
		return err
	}
	part := pipeline.Part{Clusters: f.clusters, Select: sel}
	if !part.IsZero() && f.output != "-" && f.emit.Format != emit.FormatManifests {
		return usagef("--cluster, --batch and --bundle write part of the output only with --format manifests: --format %s is read whole by its engine", f.emit.Format)
	}
	p, pl, err := load(s, &f.config, &f.lock, &f.fetch)
	if err != nil {
		return err
	}
	out, err := p.RenderOutput(cmd.Context(), pl, pipeline.OutputOptions{
		Dir:    f.output,
		Stream: s.out,
		Render: pipeline.RenderOptions{NoCache: f.noCache, AllowUnknownKinds: f.check, IncludeSecrets: f.includeSecrets, Certs: f.includeSecrets, LeaveOutInputRefs: true},
		Emit:   f.emit,
		Part:   part,
		Check:  f.check,
		Strict: f.strict,
	})
	var ce *pipeline.CheckError
	if out != nil {
		printMessages(s, &f.config, out.Messages, errors.As(err, &ce))
	}
	if err != nil {
		return renderHints(err)
	}
	if f.config.quiet || f.output == "-" {
		return nil
	}
	unchanged := ""
	if out.Unchanged {
		unchanged = ", unchanged: nothing changed since it was written"
	}
	fmt.Fprintf(s.err, "✓ %s: %s%s  %.2fs\n", f.output, out.Summary(), unchanged, time.Since(start).Seconds())
	return nil
}

// printMessages prints what a render has to say to stderr, unless -q: the
// report of checks that failed even then.
func printMessages(s *streams, cf *configFlags, msgs []pipeline.Message, checkFailed bool) {
	for _, m := range msgs {
		switch {
		case m.Kind == pipeline.MessageCheck && (checkFailed || !cf.quiet):
			fmt.Fprint(s.err, m.Text)
		case cf.quiet || m.Kind == pipeline.MessageCheck:
		default:
			fmt.Fprintf(s.err, "%s: %s\n", m.Kind, m.Text)
		}
	}
}

// checkEmitFlags checks the output flags before anything is rendered.
func checkEmitFlags(o *emit.Options, output string) error {
	if output == "" {
		return usagef("-o \"\": give an output directory, or - for one YAML stream on stdout")
	}
	if !slices.Contains(emit.Formats, o.Format) {
		return usagef("--format %q: want one of %s", o.Format, strings.Join(emit.Formats, ", "))
	}
	if output == "-" && o.Format != emit.FormatManifests {
		return usagef("-o -: only --format manifests writes one stream; give --format %s a directory", o.Format)
	}
	for _, m := range [][2]string{{"--fleet-mode", o.FleetMode}, {"--flux-mode", o.FluxMode}, {"--argocd-mode", o.ArgoCDMode}} {
		if m[1] != emit.ModeRendered && m[1] != emit.ModeChart {
			return usagef("%s %q: want %s or %s", m[0], m[1], emit.ModeRendered, emit.ModeChart)
		}
	}
	return nil
}

// renderHints adds the hints for the user to an error of rendering.
func renderHints(err error) error {
	return withSchemaHint(withCertsHint(withNetworkHint(err)))
}

// withCertsHint adds a hint to errors from certificates missing in the
// certificate store.
func withCertsHint(err error) error {
	var me *render.MissingCertsError
	if errors.As(err, &me) {
		return fmt.Errorf("%w\nhint: run 'wookie certs init' (wookie up makes missing certificates itself)", err)
	}
	return err
}

// withSchemaHint adds a hint to errors from a chart's values.schema.json.
func withSchemaHint(err error) error {
	if strings.Contains(err.Error(), "values don't meet the specifications of the schema") {
		return fmt.Errorf("%w\nhint: fix the values the message names; if the chart's published schema rejects every input, set chart: skipSchemaValidation: true on the bundle (as helm --skip-schema-validation)", err)
	}
	return err
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
