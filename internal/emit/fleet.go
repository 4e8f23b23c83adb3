package emit

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// fleetCompressAt is the size of a marshalled Bundle from which fleet
// apply compresses its resources; --fleet-bundles does the same.
const fleetCompressAt = 1_000_000

// fleetYAML is the part of Fleet's fleet.yaml that wookie writes.
type fleetYAML struct {
	Name                 string            `json:"name,omitempty"`
	Labels               map[string]string `json:"labels,omitempty"`
	DefaultNamespace     string            `json:"defaultNamespace"`
	Helm                 *fleetHelm        `json:"helm,omitempty"`
	Diff                 *fleetDiff        `json:"diff,omitempty"`
	DependsOn            []fleetDependsOn  `json:"dependsOn,omitempty"`
	TargetCustomizations []fleetTarget     `json:"targetCustomizations,omitempty"`
	Targets              []fleetTarget     `json:"targets,omitempty"`
	Resources            []fleetResource   `json:"resources,omitempty"`
}

type fleetHelm struct {
	ReleaseName       string      `json:"releaseName"`
	Repo              string      `json:"repo,omitempty"`
	Chart             string      `json:"chart,omitempty"`
	Version           string      `json:"version,omitempty"`
	Values            plan.Object `json:"values,omitempty"`
	DisablePreProcess bool        `json:"disablePreProcess,omitempty"`
	// SkipSchemaValidation is Fleet's HelmOptions.SkipSchemaValidation:
	// the agent installs and upgrades the chart without checking the
	// values against its values.schema.json.
	SkipSchemaValidation bool `json:"skipSchemaValidation,omitempty"`
	// TakeOwnership is Fleet's HelmOptions.TakeOwnership: Helm adopts
	// objects that exist without its release's annotations. Set for a
	// bundle that makes its own namespace, which Fleet's agent creates
	// before it installs the release (Helm's CreateNamespace), so the
	// install would otherwise refuse the Namespace it finds.
	TakeOwnership bool `json:"takeOwnership,omitempty"`
}

type fleetDiff struct {
	ComparePatches []fleetComparePatch `json:"comparePatches"`
}

type fleetComparePatch struct {
	APIVersion   string   `json:"apiVersion"`
	Kind         string   `json:"kind"`
	Name         string   `json:"name"`
	Namespace    string   `json:"namespace,omitempty"`
	JSONPointers []string `json:"jsonPointers"`
}

type fleetDependsOn struct {
	Name string `json:"name"`
}

type fleetTarget struct {
	Name            string         `json:"name"`
	ClusterName     string         `json:"clusterName,omitempty"`
	ClusterSelector *labelSelector `json:"clusterSelector,omitempty"`
	DoNotDeploy     bool           `json:"doNotDeploy,omitempty"`
}

type labelSelector struct {
	MatchLabels map[string]string `json:"matchLabels,omitempty"`
}

type fleetResource struct {
	Name     string `json:"name"`
	Content  string `json:"content"`
	Encoding string `json:"encoding,omitempty"`
}

// FleetBundle is the Fleet Bundle resource of one bundle of the Plan, as
// render --format fleet --fleet-bundles writes it into
// bundles/<cluster>.yaml.
type FleetBundle struct {
	// Cluster and Bundle name the bundle in the Plan.
	Cluster, Bundle string
	// Workspace is the Fleet workspace (namespace on the management
	// cluster) of the Bundle: the cluster's gitops.fleet.workspace, else
	// gitops.fleet.namespace.
	Workspace string
	// Name is the Fleet name of the Bundle.
	Name string
	// Object is the Bundle resource, its manifests compressed when it is
	// large, as plain data (JSON types, integers as int64).
	Object map[string]any
}

// FleetBundles builds the Fleet Bundle resource of every bundle of p, with
// its objects from r, in the Plan's order (cluster by cluster, each in
// deploy order): the Bundles of the fleet format with --fleet-bundles, in
// memory. opts gives the GitOps overrides; its format and Fleet settings
// are ignored. The warnings are notes for the user.
func FleetBundles(p *plan.Plan, r *render.Result, opts Options) ([]FleetBundle, []string, error) {
	opts.Format, opts.FleetMode, opts.FleetBundles = FormatFleet, ModeRendered, true
	s, err := newSite(p, r, opts)
	if err != nil {
		return nil, nil, err
	}
	s.bundlesOnly = true
	if err := s.fleet(); err != nil {
		return nil, nil, err
	}
	return s.fleetBundles, s.warnings, nil
}

// fleet builds the Fleet GitRepo layout: per bundle a directory
// <cluster>/<batch>/<bundle> with fleet.yaml and, unless Fleet renders the
// chart itself, manifests.yaml; gitrepo.yaml at the root when the
// repository is known; with --fleet-bundles, bundles/<cluster>.yaml,
// whose Bundles it also keeps in s.fleetBundles.
func (s *site) fleet() error {
	mode := or(s.opts.FleetMode, ModeRendered)
	if mode != ModeRendered && mode != ModeChart {
		return fmt.Errorf("fleet: mode %q: want %s or %s", mode, ModeRendered, ModeChart)
	}
	if s.opts.FleetBundles && mode == ModeChart {
		return fmt.Errorf("fleet: --fleet-bundles embeds the rendered manifests, and a Bundle written by hand cannot pull a chart: use it with --fleet-mode rendered")
	}
	for _, g := range s.clusters {
		names, err := s.fleetNames(g)
		if err != nil {
			return err
		}
		target := fleetClusterTarget(g)
		workspace := s.fleetWorkspace(g)
		var bundles [][]byte
		for _, n := range g.nodes {
			fy, manifests, err := s.fleetBundle(g, n, names, mode)
			if err != nil {
				return fmt.Errorf("cluster %s: bundle %s: fleet: %w", g.name, n.name, err)
			}
			file := fy
			file.TargetCustomizations = []fleetTarget{target, {Name: "others", ClusterSelector: &labelSelector{}, DoNotDeploy: true}}
			data, err := yaml.Marshal(file)
			if err != nil {
				return err
			}
			dir := n.dir(g.name)
			s.put(dir+"/fleet.yaml", data)
			if manifests != nil {
				s.put(dir+"/manifests.yaml", manifests)
			}
			if s.opts.FleetBundles {
				obj, err := fleetBundleResource(names[n.name], workspace, fy, target, manifests)
				if err != nil {
					return fmt.Errorf("cluster %s: bundle %s: fleet: %w", g.name, n.name, err)
				}
				b, err := yaml.Marshal(obj)
				if err != nil {
					return fmt.Errorf("cluster %s: bundle %s: fleet: %w", g.name, n.name, err)
				}
				bundles = append(bundles, b)
				s.fleetBundles = append(s.fleetBundles, FleetBundle{
					Cluster: g.name, Bundle: n.name, Workspace: workspace, Name: names[n.name], Object: obj,
				})
			}
		}
		if s.opts.FleetBundles {
			s.put("bundles/"+g.name+".yaml", joinDocs(bundles))
		}
	}
	if s.bundlesOnly {
		return nil
	}
	return s.fleetGitRepo()
}

// fleetWorkspace is the Fleet workspace of g's cluster: its
// gitops.fleet.workspace, else gitops.fleet.namespace.
func (s *site) fleetWorkspace(g *clusterGraph) string {
	return FleetWorkspace(s.plan, g.cluster)
}

// FleetSettings are p's Fleet settings with their defaults filled in:
// GitRepo wookie, Namespace fleet-default.
func FleetSettings(p *plan.Plan) plan.FleetGitOps {
	return *gitopsDefaults(p.GitOps, Options{}).Fleet
}

// FleetWorkspace is the Fleet workspace of cluster c of p: its
// gitops.fleet.workspace, else gitops.fleet.namespace (default
// fleet-default).
func FleetWorkspace(p *plan.Plan, c *plan.Cluster) string {
	if gc := c.GitOps; gc != nil && gc.Fleet != nil && gc.Fleet.Workspace != "" {
		return gc.Fleet.Workspace
	}
	return FleetSettings(p).Namespace
}

// fleetNames returns the Fleet bundle name of every bundle of g and
// checks they are distinct. A bundle's name is what Fleet derives from
// the GitRepo's name and the directory; where that derivation cuts the
// name and adds a checksum, fleet.yaml gives a shorter readable one.
func (s *site) fleetNames(g *clusterGraph) (map[string]string, error) {
	names := map[string]string{}
	owner := map[string]string{}
	for _, n := range g.nodes {
		name := FleetBundleName(s.gitops.Fleet.GitRepo + "/" + s.repoPath(n.dir(g.name)))
		if name != strings.ReplaceAll(s.gitops.Fleet.GitRepo+"-"+s.repoPath(n.dir(g.name)), "/", "-") {
			name = FleetBundleName(s.gitops.Fleet.GitRepo + "-" + g.name + "-" + n.name)
		}
		if other, dup := owner[name]; dup {
			return nil, fmt.Errorf("cluster %s: bundles %s and %s get the same Fleet bundle name %s: rename one", g.name, other, n.name, name)
		}
		owner[name] = n.name
		names[n.name] = name
	}
	return names, nil
}

// fleetExplicitName reports whether fleet.yaml must name the bundle: when
// Fleet's own derivation gives something else.
func (s *site) fleetExplicitName(g *clusterGraph, n *node, name string) bool {
	return FleetBundleName(s.gitops.Fleet.GitRepo+"/"+s.repoPath(n.dir(g.name))) != name
}

// fleetClusterTarget is the target customization that selects g's
// cluster.
func fleetClusterTarget(g *clusterGraph) fleetTarget {
	t := fleetTarget{Name: g.name, ClusterName: g.name}
	if gc := g.cluster.GitOps; gc != nil && gc.Fleet != nil {
		if len(gc.Fleet.ClusterSelector) > 0 {
			t.ClusterName = ""
			t.ClusterSelector = &labelSelector{MatchLabels: gc.Fleet.ClusterSelector}
		} else if gc.Fleet.ClusterName != "" {
			t.ClusterName = gc.Fleet.ClusterName
		}
	}
	return t
}

// fleetBundle returns the fleet.yaml of n (without targets) and its
// manifests, nil when Fleet renders the chart.
func (s *site) fleetBundle(g *clusterGraph, n *node, names map[string]string, mode string) (fleetYAML, []byte, error) {
	fy := fleetYAML{
		Labels:           n.labels(g.name),
		DefaultNamespace: n.namespace,
		Helm:             &fleetHelm{ReleaseName: n.name, TakeOwnership: g.namespaces[n.namespace] == n.name},
	}
	if s.fleetExplicitName(g, n, names[n.name]) {
		fy.Name = names[n.name]
	}
	if len(n.name) > maxReleaseName {
		return fy, nil, fmt.Errorf("the name is %d characters; Fleet installs a bundle as a Helm release, whose name is at most %d", len(n.name), maxReleaseName)
	}
	for _, d := range n.deps {
		fy.DependsOn = append(fy.DependsOn, fleetDependsOn{Name: names[d]})
	}
	if n.plan != nil {
		for _, d := range n.plan.IgnoreDifferences {
			if fy.Diff == nil {
				fy.Diff = &fleetDiff{}
			}
			fy.Diff.ComparePatches = append(fy.Diff.ComparePatches, fleetComparePatch{
				APIVersion: d.APIVersion, Kind: d.Kind, Name: d.Name, Namespace: d.Namespace, JSONPointers: d.JSONPointers,
			})
		}
	}
	if mode == ModeChart && n.plan != nil && n.plan.Chart != nil {
		if s.fleetChart(g, n, fy.Helm) {
			return fy, nil, nil
		}
	}
	data, err := render.MarshalYAML(n.bundle.Objects)
	if err != nil {
		return fy, nil, err
	}
	return fy, data, nil
}

// fleetChart points h at n's chart so that Fleet pulls and renders it, and
// reports whether it could: a chart from a local path, or whose values use
// deploy-time inputs, stays rendered.
func (s *site) fleetChart(g *clusterGraph, n *node, h *fleetHelm) bool {
	ch := n.plan.Chart
	if inputs := n.chartInputs(); len(inputs) > 0 {
		s.warnInputs(g, n, "fleet", inputs, "rendered")
		return false
	}
	switch {
	case strings.HasPrefix(ch.Repo, "oci://"):
		h.Chart = strings.TrimSuffix(ch.Repo, "/") + "/" + ch.Name
	case strings.HasPrefix(ch.Repo, "https://") || strings.HasPrefix(ch.Repo, "http://"):
		h.Repo = ch.Repo
		h.Chart = ch.Name
	default:
		s.warnf("cluster %s: bundle %s: fleet: the chart comes from the local path %s, which Fleet cannot pull: its manifests are written rendered", g.name, n.name, ch.Repo)
		return false
	}
	h.Version = ch.Version
	h.Values = ch.Values
	h.DisablePreProcess = containsPreProcess(ch.Values)
	h.SkipSchemaValidation = ch.SkipSchemaValidation
	return true
}

// containsPreProcess reports whether any string in values holds "${",
// which Fleet would read as its own template syntax.
func containsPreProcess(values plan.Object) bool {
	data, err := json.Marshal(values)
	return err == nil && bytes.Contains(data, []byte("${"))
}

// fleetBundleResource is n as a Fleet Bundle resource in workspace with
// its manifests embedded, compressed like fleet apply does when the Bundle
// is large, as plain data (JSON types, integers as int64).
func fleetBundleResource(name, workspace string, fy fleetYAML, target fleetTarget, manifests []byte) (map[string]any, error) {
	spec := fy
	spec.Name, spec.Labels = "", nil
	spec.Targets = []fleetTarget{target}
	spec.Resources = []fleetResource{{Name: "manifests.yaml", Content: string(manifests)}}
	bundle := map[string]any{
		"apiVersion": "fleet.cattle.io/v1alpha1",
		"kind":       "Bundle",
		"metadata":   map[string]any{"name": name, "namespace": workspace, "labels": fy.Labels},
		"spec":       spec,
	}
	data, err := yaml.Marshal(bundle)
	if err != nil {
		return nil, err
	}
	if len(data) >= fleetCompressAt {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(manifests); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		spec.Resources = []fleetResource{{Name: "manifests.yaml", Content: base64.StdEncoding.EncodeToString(buf.Bytes()), Encoding: "base64+gz"}}
		bundle["spec"] = spec
	}
	raw, err := json.Marshal(bundle)
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(raw, &obj); err != nil {
		return nil, err
	}
	return obj, nil
}

// fleetGitRepo writes gitrepo.yaml, a GitRepo reading every cluster's
// directory, when the repository is known.
func (s *site) fleetGitRepo() error {
	if s.gitops.Repo == "" {
		s.warnf("fleet: gitops.repo is not set, so gitrepo.yaml (the GitRepo that reads this output) is not written: set gitops.repo in the configuration or --git-repo")
		return nil
	}
	spec := map[string]any{"repo": s.gitops.Repo}
	if rev := s.gitops.Revision; rev != "" && rev != "HEAD" {
		if commitRE.MatchString(rev) {
			spec["revision"] = rev
		} else {
			spec["branch"] = rev
		}
	}
	// One GitRepo per workspace, reading the directories of its clusters:
	// Fleet deploys a GitRepo's bundles to clusters of its own workspace.
	paths := map[string][]string{}
	targets := map[string][]fleetTarget{}
	for _, g := range s.clusters {
		ws := s.fleetWorkspace(g)
		paths[ws] = append(paths[ws], s.repoPath(g.name))
		targets[ws] = append(targets[ws], fleetClusterTarget(g))
	}
	var docs [][]byte
	for _, ws := range slices.Sorted(maps.Keys(paths)) {
		one := maps.Clone(spec)
		one["paths"] = paths[ws]
		one["targets"] = targets[ws]
		doc, err := yaml.Marshal(map[string]any{
			"apiVersion": "fleet.cattle.io/v1alpha1",
			"kind":       "GitRepo",
			"metadata":   map[string]any{"name": s.gitops.Fleet.GitRepo, "namespace": ws},
			"spec":       one,
		})
		if err != nil {
			return err
		}
		docs = append(docs, doc)
	}
	data := bytes.Join(docs, []byte("---\n"))
	header := "# The Fleet GitRepo that deploys this output: kubectl apply -f gitrepo.yaml\n" +
		"# (HEAD: Fleet follows the repository's default branch, master unless given.)\n"
	if s.gitops.Revision != "HEAD" {
		header = "# The Fleet GitRepo that deploys this output: kubectl apply -f gitrepo.yaml\n"
	}
	s.put("gitrepo.yaml", append([]byte(header), data...))
	return nil
}

// joinDocs joins YAML documents into one stream.
func joinDocs(docs [][]byte) []byte {
	var b bytes.Buffer
	for _, d := range docs {
		b.WriteString("---\n")
		b.Write(d)
	}
	return b.Bytes()
}

// commitRE matches a full Git commit hash.
var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)
