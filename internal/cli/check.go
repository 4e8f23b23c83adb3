package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"wookie.dev/wookie/internal/check"
	"wookie.dev/wookie/pkg/pipeline"
)

type checkFlags struct {
	config   configFlags
	lock     lockFlags
	fetch    fetchFlags
	output   string
	strict   bool
	noCache  bool
	clusters []string
	sel      selectFlags
}

func newCheckCmd(s *streams) *cobra.Command {
	f := &checkFlags{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Validate the rendered manifests offline, before anything reaches a cluster",
		Long: `check renders the Plan as wookie render does (cache included), sensitive
bundles and Secrets too, and checks every object of every cluster, offline
(bundles generated from the certificate store at deploy time are left out,
and so are objects holding deploy-time input references, with a note each,
as in wookie render's output):

  schema            built-in kinds against the API types of client-go
                    (unknown or misspelled fields, wrong types, duplicate
                    list keys, which server-side apply rejects, missing
                    required fields); custom resources against the
                    openAPIV3Schema of their CRD in the Plan, with its
                    defaults, CEL rules and unknown fields; CRDs as the API
                    server validates them
  metadata          names, namespaces, labels and annotations
  kind              kinds and versions the cluster serves: its Kubernetes
                    version's built-in API, the Plan's CRDs, or declared in
                    the cluster's provides.kinds or a bundle's resourceScopes
  namespace         every namespace used exists: a bundle's namespace, a
                    Namespace in the Plan, default/kube-*, or declared in
                    the cluster's provides.namespaces
  crd-order         custom resources deploy after their CRD (same bundle,
                    an earlier batch, or a bundle they depend on)
  secret            no PEM private key in any object of the output, which
                    GitOps formats put into Git; (warning) a Secret with
                    data, named with the template that made it: render
                    and every GitOps format leave it out, so a GitOps
                    engine would lack it. Bundles marked sensitive
                    (applied by wookie deploy only) are exempt
  input             no deploy-time input reference ((input NAME)) left in
                    an object, which a GitOps engine would apply as written
  service-selector  (warning) Services select pod templates of their bundle
  image-tag         (warning) images carry a tag other than latest, or a
                    digest

A bundle turns a rule off with checks: skip: [{rule, reason}] (optionally
for one kind or name); the findings it hides are listed as skipped with
the reason. Exit 0 without errors (warnings allowed; --strict fails on
them), 1 with findings. -o json writes a CheckReport for CI.

--cluster, --batch (by name or priority) and --bundle limit the report to
the objects of the bundles they pick; the whole Plan is rendered and
checked all the same, as what they refer to may be elsewhere.`,
		Example: `  wookie check
  wookie check -f wookie.cue --strict
  wookie check --from plan.json -o json > report.json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCheck(cmd, s, f)
		},
	}
	addConfigFlags(cmd, &f.config, true)
	addLockFlags(cmd, &f.lock)
	addFetchFlags(cmd, &f.fetch)
	cmd.Flags().StringVarP(&f.output, "output", "o", "text", "report format: text or json")
	cmd.Flags().BoolVar(&f.strict, "strict", false, "warnings fail too")
	cmd.Flags().BoolVar(&f.noCache, "no-cache", false, "render every chart even when an identical render is cached")
	cmd.Flags().StringArrayVar(&f.clusters, "cluster", nil, "cluster of the Plan to report on; repeatable; default all")
	addSelectFlags(cmd, &f.sel, false)
	return cmd
}

func runCheck(cmd *cobra.Command, s *streams, f *checkFlags) error {
	start := time.Now()
	if f.output != "text" && f.output != "json" {
		return usagef("-o %q: want text or json", f.output)
	}
	// Sensitive bundles are checked (rule secret aside), and so are the
	// Secrets of the others, which rule secret reports; generated ones,
	// made from the certificate store at deploy time, are left out. Objects
	// holding input references are left out as render leaves them out,
	// with a note each.
	sel, err := f.sel.selection()
	if err != nil {
		return err
	}
	part := pipeline.Part{Clusters: f.clusters, Select: sel}
	p, pl, err := load(s, &f.config, &f.lock, &f.fetch)
	if err != nil {
		return err
	}
	if err := pipeline.CheckPart(pl, part); err != nil {
		return err
	}
	how := pipeline.RenderOptions{NoCache: f.noCache, AllowUnknownKinds: true, IncludeSecrets: true, LeaveOutInputRefs: true}
	res, err := p.Render(cmd.Context(), pl, how)
	if err != nil {
		return renderHints(err)
	}
	note(s, &f.config, pipeline.ObjectNotes(pipeline.SelectPart(res, part)))
	r, err := p.Check(pl, res, pipeline.CheckOptions{NoCache: f.noCache, Part: part})
	if err != nil {
		return err
	}
	if f.output == "json" {
		err = check.WriteJSON(s.out, r)
	} else {
		err = check.WriteText(s.out, r)
	}
	if err != nil {
		return err
	}
	if !f.config.quiet {
		mark := "✓"
		if r.Failed(f.strict) {
			mark = "✗"
		}
		fmt.Fprintf(s.err, "%s check: %d objects in %d clusters  %.2fs\n", mark, r.Objects, len(pipeline.SelectPart(res, part).Clusters), time.Since(start).Seconds())
	}
	if r.Failed(f.strict) {
		return &silentExit{code: 1}
	}
	return nil
}
