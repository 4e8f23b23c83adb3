package pipeline

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"wookie.dev/wookie/internal/cert"
	"wookie.dev/wookie/internal/chart"
	"wookie.dev/wookie/internal/check"
	"wookie.dev/wookie/internal/emit"
	"wookie.dev/wookie/internal/render"
)

// RenderOptions are the choices of Render.
type RenderOptions struct {
	// NoCache renders every chart, cached or not.
	NoCache bool
	// AllowUnknownKinds keeps objects of undeclared kinds for Check to
	// report, instead of failing.
	AllowUnknownKinds bool
	// DeferInputs leaves the clusters with inputs out of the rendering:
	// Deploy, Diff and Status render them once the inputs are read.
	// Without it, their objects keep their input references unless
	// LeaveOutInputRefs leaves them out.
	DeferInputs bool
	// LeaveOutInputRefs leaves out every object that still holds an input
	// reference (Result.OmittedObjects): for outputs no deploy fills in.
	LeaveOutInputRefs bool
	// IncludeSecrets renders sensitive bundles, and generated ones with
	// Certs, and keeps the Secrets with data of the others; without it
	// they are left out (Result.Omitted, Result.OmittedObjects).
	IncludeSecrets bool
	// Certs generates the generated bundles (Istio's cacerts) from the
	// configuration's certificate store, when there is a state directory
	// to hold one; without it they are left out.
	Certs bool
	// Live says the charts calling lookup are rendered again against the
	// cluster by Deploy, Diff or Status: no offline lookup warning.
	Live bool
	// yaml says the objects are written as YAML (RenderOutput): they are
	// encoded while other charts render (render.Options.EncodeYAML).
	yaml bool
}

// liveRender is how Deploy, Diff, Status and Up render: every bundle,
// secrets included, the generated ones from the certificate store, the
// charts calling lookup answered by the cluster.
var liveRender = RenderOptions{IncludeSecrets: true, Certs: true, Live: true}

// Render pins pl from the lock file and renders it: charts fetched (or
// read from the cache) and verified against their pins, rendered with the
// Helm SDK, raw manifests decoded, CRDs and namespaces put in place.
func (p *Pipeline) Render(ctx context.Context, pl *Plan, o RenderOptions) (*Result, error) {
	if err := p.Pin(pl); err != nil {
		return nil, err
	}
	return p.renderPinned(ctx, pl, o)
}

// renderPinned is Render of pl that Pin has pinned.
func (p *Pipeline) renderPinned(ctx context.Context, pl *Plan, o RenderOptions) (*Result, error) {
	opts, err := p.renderOptions(o)
	if err != nil {
		return nil, err
	}
	rendered := pl
	if o.DeferInputs {
		rendered = &Plan{APIVersion: pl.APIVersion, Kind: pl.Kind, GitOps: pl.GitOps}
		for _, c := range pl.Clusters {
			if len(c.Inputs) == 0 {
				rendered.Clusters = append(rendered.Clusters, c)
			}
		}
	}
	res, err := render.Render(ctx, rendered, opts)
	if err != nil {
		return nil, err
	}
	p.warn(res.Warnings...)
	p.warn(p.CertExpiryWarnings(pl)...)
	return res, nil
}

// RenderLive renders pl as Deploy, Diff and Status want it: every bundle,
// secrets included, except the clusters with inputs, which they render
// once the inputs are read. clusters selects the clusters to work on (a
// name the Plan lacks is a *ClusterError); before anything is rendered it
// checks that the certificate store holds what the generated bundles of
// every selected cluster need, so that a deploy does not stop half-way.
func (p *Pipeline) RenderLive(ctx context.Context, pl *Plan, clusters []string) (*Result, error) {
	sel, err := SelectClusters(pl, clusters)
	if err != nil {
		return nil, err
	}
	if err := p.checkGenerated(ctx, sel); err != nil {
		return nil, err
	}
	o := liveRender
	o.DeferInputs = true
	return p.Render(ctx, pl, o)
}

// renderOptions are the options of every render: charts as the lock file
// pins them, through the chart cache, the render cache unless o.NoCache,
// and the secrets o asks for, from the configuration's certificate store.
func (p *Pipeline) renderOptions(o RenderOptions) (render.Options, error) {
	lf, err := p.ReadLock()
	if err != nil {
		return render.Options{}, err
	}
	client, err := p.ChartClient()
	if err != nil {
		return render.Options{}, err
	}
	opts := render.Options{
		Charts:            &chart.PlanSource{Client: client, Lock: lf},
		Version:           p.cfg.CacheVersion,
		AllowUnknownKinds: o.AllowUnknownKinds,
		IncludeSecrets:    o.IncludeSecrets,
		LeaveOutInputRefs: o.LeaveOutInputRefs,
		LookupLater:       o.Live,
		EncodeYAML:        o.yaml,
	}
	if !o.NoCache {
		opts.Cache = &render.Cache{Dir: client.Cache.Dir}
	}
	// Without a state directory there is no certificate store: the
	// generated bundles are left out, as Result.Omitted says, and
	// checkGenerated fails first for the live commands.
	if o.Certs {
		if store, err := p.CertStore(); err == nil {
			opts.Generator = render.StoreGenerator{Store: store}
		}
	}
	return opts, nil
}

// checkGenerated makes the objects of the generated bundles of clusters
// from the certificate store, and returns the first error. The objects
// are dropped: rendering makes them again.
func (p *Pipeline) checkGenerated(ctx context.Context, clusters []Cluster) error {
	var gen render.Generator
	for _, c := range clusters {
		for _, b := range c.Batches {
			for i := range b.Bundles {
				u := &b.Bundles[i]
				if u.Generate == nil {
					continue
				}
				if gen == nil {
					store, err := p.CertStore()
					if err != nil {
						return fmt.Errorf("cluster %s: bundle %s: certificate store: %w", c.Name, u.Name, err)
					}
					gen = render.StoreGenerator{Store: store}
				}
				if _, err := gen.Generate(ctx, c.Name, u); err != nil {
					return fmt.Errorf("cluster %s: bundle %s: %w", c.Name, u.Name, err)
				}
			}
		}
	}
	return nil
}

// CertExpiryWarning is how long before its end an intermediate CA makes
// wookie warn.
const CertExpiryWarning = 30 * 24 * time.Hour

// CertExpiryWarnings warns about the intermediate CAs of pl's clusters in
// the configuration's certificate store that expire within
// CertExpiryWarning (or have expired); Render gives them to Config.Warn. A configuration without
// certificates gets none; a store that cannot be read is a warning too,
// never an error: rendering does not need the certificates.
func (p *Pipeline) CertExpiryWarnings(pl *Plan) []string {
	now := time.Now()
	store, err := p.CertStore()
	if err != nil {
		return nil
	}
	if _, err := os.Stat(store.Dir); err != nil {
		return nil
	}
	infos, err := store.Describe()
	if err != nil {
		return []string{fmt.Sprintf("certificates in %s: %v", store.Dir, err)}
	}
	var out []string
	for _, i := range infos {
		if i.Cluster == "" || !slices.ContainsFunc(pl.Clusters, func(c Cluster) bool { return c.Name == i.Cluster }) {
			continue
		}
		if msg := ExpiryWarning(i, now); msg != "" {
			out = append(out, msg)
		}
	}
	return out
}

// ExpiryWarning is the warning about an intermediate CA that expires
// within CertExpiryWarning, or "".
func ExpiryWarning(i cert.Info, now time.Time) string {
	if i.Cluster == "" || i.NotAfter.Sub(now) >= CertExpiryWarning {
		return ""
	}
	return fmt.Sprintf("cluster %s: the intermediate CA expires %s: run 'wookie certs rotate --cluster %s'", i.Cluster, i.NotAfter.UTC().Format(time.RFC3339), i.Cluster)
}

// CheckOptions are the choices of Check.
type CheckOptions struct {
	// NoCache judges every CRD anew instead of using the check cache.
	NoCache bool
	// Part limits the report to the findings about the objects of a part
	// of the Plan; every object is checked still (what the part refers to
	// is elsewhere).
	Part Part
}

// Check runs wookie's checks on a rendered Plan.
func (p *Pipeline) Check(pl *Plan, res *Result, o CheckOptions) (*Report, error) {
	opts := check.Options{}
	if !o.NoCache {
		opts = check.Options{CacheDir: p.CacheDir(), Version: p.cfg.CacheVersion}
	}
	r, err := check.Run(pl, res, opts)
	if err != nil || o.Part.IsZero() {
		return r, err
	}
	return partReport(r, SelectPart(res, o.Part)), nil
}

// partReport is r with only the findings about the bundles of part, and
// counts to match; the unused skips of other bundles are left out.
func partReport(r *Report, part *Result) *Report {
	in := map[string]bool{}
	out := *r
	out.Objects, out.Errors, out.Warnings, out.Skipped = 0, 0, 0, 0
	out.Findings, out.UnusedSkips = nil, nil
	for _, c := range part.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				in[c.Name+"/"+u.Name] = true
				out.Objects += len(u.Objects)
			}
		}
	}
	for _, f := range r.Findings {
		if !in[f.Cluster+"/"+f.Bundle] {
			continue
		}
		out.Findings = append(out.Findings, f)
		switch {
		case f.Skipped != "":
			out.Skipped++
		case f.Severity == check.Error:
			out.Errors++
		default:
			out.Warnings++
		}
	}
	for _, s := range r.UnusedSkips {
		for k := range in {
			cluster, bundle, _ := strings.Cut(k, "/")
			if strings.HasPrefix(s, "cluster "+cluster+": bundle "+bundle+": ") {
				out.UnusedSkips = append(out.UnusedSkips, s)
				break
			}
		}
	}
	return &out
}

// Write writes res, rendered from pl, to dir in the format o chooses,
// replacing dir whole and atomically, and returns the warnings.
func (p *Pipeline) Write(dir string, pl *Plan, res *Result, o EmitOptions) ([]string, error) {
	return emit.Write(dir, pl, res, o)
}

// WritePart writes the manifests of part of res, a rendering of every
// cluster, into dir, one file per bundle as Write's manifests format names
// it. The folder of each batch part picks whole (by Select.Batches or
// Until, or every batch of a cluster picked with no Select) is rewritten
// whole: files of bundles that left it are removed. Of a bundle picked by
// name only its file is written. Every other file of dir, the clusters'
// plan.yaml included, stays as it was; dir is replaced atomically, with
// those files copied. Only the manifests format writes a part: the GitOps
// formats are read whole by their engines.
func (p *Pipeline) WritePart(dir string, res *Result, part Part) error {
	var whole []string
	for i := range res.Clusters {
		c := &res.Clusters[i]
		if len(part.Clusters) > 0 && !slices.Contains(part.Clusters, c.Name) {
			continue
		}
		picked := render.Pick(c, part.Select)
		for _, b := range c.Batches {
			if picked == nil || picked.Batches[b.Name] {
				whole = append(whole, c.Name+"/"+b.Name)
			}
		}
	}
	return emit.WriteBundles(dir, SelectPart(res, part), whole)
}
