package emit

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// helmfileTimeout is the timeout of every release, in seconds, unless its
// bundle sets one: deploy's default of five minutes.
const helmfileTimeout = 300

// helmReleaseName matches what Helm accepts as a release name: a DNS-1123
// subdomain (its length is checked apart).
var helmReleaseName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// helmfileState is the part of a helmfile.yaml (helmfile v1, plain YAML)
// that wookie writes: the root file lists the clusters' files, a
// cluster's file holds its repositories and releases.
type helmfileState struct {
	Helmfiles    []helmfileSub        `json:"helmfiles,omitempty"`
	Repositories []helmfileRepository `json:"repositories,omitempty"`
	HelmDefaults *helmfileDefaults    `json:"helmDefaults,omitempty"`
	Releases     []helmfileRelease    `json:"releases,omitempty"`
}

type helmfileSub struct {
	Path string `json:"path"`
}

type helmfileRepository struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	OCI  bool   `json:"oci,omitempty"`
}

type helmfileDefaults struct {
	KubeContext string `json:"kubeContext"`
	Wait        bool   `json:"wait"`
	WaitForJobs bool   `json:"waitForJobs"`
	Timeout     int    `json:"timeout"`
}

type helmfileRelease struct {
	Name            string            `json:"name"`
	Namespace       string            `json:"namespace"`
	Chart           string            `json:"chart"`
	Version         string            `json:"version,omitempty"`
	CreateNamespace bool              `json:"createNamespace"`
	TakeOwnership   bool              `json:"takeOwnership,omitempty"`
	SkipDeps        bool              `json:"skipDeps,omitempty"`
	Wait            *bool             `json:"wait,omitempty"`
	Timeout         *int              `json:"timeout,omitempty"`
	Labels          map[string]string `json:"labels"`
	Needs           []string          `json:"needs,omitempty"`
	Values          []plan.Object     `json:"values,omitempty"`
	// SkipSchemaValidation makes helmfile pass --skip-schema-validation
	// to helm template, diff and upgrade (helmfile lint does not).
	SkipSchemaValidation bool `json:"skipSchemaValidation,omitempty"`
}

// helmfile builds the Helmfile layout: <cluster>/helmfile.yaml with a
// release per bundle in deploy order, <cluster>/charts/<bundle> for every
// bundle Helm installs from manifests wookie rendered, and helmfile.yaml
// at the root listing the clusters' files in Plan order.
func (s *site) helmfile() error {
	var root helmfileState
	for _, g := range s.clusters {
		if err := s.helmfileCluster(g); err != nil {
			return err
		}
		root.Helmfiles = append(root.Helmfiles, helmfileSub{Path: g.name + "/helmfile.yaml"})
	}
	data, err := yaml.Marshal(root)
	if err != nil {
		return err
	}
	header := "# Every cluster's Helm releases, cluster by cluster, written by wookie.\n" +
		"# Deploy them all with: helmfile --file helmfile.yaml sync\n" +
		"# Plain YAML: helmfile v1 does not template it (keep the .yaml name).\n"
	s.put("helmfile.yaml", append([]byte(header), data...))
	return nil
}

// helmfileCluster writes the helmfile.yaml of one cluster and its local
// charts.
func (s *site) helmfileCluster(g *clusterGraph) error {
	var remote []string // chart repositories, in order of first use
	for _, n := range g.nodes {
		if repo := helmfileRemoteRepo(n); repo != "" && !slices.Contains(remote, repo) {
			remote = append(remote, repo)
		}
	}
	repoNames := repoNames("", remote)
	st := helmfileState{
		HelmDefaults: &helmfileDefaults{KubeContext: g.cluster.Context, Wait: true, WaitForJobs: true, Timeout: helmfileTimeout},
	}
	for _, repo := range remote {
		r := helmfileRepository{Name: repoNames[repo], URL: repo}
		if rest, ok := strings.CutPrefix(repo, "oci://"); ok {
			r.URL, r.OCI = strings.TrimSuffix(rest, "/"), true
		}
		st.Repositories = append(st.Repositories, r)
	}
	for _, n := range g.nodes {
		rel, err := s.helmfileRelease(g, n, repoNames)
		if err != nil {
			return fmt.Errorf("cluster %s: bundle %s: helmfile: %w", g.name, n.name, err)
		}
		st.Releases = append(st.Releases, rel)
	}
	data, err := yaml.Marshal(st)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("# The Helm releases of cluster %s in deploy order, written by wookie: needs\n"+
		"# carries every bundle's dependsOn and the batch order.\n"+
		"# Deploy with: helmfile --file %s/helmfile.yaml sync\n"+
		"# Plain YAML: helmfile v1 does not template it (keep the .yaml name).\n", g.name, g.name)
	s.put(g.name+"/helmfile.yaml", append([]byte(header), data...))
	return nil
}

// helmfileRelease returns n's release; for a bundle Helm cannot pull it
// writes the local chart the release installs.
func (s *site) helmfileRelease(g *clusterGraph, n *node, repoNames map[string]string) (helmfileRelease, error) {
	if len(n.name) > maxReleaseName {
		return helmfileRelease{}, fmt.Errorf("release name %q is %d characters; Helm allows at most %d: shorten the bundle name", n.name, len(n.name), maxReleaseName)
	}
	if !helmReleaseName.MatchString(n.name) {
		return helmfileRelease{}, fmt.Errorf("release name %q is not a DNS-1123 subdomain, as Helm wants: rename the bundle", n.name)
	}
	rel := helmfileRelease{
		Name:      n.name,
		Namespace: n.namespace,
		// Helm keeps the release record in its namespace, which must exist
		// before the release's own objects do: a bundle creating its own
		// namespace lets Helm create it first.
		CreateNamespace: g.needsNamespace(n) || g.namespaces[n.namespace] == n.name,
		Labels:          map[string]string{},
	}
	for _, o := range n.bundle.Objects {
		// A namespace may exist already, made by Helm for an earlier
		// release or by hand: Helm then installs the Namespace object
		// only when told to take it over.
		if o.GetAPIVersion() == "v1" && o.GetKind() == "Namespace" {
			rel.TakeOwnership = true
		}
	}
	// Helmfile renders label values as templates, even in plain YAML.
	if n.plan != nil {
		for k, v := range n.plan.Labels {
			rel.Labels[k] = helmTemplateEscape(v)
		}
	}
	maps.Copy(rel.Labels, n.labels(g.name))
	for _, d := range n.deps {
		rel.Needs = append(rel.Needs, g.byName[d].namespace+"/"+d)
	}
	if n.plan != nil {
		if n.plan.Wait != nil && !*n.plan.Wait {
			rel.Wait = new(false)
		}
		if n.plan.Timeout != "" {
			d, err := time.ParseDuration(n.plan.Timeout)
			if err != nil || d <= 0 {
				return rel, fmt.Errorf("timeout %q: want a positive Go duration, like 90s or 5m", n.plan.Timeout)
			}
			rel.Timeout = new(int((d + time.Second - 1) / time.Second))
		}
	}
	if repo := helmfileRemoteRepo(n); repo != "" {
		ch := n.plan.Chart
		// Helmfile renders chart and version as templates, even in plain
		// YAML; values given inline it passes on as they are.
		rel.Chart = helmTemplateEscape(repoNames[repo] + "/" + ch.Name)
		rel.Version = helmTemplateEscape(ch.Version)
		if len(ch.Values) > 0 {
			rel.Values = []plan.Object{ch.Values}
		}
		rel.SkipSchemaValidation = ch.SkipSchemaValidation
		if n.plan.CRDs == plan.CRDsSkip {
			s.warnf("cluster %s: bundle %s: helmfile: the bundle skips its chart's CRDs, which Helm installs anyway unless you run helmfile sync --skip-crds (helmfile has no such setting per release)", g.name, n.name)
		}
		return rel, nil
	}
	if inputs := n.chartInputs(); len(inputs) > 0 {
		s.warnInputs(g, n, "helmfile", inputs, "rendered, as the local chart charts/"+n.name)
	} else if n.plan != nil && n.plan.Chart != nil {
		s.warnf("cluster %s: bundle %s: helmfile: the chart comes from the local path %s: it is written rendered, as the local chart charts/%s", g.name, n.name, n.plan.Chart.Repo, n.name)
	}
	if err := s.helmfileLocalChart(g, n); err != nil {
		return rel, err
	}
	rel.Chart = "./charts/" + n.name
	// The chart has no dependencies: nothing for helm dependency build.
	rel.SkipDeps = true
	return rel, nil
}

// helmfileLocalChart writes <cluster>/charts/<bundle>: a chart whose one
// template holds n's rendered manifests, with every {{ escaped so that
// Helm renders them back exactly.
func (s *site) helmfileLocalChart(g *clusterGraph, n *node) error {
	chart, err := yaml.Marshal(map[string]any{
		"apiVersion":  "v2",
		"name":        n.name,
		"version":     "0.0.0",
		"type":        "application",
		"description": fmt.Sprintf("The manifests wookie rendered for bundle %s of cluster %s; generated, do not edit.", n.name, g.name),
	})
	if err != nil {
		return err
	}
	manifests, err := render.MarshalYAML(n.bundle.Objects)
	if err != nil {
		return err
	}
	dir := g.name + "/charts/" + n.name
	s.put(dir+"/Chart.yaml", chart)
	s.put(dir+"/templates/manifests.yaml", []byte(helmTemplateEscape(string(manifests))))
	return nil
}

// helmTemplateEscape makes s a Go template that renders to s: every {{
// becomes an action printing it.
func helmTemplateEscape(s string) string {
	return strings.ReplaceAll(s, "{{", `{{ "{{" }}`)
}

// helmfileRemoteRepo returns the repository of n's chart when Helm pulls
// it (an http(s) repository or an oci:// registry, with values free of
// deploy-time inputs), else "".
func helmfileRemoteRepo(n *node) string {
	if n.plan == nil || n.plan.Chart == nil || len(n.chartInputs()) > 0 {
		return ""
	}
	repo := n.plan.Chart.Repo
	if strings.HasPrefix(repo, "oci://") || strings.HasPrefix(repo, "https://") || strings.HasPrefix(repo, "http://") {
		return repo
	}
	return ""
}
