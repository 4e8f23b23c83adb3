package emit

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// The intervals of the Flux objects wookie writes: how often Flux
// reconciles a Kustomization or HelmRelease (and corrects drift), how soon
// it retries a failed one, and how often it polls a chart source.
const (
	fluxInterval       = "10m"
	fluxRetryInterval  = "1m"
	fluxSourceInterval = "1h"
)

// helmChartLayer is the media type of a Helm chart's content layer in an
// OCI artifact.
const helmChartLayer = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"

// fluxMeta is the metadata of a Flux object.
type fluxMeta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// fluxKustomization is a Flux Kustomization
// (kustomize.toolkit.fluxcd.io/v1): the part wookie writes.
type fluxKustomization struct {
	APIVersion string                `json:"apiVersion"`
	Kind       string                `json:"kind"`
	Metadata   fluxMeta              `json:"metadata"`
	Spec       fluxKustomizationSpec `json:"spec"`
}

type fluxKustomizationSpec struct {
	Interval      string           `json:"interval"`
	RetryInterval string           `json:"retryInterval"`
	Path          string           `json:"path"`
	Prune         bool             `json:"prune"`
	Wait          bool             `json:"wait"`
	Timeout       string           `json:"timeout,omitempty"`
	SourceRef     fluxRef          `json:"sourceRef"`
	DependsOn     []fluxDependsOn  `json:"dependsOn,omitempty"`
	KubeConfig    *fluxKubeConfig  `json:"kubeConfig,omitempty"`
	Ignore        []fluxIgnoreRule `json:"ignore,omitempty"`
}

// fluxIgnoreRule names fields of the objects its target selects that the
// Kustomization neither reports as drift nor resets. The target's fields
// are regular expressions, matched whole.
type fluxIgnoreRule struct {
	Paths  []string           `json:"paths"`
	Target fluxIgnoreSelector `json:"target"`
}

type fluxIgnoreSelector struct {
	Group     string `json:"group,omitempty"`
	Version   string `json:"version,omitempty"`
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// fluxRef references a Flux object by kind and name, in the referrer's
// namespace unless Namespace is set.
type fluxRef struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

type fluxDependsOn struct {
	Name string `json:"name"`
}

type fluxKubeConfig struct {
	SecretRef fluxSecretRef `json:"secretRef"`
}

type fluxSecretRef struct {
	Name string `json:"name"`
}

// helmRelease is a Flux HelmRelease (helm.toolkit.fluxcd.io/v2): the part
// wookie writes.
type helmRelease struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   fluxMeta        `json:"metadata"`
	Spec       helmReleaseSpec `json:"spec"`
}

type helmReleaseSpec struct {
	ReleaseName      string             `json:"releaseName"`
	TargetNamespace  string             `json:"targetNamespace"`
	StorageNamespace string             `json:"storageNamespace"`
	Interval         string             `json:"interval"`
	Timeout          string             `json:"timeout,omitempty"`
	KubeConfig       *fluxKubeConfig    `json:"kubeConfig,omitempty"`
	Chart            *helmChartTemplate `json:"chart,omitempty"`
	ChartRef         *fluxRef           `json:"chartRef,omitempty"`
	Values           plan.Object        `json:"values,omitempty"`
	Install          helmInstall        `json:"install"`
	Upgrade          helmUpgrade        `json:"upgrade"`
}

type helmChartTemplate struct {
	Spec helmChartSpec `json:"spec"`
}

type helmChartSpec struct {
	Chart     string  `json:"chart"`
	Version   string  `json:"version,omitempty"`
	SourceRef fluxRef `json:"sourceRef"`
}

// helmInstall and helmUpgrade configure Helm's install and upgrade
// actions; DisableSchemaValidation skips checking the values against the
// chart's values.schema.json.
type helmInstall struct {
	CRDs                    string `json:"crds"`
	CreateNamespace         bool   `json:"createNamespace,omitempty"`
	DisableWait             bool   `json:"disableWait,omitempty"`
	DisableSchemaValidation bool   `json:"disableSchemaValidation,omitempty"`
}

type helmUpgrade struct {
	CRDs                    string `json:"crds"`
	DisableWait             bool   `json:"disableWait,omitempty"`
	DisableSchemaValidation bool   `json:"disableSchemaValidation,omitempty"`
}

// helmRepository is a Flux HelmRepository (source.toolkit.fluxcd.io/v1)
// of an HTTP chart repository.
type helmRepository struct {
	APIVersion string             `json:"apiVersion"`
	Kind       string             `json:"kind"`
	Metadata   fluxMeta           `json:"metadata"`
	Spec       helmRepositorySpec `json:"spec"`
}

type helmRepositorySpec struct {
	URL      string `json:"url"`
	Interval string `json:"interval"`
}

// ociRepository is a Flux OCIRepository (source.toolkit.fluxcd.io/v1)
// holding one chart.
type ociRepository struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   fluxMeta          `json:"metadata"`
	Spec       ociRepositorySpec `json:"spec"`
}

type ociRepositorySpec struct {
	URL           string           `json:"url"`
	Ref           ociRef           `json:"ref"`
	LayerSelector ociLayerSelector `json:"layerSelector"`
	Interval      string           `json:"interval"`
}

type ociRef struct {
	Tag string `json:"tag"`
}

type ociLayerSelector struct {
	MediaType string `json:"mediaType"`
	Operation string `json:"operation"`
}

// fluxDuration is the duration syntax of Flux's API (metav1.Duration with
// the pattern its CRDs enforce).
var fluxDuration = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`)

// flux builds the Flux layout of every cluster:
//
//	<cluster>/<batch>/<bundle>/manifests.yaml  the bundle's manifests, or
//	<cluster>/<batch>/<bundle>/helmrelease.yaml  its HelmRelease (--flux-mode chart)
//	<cluster>/flux/<bundle>.yaml               the bundle's Flux Kustomization
//	<cluster>/flux/sources.yaml                the HelmRepositories (chart mode)
//	<cluster>/flux/kustomization.yaml          all of the above, in deploy order
//
// The user points one Flux Kustomization at <cluster>/flux; every bundle's
// Kustomization then follows the ones it depends on.
func (s *site) flux() error {
	mode := or(s.opts.FluxMode, ModeRendered)
	if mode != ModeRendered && mode != ModeChart {
		return fmt.Errorf("flux: mode %q: want %s or %s", mode, ModeRendered, ModeChart)
	}
	for _, g := range s.clusters {
		if err := s.fluxCluster(g, mode); err != nil {
			return err
		}
	}
	return nil
}

// fluxCluster writes the Flux layout of one cluster.
func (s *site) fluxCluster(g *clusterGraph, mode string) error {
	var kubeConfig *fluxKubeConfig
	if gc := g.cluster.GitOps; gc != nil && gc.Flux != nil && gc.Flux.KubeConfigSecret != "" {
		kubeConfig = &fluxKubeConfig{SecretRef: fluxSecretRef{Name: gc.Flux.KubeConfigSecret}}
	}
	charts := map[string]bool{} // bundles Flux installs from their chart
	var repos []string          // HTTP repositories, in order of first use
	if mode == ModeChart {
		for _, n := range g.nodes {
			if n.plan == nil || n.plan.Chart == nil {
				continue
			}
			if inputs := n.chartInputs(); len(inputs) > 0 {
				s.warnInputs(g, n, "flux", inputs, "rendered")
				continue
			}
			switch repo := n.plan.Chart.Repo; {
			case strings.HasPrefix(repo, "oci://"):
				charts[n.name] = true
			case strings.HasPrefix(repo, "https://") || strings.HasPrefix(repo, "http://"):
				charts[n.name] = true
				if !slices.Contains(repos, repo) {
					repos = append(repos, repo)
				}
			default:
				s.warnf("cluster %s: bundle %s: flux: the chart comes from the local path %s, which Flux cannot pull: its manifests are written rendered", g.name, n.name, repo)
			}
		}
	}
	repoNames := repoNames(g.name+"-", repos)

	var resources []string
	if len(repos) > 0 {
		var docs [][]byte
		for _, repo := range repos {
			data, err := yaml.Marshal(helmRepository{
				APIVersion: "source.toolkit.fluxcd.io/v1",
				Kind:       "HelmRepository",
				Metadata:   fluxMeta{Name: repoNames[repo], Namespace: s.gitops.Flux.Namespace, Labels: map[string]string{"wookie.dev/cluster": g.name}},
				Spec:       helmRepositorySpec{URL: repo, Interval: fluxSourceInterval},
			})
			if err != nil {
				return err
			}
			docs = append(docs, data)
		}
		s.put(g.name+"/flux/sources.yaml", joinDocs(docs))
		resources = append(resources, "sources.yaml")
	}

	for _, n := range g.nodes {
		file := n.name + ".yaml"
		if file == "kustomization.yaml" || (file == "sources.yaml" && len(repos) > 0) {
			return fmt.Errorf("cluster %s: bundle %s: flux: its Kustomization would be written to %s/flux/%s, which wookie writes itself: rename the bundle", g.name, n.name, g.name, file)
		}
		if err := s.fluxBundle(g, n, charts[n.name], repoNames, kubeConfig); err != nil {
			return err
		}
		resources = append(resources, file)
	}

	data, err := yaml.Marshal(map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"resources":  resources,
	})
	if err != nil {
		return err
	}
	src := s.gitops.Flux.SourceKind + "/" + s.gitops.Flux.SourceName
	header := fmt.Sprintf("# The Flux objects that deploy cluster %s: a Kustomization per bundle, in deploy order.\n"+
		"# Point a Flux Kustomization in %s at this directory, for example:\n"+
		"#   flux create kustomization wookie-%s --namespace=%s --source=%s --path=./%s --prune=true --interval=%s\n",
		g.name, s.gitops.Flux.Namespace, g.name, s.gitops.Flux.Namespace, src, s.repoPath(g.name+"/flux"), fluxInterval)
	if kubeConfig != nil {
		header += fmt.Sprintf("# Flux runs in another cluster and reaches %s with the kubeconfig in the Secret %s; that\n"+
			"# Kustomization itself has no kubeConfig: the objects here live next to Flux.\n", g.name, kubeConfig.SecretRef.Name)
	}
	s.put(g.name+"/flux/kustomization.yaml", append([]byte(header), data...))
	return nil
}

// fluxBundle writes the files of one bundle: its manifests, or its
// HelmRelease when chart is set, and its Flux Kustomization.
func (s *site) fluxBundle(g *clusterGraph, n *node, chart bool, repoNames map[string]string, kubeConfig *fluxKubeConfig) error {
	name := g.name + "-" + n.name
	if len(name) > 63 {
		return fmt.Errorf("cluster %s: bundle %s: flux: Kustomization name %q is %d characters; Flux object names are DNS-1123 labels of at most 63: shorten the cluster or bundle name", g.name, n.name, name, len(name))
	}
	timeout := ""
	if n.plan != nil && n.plan.Timeout != "" {
		timeout = n.plan.Timeout
		if !fluxDuration.MatchString(timeout) {
			return fmt.Errorf("cluster %s: bundle %s: flux: timeout %q: Flux takes a duration of ms, s, m and h, like 90s or 1h30m", g.name, n.name, timeout)
		}
	}
	wait := n.plan == nil || n.plan.Wait == nil || *n.plan.Wait
	labels := n.labels(g.name)
	k := fluxKustomization{
		APIVersion: "kustomize.toolkit.fluxcd.io/v1",
		Kind:       "Kustomization",
		Metadata:   fluxMeta{Name: name, Namespace: s.gitops.Flux.Namespace, Labels: labels},
		Spec: fluxKustomizationSpec{
			Interval:      fluxInterval,
			RetryInterval: fluxRetryInterval,
			Path:          "./" + s.repoPath(n.dir(g.name)),
			Prune:         true,
			Wait:          wait,
			Timeout:       timeout,
			SourceRef:     fluxRef{Kind: s.gitops.Flux.SourceKind, Name: s.gitops.Flux.SourceName},
			KubeConfig:    kubeConfig,
		},
	}
	// Every bundle's order is carried by its Kustomization's dependsOn,
	// chart or not: a HelmRelease's own dependsOn can only name other
	// HelmReleases, so a chart could not follow a bundle of manifests. A
	// Kustomization with wait is ready once its HelmRelease is.
	for _, d := range n.deps {
		k.Spec.DependsOn = append(k.Spec.DependsOn, fluxDependsOn{Name: g.name + "-" + d})
	}
	if chart {
		data, err := s.fluxHelmRelease(g, n, name, labels, repoNames, kubeConfig, timeout, wait)
		if err != nil {
			return err
		}
		s.put(n.dir(g.name)+"/helmrelease.yaml", data)
		// The HelmRelease and its source live next to helm-controller,
		// which reaches a remote cluster with the HelmRelease's own
		// kubeConfig: the Kustomization writes them to Flux's cluster.
		k.Spec.KubeConfig = nil
	} else {
		data, err := s.fluxManifests(g, n)
		if err != nil {
			return err
		}
		s.put(n.dir(g.name)+"/manifests.yaml", data)
		k.Spec.Ignore = fluxIgnore(n)
	}
	data, err := yaml.Marshal(k)
	if err != nil {
		return err
	}
	s.put(g.name+"/flux/"+n.name+".yaml", data)
	return nil
}

// fluxPruneAnnotation, set to disabled on an object, keeps Flux from
// deleting it when it leaves its Kustomization.
const fluxPruneAnnotation = "kustomize.toolkit.fluxcd.io/prune"

// fluxManifests returns n's manifests for a Flux Kustomization, which
// builds them with kustomize: an object that a chart makes twice (as a hook
// and as a template) appears once, in its last and final form. Like
// wookie deploy, Flux keeps CRDs, Namespaces and PersistentVolumeClaims
// when they leave the bundle, unless it says prune: true. A Kustomization
// cannot create the namespace it applies into, so when no bundle n follows
// creates the namespace of n's objects, it comes first: created only if
// absent and never updated (so it does not fight the bundle that owns it
// later), and never pruned with n. The rendered objects stay untouched.
func (s *site) fluxManifests(g *clusterGraph, n *node) ([]byte, error) {
	last := map[string]int{}
	for i, o := range n.bundle.Objects {
		last[o.ID()] = i
	}
	keep := !fluxPrune(g, n)
	var objs []*render.Object
	inNamespace := false
	for i, o := range n.bundle.Objects {
		if last[o.ID()] != i {
			continue
		}
		if gvk := o.GroupVersionKind(); keep && protectedKind(gvk.Group, gvk.Kind) {
			c := *o
			c.Unstructured = o.DeepCopy()
			ann := c.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann[fluxPruneAnnotation] = "disabled"
			c.SetAnnotations(ann)
			o = &c
		}
		objs = append(objs, o)
		inNamespace = inNamespace || o.GetNamespace() == n.namespace
	}
	if inNamespace && g.needsNamespace(n) {
		ns := &render.Object{
			Unstructured: &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "v1",
				"kind":       "Namespace",
				"metadata": map[string]any{
					"name":   n.namespace,
					"labels": map[string]any{render.LabelCluster: g.name, render.LabelBundle: n.name},
					"annotations": map[string]any{
						"kustomize.toolkit.fluxcd.io/ssa": "IfNotPresent",
						fluxPruneAnnotation:               "disabled",
					},
				},
			}},
			Source: "wookie: the bundle's namespace, which no earlier bundle creates",
		}
		objs = append([]*render.Object{ns}, objs...)
	}
	data, err := render.MarshalYAML(objs)
	if err != nil {
		return nil, fmt.Errorf("cluster %s: bundle %s: %w", g.name, n.name, err)
	}
	return data, nil
}

// fluxPrune reports whether n lets its CRDs, Namespaces and
// PersistentVolumeClaims be deleted: a generated CRD bundle follows the
// bundle whose chart it comes from.
func fluxPrune(g *clusterGraph, n *node) bool {
	u := n.plan
	if u == nil {
		if owner := g.byName[strings.TrimSuffix(n.name, "-crds")]; owner != nil {
			u = owner.plan
		}
	}
	return u != nil && u.Prune
}

// protectedKind reports whether objects of a kind hold data that deleting
// them loses for good: CRDs (with every custom resource), Namespaces (with
// everything in them) and PersistentVolumeClaims.
func protectedKind(group, kind string) bool {
	switch {
	case group == "apiextensions.k8s.io" && kind == "CustomResourceDefinition":
		return true
	case group == "" && (kind == "Namespace" || kind == "PersistentVolumeClaim"):
		return true
	}
	return false
}

// fluxHelmRelease returns helmrelease.yaml of a chart bundle: its
// HelmRelease, after its OCIRepository for a chart from a registry (a
// chart from an HTTP repository uses the cluster's shared HelmRepository).
func (s *site) fluxHelmRelease(g *clusterGraph, n *node, name string, labels map[string]string, repoNames map[string]string, kubeConfig *fluxKubeConfig, timeout string, wait bool) ([]byte, error) {
	ch := n.plan.Chart
	ns := s.gitops.Flux.Namespace
	crds := "CreateReplace"
	if n.plan.CRDs == plan.CRDsSkip || g.separateCRDs(n) {
		crds = "Skip"
	}
	hr := helmRelease{
		APIVersion: "helm.toolkit.fluxcd.io/v2",
		Kind:       "HelmRelease",
		Metadata:   fluxMeta{Name: name, Namespace: ns, Labels: labels},
		Spec: helmReleaseSpec{
			ReleaseName:      n.name,
			TargetNamespace:  n.namespace,
			StorageNamespace: n.namespace,
			Interval:         fluxInterval,
			Timeout:          timeout,
			KubeConfig:       kubeConfig,
			// Flux substitutes ${var} only with a Kustomization's
			// postBuild, which wookie never sets: values stay verbatim.
			Values:  ch.Values,
			Install: helmInstall{CRDs: crds, CreateNamespace: g.needsNamespace(n), DisableWait: !wait, DisableSchemaValidation: ch.SkipSchemaValidation},
			Upgrade: helmUpgrade{CRDs: crds, DisableWait: !wait, DisableSchemaValidation: ch.SkipSchemaValidation},
		},
	}
	var docs [][]byte
	if strings.HasPrefix(ch.Repo, "oci://") {
		// The lock file's digest is the chart archive's, not the OCI
		// manifest's, so the artifact is pinned by its tag. Helm turns
		// a version's + into _ in OCI tags.
		data, err := yaml.Marshal(ociRepository{
			APIVersion: "source.toolkit.fluxcd.io/v1",
			Kind:       "OCIRepository",
			Metadata:   fluxMeta{Name: name, Namespace: ns, Labels: labels},
			Spec: ociRepositorySpec{
				URL:           strings.TrimSuffix(ch.Repo, "/") + "/" + ch.Name,
				Ref:           ociRef{Tag: strings.ReplaceAll(ch.Version, "+", "_")},
				LayerSelector: ociLayerSelector{MediaType: helmChartLayer, Operation: "copy"},
				Interval:      fluxSourceInterval,
			},
		})
		if err != nil {
			return nil, err
		}
		docs = append(docs, data)
		hr.Spec.ChartRef = &fluxRef{Kind: "OCIRepository", Name: name, Namespace: ns}
	} else {
		hr.Spec.Chart = &helmChartTemplate{Spec: helmChartSpec{
			Chart:     ch.Name,
			Version:   ch.Version,
			SourceRef: fluxRef{Kind: "HelmRepository", Name: repoNames[ch.Repo], Namespace: ns},
		}}
	}
	data, err := yaml.Marshal(hr)
	if err != nil {
		return nil, err
	}
	return joinDocs(append(docs, data)), nil
}

// fluxIgnore turns n's ignoreDifferences into ignore rules of its
// Kustomization, which Flux reads from 2.9 on (kustomize-controller 1.9):
// a field something changes at run time, like a webhook's failurePolicy,
// is neither reported as drift nor reset on every reconcile. Flux before
// 2.9 drops the rules and resets such a field. An object given without a
// namespace is selected in the namespace it is rendered in.
func fluxIgnore(n *node) []fluxIgnoreRule {
	if n.plan == nil {
		return nil
	}
	var rules []fluxIgnoreRule
	for _, d := range n.plan.IgnoreDifferences {
		gv, err := schema.ParseGroupVersion(d.APIVersion)
		if err != nil {
			gv = schema.GroupVersion{Version: d.APIVersion}
		}
		ns := d.Namespace
		if ns == "" {
			for _, o := range n.bundle.Objects {
				if o.GetAPIVersion() == d.APIVersion && o.GetKind() == d.Kind && o.GetName() == d.Name &&
					(o.GetNamespace() == "" || o.GetNamespace() == n.namespace) {
					ns = o.GetNamespace()
					break
				}
			}
		}
		t := fluxIgnoreSelector{Version: regexp.QuoteMeta(gv.Version), Kind: regexp.QuoteMeta(d.Kind), Name: regexp.QuoteMeta(d.Name)}
		if gv.Group != "" {
			t.Group = regexp.QuoteMeta(gv.Group)
		}
		if ns != "" {
			t.Namespace = regexp.QuoteMeta(ns)
		}
		rules = append(rules, fluxIgnoreRule{Paths: d.JSONPointers, Target: t})
	}
	return rules
}
