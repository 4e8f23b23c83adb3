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

DIR (default result) is replaced whole and atomically: on any error the
previous tree stays as it was. -o - writes one YAML stream in deploy order.

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
is or it is named; a named chart bundle brings its <bundle>-crds bundle),
and every other file of DIR stays as it was, plan.yaml included; -o -
streams just those bundles. The whole Plan is rendered (and checked, with
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
	if err := pipeline.CheckPart(pl, part); err != nil {
		return err
	}
	how := pipeline.RenderOptions{NoCache: f.noCache, AllowUnknownKinds: f.check, IncludeSecrets: f.includeSecrets, Certs: f.includeSecrets, LeaveOutInputRefs: true}
	// A render whose output directory already holds what it would write
	// is skipped, its messages repeated (pipeline.OutputKey).
	key, keyed := "", false
	if f.output != "-" {
		key, keyed = p.OutputKey(pl, how, f.emit, part, fmt.Sprintf("check=%t strict=%t", f.check, f.strict))
	}
	if keyed {
		if msgs, ok := p.OutputCurrent(f.output, key); ok {
			warn(s, &f.config, p.CertExpiryWarnings(pl))
			if !f.config.quiet {
				for _, m := range msgs[:max(len(msgs)-1, 0)] {
					fmt.Fprintln(s.err, m)
				}
				summary := ""
				if len(msgs) > 0 {
					summary = msgs[len(msgs)-1]
				}
				fmt.Fprintf(s.err, "✓ %s: %s, unchanged: nothing changed since it was written  %.2fs\n", f.output, summary, time.Since(start).Seconds())
			}
			return nil
		}
	}
	full, err := p.Render(cmd.Context(), pl, how)
	if err != nil {
		return renderHints(err)
	}
	res := pipeline.SelectPart(full, part)
	// msgs are the lines printed that follow from the render, for a later
	// render that is skipped to repeat.
	var msgs []string
	for _, w := range res.Warnings {
		msgs = append(msgs, "warning: "+w)
	}
	if n := secretBundles(res); n > 0 {
		w := fmt.Sprintf("--include-secrets: the output holds the secrets (private keys, tokens) of %d bundles: do not commit it to Git", n)
		warn(s, &f.config, []string{w})
		msgs = append(msgs, "warning: "+w)
	}
	notes := omittedNotes(res)
	note(s, &f.config, notes)
	for _, n := range notes {
		msgs = append(msgs, "note: "+n)
	}
	if f.check {
		report, err := checkBeforeWrite(s, &f.config, p, pl, full, part, f.strict, f.noCache)
		if err != nil {
			return err
		}
		msgs = append(msgs, strings.TrimRight(report, "\n"))
	}
	if f.output == "-" {
		return emit.Stream(s.out, res)
	}
	var warnings []string
	if part.IsZero() {
		warnings, err = p.Write(f.output, pl, res, f.emit)
	} else {
		err = p.WritePart(f.output, res)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", f.output, err)
	}
	warn(s, &f.config, warnings)
	for _, w := range warnings {
		msgs = append(msgs, "warning: "+w)
	}
	objects, bundles := 0, 0
	for _, c := range res.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				bundles++
				objects += len(u.Objects)
			}
		}
	}
	summary := fmt.Sprintf("%d objects in %d bundles, %d clusters", objects, bundles, len(res.Clusters))
	if keyed {
		// Not noted, the next render is only not skipped.
		_ = p.RecordOutput(f.output, key, append(msgs, summary))
	} else {
		p.ForgetOutput(f.output)
	}
	if !f.config.quiet {
		fmt.Fprintf(s.err, "✓ %s: %s  %.2fs\n", f.output, summary, time.Since(start).Seconds())
	}
	return nil
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

// secretBundles counts the bundles of res whose output holds secrets: the
// sensitive and generated ones with objects, and any other with a Secret
// with data or a private key.
func secretBundles(res *render.Result) int {
	n := 0
	for _, c := range res.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				if u.Sensitive && len(u.Objects) > 0 || slices.ContainsFunc(u.Objects, render.CarriesSecrets) {
					n++
				}
			}
		}
	}
	return n
}

// omittedNotes says, a line per bundle and then a line per object, what
// render left out: bundles and Secrets that carry secrets, and objects
// holding input references.
func omittedNotes(res *render.Result) []string {
	var out []string
	for _, o := range res.Omitted {
		why := map[string]string{
			render.WhySensitive:   "it carries secrets (sensitive); wookie deploy applies it, --include-secrets writes it",
			render.WhyGenerated:   "it is generated from the certificate store and holds a private key; wookie deploy applies it, --include-secrets writes it",
			render.WhyNoGenerator: "no certificate store (no state directory)",
		}[o.Why]
		out = append(out, fmt.Sprintf("cluster %s: bundle %s is left out: %s", o.Cluster, o.Bundle, why))
	}
	return append(out, objectNotes(res)...)
}

// objectNotes says, a line per object, which objects render left out of
// the bundles that stay, and why.
func objectNotes(res *render.Result) []string {
	var out []string
	for _, o := range res.OmittedObjects {
		why := "it carries secrets; wookie deploy applies it, --include-secrets writes it"
		if o.Why == render.WhyInputRefs {
			noun := "input"
			if len(o.Inputs) > 1 {
				noun = "inputs"
			}
			why = fmt.Sprintf("it refers to %s %s, which only wookie deploy reads from a live cluster; wookie deploy fills it in and applies it", noun, strings.Join(o.Inputs, ", "))
		}
		out = append(out, fmt.Sprintf("cluster %s: bundle %s: %s (%s) is left out: %s", o.Cluster, o.Bundle, o.Object, o.Source, why))
	}
	return out
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
