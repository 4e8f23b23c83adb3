package emit

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"wookie.dev/wookie/internal/atomicfile"
	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// The output formats of Write.
const (
	FormatManifests = "manifests"
	FormatFleet     = "fleet"
	FormatHelmfile  = "helmfile"
	FormatArgoCD    = "argocd"
	FormatFlux      = "flux"
)

// Formats lists every output format, the default first.
var Formats = []string{FormatManifests, FormatFleet, FormatHelmfile, FormatArgoCD, FormatFlux}

// The modes of the Fleet, Flux and Argo CD outputs.
const (
	// ModeRendered writes the manifests wookie rendered: deterministic and
	// reviewable in Git.
	ModeRendered = "rendered"
	// ModeChart writes chart references with values, so the engine pulls
	// and renders the charts itself.
	ModeChart = "chart"
)

// Options choose an output format and its variants.
type Options struct {
	// Format is one of Formats; empty means FormatManifests.
	Format string
	// FleetMode is ModeRendered (default) or ModeChart.
	FleetMode string
	// FleetBundles adds Fleet Bundle resources with the manifests embedded,
	// for users who apply Bundles directly.
	FleetBundles bool
	// FluxMode is ModeRendered (default) or ModeChart.
	FluxMode string
	// ArgoCDMode is ModeRendered (default) or ModeChart.
	ArgoCDMode string
	// Repo, Revision and Path override the Plan's gitops settings when set.
	Repo, Revision, Path string
}

// Tree is an output in memory: file contents by slash path.
type Tree map[string][]byte

// Build makes the output of format opts.Format for p and r in memory. It
// checks everything first, so an error means nothing is to be written; the
// warnings are notes for the user.
func Build(p *plan.Plan, r *render.Result, opts Options) (Tree, []string, error) {
	s, err := newSite(p, r, opts)
	if err != nil {
		return nil, nil, err
	}
	switch opts.Format {
	case "", FormatManifests:
		err = s.manifests()
	case FormatFleet:
		err = s.fleet()
	case FormatHelmfile:
		err = s.helmfile()
	case FormatArgoCD:
		err = s.argocd()
	case FormatFlux:
		err = s.flux()
	default:
		return nil, nil, fmt.Errorf("unknown format %q: want one of %s", opts.Format, strings.Join(Formats, ", "))
	}
	if err != nil {
		return nil, nil, err
	}
	return s.tree, s.warnings, nil
}

// Write builds the output of format opts.Format and writes it to dir,
// replacing dir whole and atomically: on error the previous tree is left
// as it was and nothing is written. When r holds secrets (rendered with
// render.Options.IncludeSecrets: sensitive bundles, Secrets with data)
// every file is 0600 and every directory 0700, dir included.
func Write(dir string, p *plan.Plan, r *render.Result, opts Options) ([]string, error) {
	t, warnings, err := Build(p, r, opts)
	if err != nil {
		return nil, err
	}
	return warnings, writeTree(dir, t, holdsSecrets(r))
}

// WriteTree writes t, which holds no secrets, to dir, replacing dir whole
// and atomically.
func WriteTree(dir string, t Tree) error {
	return writeTree(dir, t, false)
}

// writeTree writes t to dir, replacing dir whole and atomically; private
// makes every directory 0700 and every file 0600.
func writeTree(dir string, t Tree, private bool) error {
	perm := fs.FileMode(0o755)
	if private {
		perm = 0o700
	}
	return atomicfile.ReplaceDir(dir, perm, func(tmp string) error {
		return putFiles(tmp, t, perm)
	})
}

// putFiles writes the files of t under dir, making their directories
// with perm and the files with the matching mode.
func putFiles(dir string, t Tree, perm fs.FileMode) error {
	for _, name := range slices.Sorted(maps.Keys(t)) {
		file := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(file), perm); err != nil {
			return err
		}
		if err := os.WriteFile(file, t[name], atomicfile.FileMode(perm)); err != nil {
			return err
		}
	}
	return nil
}

// holdsSecrets reports whether r holds a sensitive bundle or a Secret with
// data: whether its output is to be readable by its owner only.
func holdsSecrets(r *render.Result) bool {
	for _, c := range r.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				if u.Sensitive {
					return true
				}
				for _, o := range u.Objects {
					if render.IsSecretWithData(o.Unstructured) {
						return true
					}
				}
			}
		}
	}
	return false
}

// site is one output being built: the Plan, the rendered result, the
// dependency graph of every cluster and the files written so far.
type site struct {
	plan     *plan.Plan
	result   *render.Result
	opts     Options
	gitops   plan.GitOps
	clusters []*clusterGraph
	tree     Tree
	warnings []string
	// fleetBundles are the Bundles of the fleet format's --fleet-bundles.
	fleetBundles []FleetBundle
	// bundlesOnly builds the Fleet Bundles alone, for FleetBundles: no
	// GitRepo, nor the note that it lacks a repository.
	bundlesOnly bool
}

func newSite(p *plan.Plan, r *render.Result, opts Options) (*site, error) {
	if len(p.Clusters) != len(r.Clusters) {
		return nil, fmt.Errorf("the rendered result has %d clusters, the Plan %d", len(r.Clusters), len(p.Clusters))
	}
	if err := checkPath(opts.Path); err != nil {
		return nil, err
	}
	if p.GitOps != nil {
		if err := checkPath(p.GitOps.Path); err != nil {
			return nil, err
		}
	}
	s := &site{plan: p, result: r, opts: opts, tree: Tree{}, gitops: gitopsDefaults(p.GitOps, opts)}
	for i := range p.Clusters {
		g, err := newClusterGraph(&p.Clusters[i], &r.Clusters[i])
		if err != nil {
			return nil, err
		}
		s.clusters = append(s.clusters, g)
	}
	return s, nil
}

// checkPath checks a repository path given with --git-path.
func checkPath(p string) error {
	if p == "" {
		return nil
	}
	if path.IsAbs(p) || slices.Contains(strings.Split(p, "/"), "..") {
		return fmt.Errorf("git path %q: want a relative path inside the repository, without ..", p)
	}
	return nil
}

// gitopsDefaults fills in the defaults of every GitOps setting, with the
// overrides of opts.
func gitopsDefaults(in *plan.GitOps, opts Options) plan.GitOps {
	var g plan.GitOps
	if in != nil {
		g = *in
	}
	g.Fleet = &plan.FleetGitOps{}
	if in != nil && in.Fleet != nil {
		*g.Fleet = *in.Fleet
	}
	g.Fleet.GitRepo = or(g.Fleet.GitRepo, "wookie")
	g.Fleet.Namespace = or(g.Fleet.Namespace, "fleet-default")
	g.ArgoCD = &plan.ArgoCDGitOps{Namespace: "argocd", Project: "default"}
	if in != nil && in.ArgoCD != nil {
		g.ArgoCD.Namespace = or(in.ArgoCD.Namespace, g.ArgoCD.Namespace)
		g.ArgoCD.Project = or(in.ArgoCD.Project, g.ArgoCD.Project)
	}
	g.Flux = &plan.FluxGitOps{Namespace: "flux-system", SourceKind: "GitRepository", SourceName: "flux-system"}
	if in != nil && in.Flux != nil {
		g.Flux.Namespace = or(in.Flux.Namespace, g.Flux.Namespace)
		g.Flux.SourceKind = or(in.Flux.SourceKind, g.Flux.SourceKind)
		g.Flux.SourceName = or(in.Flux.SourceName, g.Flux.SourceName)
	}
	g.Repo = or(opts.Repo, g.Repo)
	g.Revision = or(opts.Revision, or(g.Revision, "HEAD"))
	g.Path = strings.Trim(path.Clean("/"+or(opts.Path, g.Path)), "/")
	return g
}

// or returns a, or b when a is empty.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// repoPath is the path of rel (a slash path inside the output) from the
// repository's root.
func (s *site) repoPath(rel string) string {
	if s.gitops.Path == "" {
		return rel
	}
	return s.gitops.Path + "/" + rel
}

// put adds a file to the output.
func (s *site) put(name string, data []byte) {
	s.tree[name] = data
}

// warnf adds a note for the user.
func (s *site) warnf(format string, args ...any) {
	s.warnings = append(s.warnings, fmt.Sprintf(format, args...))
}

// warnInputs notes that n's chart values use the deploy-time inputs, so
// format writes the bundle as what instead of handing the chart to its
// engine.
func (s *site) warnInputs(g *clusterGraph, n *node, format string, inputs []string, what string) {
	noun := "input"
	if len(inputs) > 1 {
		noun = "inputs"
	}
	s.warnf("cluster %s: bundle %s: %s: the chart values use the deploy-time %s %s, which only wookie deploy fills in: the bundle is written %s, without the objects that hold references",
		g.name, n.name, format, noun, strings.Join(inputs, ", "), what)
}

// putPlan writes the part of the Plan that made the cluster at name's
// directory: without the bundles the rendering left out (their manifests
// may hold secrets) and the dependsOn entries naming them, and without the
// manifests it left out as Secrets with data.
func (s *site) putPlan(name string) error {
	cluster := path.Dir(name)
	omitted := map[string]bool{}
	for _, o := range s.result.Omitted {
		if o.Cluster == cluster {
			omitted[o.Bundle] = true
		}
	}
	for i := range s.plan.Clusters {
		if s.plan.Clusters[i].Name != cluster {
			continue
		}
		pc := plan.WithoutBundles(&s.plan.Clusters[i], func(u *plan.Bundle) bool { return omitted[u.Name] })
		pc = withoutSecretManifests(pc, s.result.OmittedObjects)
		one := &plan.Plan{APIVersion: s.plan.APIVersion, Kind: s.plan.Kind, GitOps: s.plan.GitOps, Clusters: []plan.Cluster{*pc}}
		data, err := plan.EncodeYAML(one)
		if err != nil {
			return err
		}
		s.put(name, data)
		return nil
	}
	return fmt.Errorf("cluster %s is not in the Plan", cluster)
}

// WriteBundles writes the manifests file of every bundle of part
// (<cluster>/<batch>/<bundle>.yaml, as the manifests format writes it)
// into dir and leaves every other file of dir as it was, except the
// folders whole names ("<cluster>/<batch>"), which hold part's files only:
// the output of a render of part of the Plan. dir is replaced whole and
// atomically, as Write replaces it, with the files it held copied; it is
// private (0700, files 0600) when it was or when part holds secrets.
func WriteBundles(dir string, part *render.Result, whole []string) error {
	t := Tree{}
	for _, c := range part.Clusters {
		for _, b := range c.Batches {
			for _, u := range b.Bundles {
				data, err := render.MarshalYAML(u.Objects)
				if err != nil {
					return fmt.Errorf("cluster %s: bundle %s: %w", c.Name, u.Name, err)
				}
				t[c.Name+"/"+b.Name+"/"+u.Name+".yaml"] = data
			}
		}
	}
	perm := fs.FileMode(0o755)
	if holdsSecrets(part) {
		perm = 0o700
	}
	if st, err := os.Stat(dir); err == nil && st.IsDir() && st.Mode().Perm()&0o077 == 0 {
		perm = 0o700
	}
	skip := maps.Clone(t)
	for _, w := range whole {
		skip[w+"/"] = nil
	}
	return atomicfile.ReplaceDir(dir, perm, func(tmp string) error {
		if err := copyTree(dir, tmp, skip); err != nil {
			return err
		}
		return putFiles(tmp, t, perm)
	})
}

// copyTree copies the files and directories of from, if it exists, into
// to, with their modes, except Marker and the files and directories
// ("path/") skip holds (by slash path).
func copyTree(from, to string, skip Tree) error {
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil || rel == "." {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			if _, ok := skip[filepath.ToSlash(rel)+"/"]; ok {
				return fs.SkipDir
			}
			return os.Mkdir(dst, info.Mode().Perm())
		case !info.Mode().IsRegular():
			return fmt.Errorf("%s: not a file", path)
		case rel == atomicfile.Marker:
			return nil
		}
		if _, ok := skip[filepath.ToSlash(rel)]; ok {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, info.Mode().Perm())
	})
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(from); errors.Is(serr, fs.ErrNotExist) {
			return nil
		}
	}
	return err
}
