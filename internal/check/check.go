package check

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// The rules, by the names checks.skip uses (plan.CheckRules).
const (
	// RuleSchema: an object against its type: the built-in API structs of
	// client-go (unknown fields, wrong types, duplicate list keys, missing
	// required fields), or the openAPIV3Schema of its CRD in the Plan
	// (including CEL rules and unknown fields).
	RuleSchema = "schema"
	// RuleMetadata: names, labels and annotations the API server accepts.
	RuleMetadata = "metadata"
	// RuleKind: kinds and versions the cluster serves: built in, defined by
	// a CRD in the Plan, or declared in provides.kinds or resourceScopes.
	RuleKind = "kind"
	// RuleNamespace: every namespace an object goes to exists: a bundle's
	// namespace, a Namespace in the Plan, a namespace every cluster has,
	// or one the cluster declares in provides.namespaces.
	RuleNamespace = "namespace"
	// RuleCRDOrder: a custom resource is deployed after the CRD defining
	// it: in the same bundle, an earlier batch or a bundle it depends on.
	RuleCRDOrder = "crd-order"
	// RuleSecret: no PEM private key in the rendered output, which GitOps
	// outputs put into Git (an error), and no Secret with data, which
	// render and the GitOps outputs leave out, so a GitOps engine would
	// lack it (a warning naming the template that made it). Sensitive
	// bundles, which only wookie deploy applies, are exempt.
	RuleSecret = "secret"
	// RuleInput: no deploy-time input reference left in an object: a
	// GitOps engine would apply it as written. Render leaves such objects
	// out; the rule is a safety net.
	RuleInput = "input"
	// RuleServiceSelector (warning): a Service with a selector selects pod
	// templates of its own bundle.
	RuleServiceSelector = "service-selector"
	// RuleImageTag (warning): images are pinned by a tag other than latest
	// or by digest.
	RuleImageTag = "image-tag"
)

// Severity is how much a finding matters.
type Severity string

// The severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// severities gives each rule's severity.
var severities = map[string]Severity{
	RuleSchema: Error, RuleMetadata: Error, RuleKind: Error, RuleNamespace: Error,
	RuleCRDOrder: Error, RuleSecret: Error, RuleInput: Error, RuleServiceSelector: Warning, RuleImageTag: Warning,
}

// ReportAPIVersion and ReportKind identify a Report in JSON.
const (
	ReportAPIVersion = "wookie.dev/v1alpha1"
	ReportKind       = "CheckReport"
)

// Report is the result of Run.
type Report struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Errors and Warnings count the findings not skipped, by severity.
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	// Skipped counts the findings a checks.skip hid.
	Skipped int `json:"skipped"`
	// Objects counts the objects checked.
	Objects int `json:"objects"`
	// Findings are in deploy order: cluster, batch, bundle, object, then
	// errors before warnings, by rule and path.
	Findings []Finding `json:"findings"`
	// UnusedSkips are checks.skip entries that hid nothing.
	UnusedSkips []string `json:"unusedSkips,omitempty"`
}

// Finding is one problem of one object.
type Finding struct {
	Cluster string `json:"cluster"`
	Batch   string `json:"batch"`
	Bundle  string `json:"bundle"`
	// Object is the object: Kind.group namespace/name.
	Object string `json:"object"`
	// Source is the chart template or manifests[i] it came from.
	Source   string   `json:"source,omitempty"`
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// Path is the field the finding is about, if one is.
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
	// Skipped is the reason of the checks.skip entry that hides the
	// finding; skipped findings do not count.
	Skipped string `json:"skipped,omitempty"`

	// order sorts findings: batch, bundle and object indexes.
	order [4]int
}

// Failed tells whether r has errors, or with strict any warning.
func (r *Report) Failed(strict bool) bool {
	return r.Errors > 0 || strict && r.Warnings > 0
}

// Options configure Run.
type Options struct {
	// CacheDir, when set, keeps the verdicts on CRDs under CacheDir/check,
	// by the CRD's content: validating a CRD compiles its CEL rules, the
	// most expensive part of a check (Istio's CRDs take about 100 ms), and
	// charts' CRDs rarely change.
	CacheDir string
	// Version is wookie's version; it is part of the cache key.
	Version string
}

// Run checks every object of res, the rendering of p. It fails only when
// the Plan itself cannot be checked (an unsupported Kubernetes version);
// problems of objects are findings.
func Run(p *plan.Plan, res *render.Result, opts Options) (*Report, error) {
	r := &Report{APIVersion: ReportAPIVersion, Kind: ReportKind, Findings: []Finding{}}
	planClusters := map[string]*plan.Cluster{}
	for i := range p.Clusters {
		planClusters[p.Clusters[i].Name] = &p.Clusters[i]
	}
	for ci := range res.Clusters {
		rc := &res.Clusters[ci]
		pc := planClusters[rc.Name]
		if pc == nil {
			return nil, fmt.Errorf("cluster %s: not in the Plan", rc.Name)
		}
		c, err := newClusterCheck(pc, rc)
		c.crdProblems = crdCache{dir: opts.CacheDir, version: opts.Version}.all(rc)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", rc.Name, err)
		}
		c.order = ci
		c.run()
		for _, b := range rc.Batches {
			for _, u := range b.Bundles {
				r.Objects += len(u.Objects)
			}
		}
		r.Findings = append(r.Findings, c.findings...)
		r.UnusedSkips = append(r.UnusedSkips, c.unusedSkips()...)
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(slices.Compare(a.order[:], b.order[:]), strings.Compare(string(a.Severity), string(b.Severity)),
			strings.Compare(a.Rule, b.Rule), strings.Compare(a.Path, b.Path), strings.Compare(a.Message, b.Message))
	})
	for _, f := range r.Findings {
		switch {
		case f.Skipped != "":
			r.Skipped++
		case f.Severity == Error:
			r.Errors++
		default:
			r.Warnings++
		}
	}
	return r, nil
}

// clusterCheck checks one cluster.
type clusterCheck struct {
	pc    *plan.Cluster
	rc    *render.Cluster
	order int
	api   *render.KubeAPI
	// builtin maps a built-in Kind.group to the apiVersions serving it.
	builtin map[string][]string
	// bundles are the Plan's bundles by name.
	bundles map[string]*plan.Bundle
	// position of every rendered bundle: batch and bundle index.
	position map[string][2]int
	// before lists, per bundle, the bundles deployed before it starts.
	before map[string]map[string]bool
	// namespaces that exist or that a bundle creates.
	namespaces map[string]bool
	crds       *crdIndex
	// crdProblems are the problems of the cluster's CRD objects.
	crdProblems map[*render.Object][]problem
	// skipsUsed marks the checks.skip entries that hid a finding, by
	// bundle name and index.
	skipsUsed map[string]map[int]bool
	findings  []Finding
}

// alwaysThere are the namespaces every cluster has.
var alwaysThere = []string{"default", "kube-node-lease", "kube-public", "kube-system"}

func newClusterCheck(pc *plan.Cluster, rc *render.Cluster) (*clusterCheck, error) {
	api, builtin, err := builtinKinds(pc.KubeVersion)
	if err != nil {
		return nil, err
	}
	c := &clusterCheck{
		pc: pc, rc: rc, api: api,
		builtin:    builtin,
		bundles:    map[string]*plan.Bundle{},
		position:   map[string][2]int{},
		before:     map[string]map[string]bool{},
		namespaces: map[string]bool{},
		skipsUsed:  map[string]map[int]bool{},
	}
	for bi := range pc.Batches {
		for ui := range pc.Batches[bi].Bundles {
			u := &pc.Batches[bi].Bundles[ui]
			c.bundles[u.Name] = u
		}
	}
	for _, ns := range alwaysThere {
		c.namespaces[ns] = true
	}
	if pc.Provides != nil {
		for _, ns := range pc.Provides.Namespaces {
			c.namespaces[ns] = true
		}
	}
	// Deploy order: every bundle of an earlier batch, and inside a batch
	// the bundles a bundle depends on, transitively.
	earlier := map[string]bool{}
	for bi := range rc.Batches {
		b := &rc.Batches[bi]
		deps := map[string][]string{}
		for ui := range b.Bundles {
			u := &b.Bundles[ui]
			c.position[u.Name] = [2]int{bi, ui}
			deps[u.Name] = u.DependsOn
			if u.Namespace != "" {
				c.namespaces[u.Namespace] = true
			}
			for _, o := range u.Objects {
				if o.GetKind() == "Namespace" && o.GetAPIVersion() == "v1" {
					c.namespaces[o.GetName()] = true
				}
			}
		}
		for ui := range b.Bundles {
			name := b.Bundles[ui].Name
			set := map[string]bool{}
			for k := range earlier {
				set[k] = true
			}
			queue := slices.Clone(deps[name])
			for len(queue) > 0 {
				d := queue[0]
				queue = queue[1:]
				if !set[d] {
					set[d] = true
					queue = append(queue, deps[d]...)
				}
			}
			c.before[name] = set
		}
		for ui := range b.Bundles {
			earlier[b.Bundles[ui].Name] = true
		}
	}
	c.crds = newCRDIndex(rc)
	return c, nil
}

// builtinCache keeps builtinKinds' results by Kubernetes version.
var builtinCache sync.Map // string -> builtinEntry

type builtinEntry struct {
	api   *render.KubeAPI
	kinds map[string][]string
}

// builtinKinds returns the built-in API of a Kubernetes version and the
// apiVersions serving each of its kinds, by Kind.group. The result is
// shared: callers must not change it.
func builtinKinds(kubeVersion string) (*render.KubeAPI, map[string][]string, error) {
	if e, ok := builtinCache.Load(kubeVersion); ok {
		return e.(builtinEntry).api, e.(builtinEntry).kinds, nil
	}
	api, err := render.BuiltinAPI(kubeVersion)
	if err != nil {
		return nil, nil, err
	}
	kinds := map[string][]string{}
	for _, gvk := range api.GroupVersionKinds() {
		i := strings.LastIndex(gvk, "/")
		gv, kind := strings.TrimPrefix(gvk[:i], "/"), gvk[i+1:]
		g := groupKind(schema.FromAPIVersionAndKind(gv, kind).GroupKind())
		kinds[g] = append(kinds[g], gv)
	}
	builtinCache.Store(kubeVersion, builtinEntry{api, kinds})
	return api, kinds, nil
}

// run checks every object of the cluster.
func (c *clusterCheck) run() {
	for bi := range c.rc.Batches {
		b := &c.rc.Batches[bi]
		for ui := range b.Bundles {
			u := &b.Bundles[ui]
			for oi, o := range u.Objects {
				at := target{batch: b.Name, bundle: u, object: o, order: [4]int{c.order, bi, ui, oi}}
				for _, p := range c.checkObject(u, o) {
					c.add(at, p)
				}
			}
		}
	}
}

// target is what a finding is about.
type target struct {
	batch  string
	bundle *render.Bundle
	object *render.Object
	order  [4]int
}

// problem is a finding before it is placed.
type problem struct {
	rule string
	// severity, when set, overrides the rule's.
	severity Severity
	path     string
	message  string
}

// add records p as a finding about at, hidden when a checks.skip entry of
// the bundle matches it.
func (c *clusterCheck) add(at target, p problem) {
	f := Finding{
		Cluster: c.rc.Name, Batch: at.batch, Bundle: at.bundle.Name,
		Object: at.object.ID(), Source: at.object.Source,
		Rule: p.rule, Severity: cmp.Or(p.severity, severities[p.rule]), Path: p.path, Message: p.message,
		order: at.order,
	}
	owner := c.owner(at.bundle)
	if owner != nil && owner.Checks != nil {
		for i, s := range owner.Checks.Skip {
			if s.Rule == p.rule && (s.Kind == "" || s.Kind == at.object.GetKind()) && (s.Name == "" || s.Name == at.object.GetName()) {
				f.Skipped = s.Reason
				if c.skipsUsed[owner.Name] == nil {
					c.skipsUsed[owner.Name] = map[int]bool{}
				}
				c.skipsUsed[owner.Name][i] = true
				break
			}
		}
	}
	c.findings = append(c.findings, f)
}

// owner is the Plan bundle whose checks settings apply to a rendered
// bundle: itself, or for a generated <name>-crds bundle the chart bundle
// its CRDs came from.
func (c *clusterCheck) owner(u *render.Bundle) *plan.Bundle {
	if pb := c.bundles[u.Name]; pb != nil {
		return pb
	}
	if u.Generated {
		return c.bundles[strings.TrimSuffix(u.Name, "-crds")]
	}
	return nil
}

// unusedSkips names the checks.skip entries of the cluster that hid
// nothing.
func (c *clusterCheck) unusedSkips() []string {
	var out []string
	for bi := range c.pc.Batches {
		for _, u := range c.pc.Batches[bi].Bundles {
			if u.Checks == nil {
				continue
			}
			for i, s := range u.Checks.Skip {
				if !c.skipsUsed[u.Name][i] {
					out = append(out, fmt.Sprintf("cluster %s: bundle %s: checks.skip[%d] (rule %s) hides nothing: remove it", c.pc.Name, u.Name, i, s.Rule))
				}
			}
		}
	}
	return out
}

// groupKind writes a group kind as Kind.group, or Kind for the core group.
func groupKind(gk schema.GroupKind) string {
	if gk.Group == "" {
		return gk.Kind
	}
	return gk.Kind + "." + gk.Group
}
