package plan

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/validate/content"

	"wookie.dev/wookie/internal/errtext"
)

// maxReleaseName is the longest Helm release name, and so the longest name of
// a chart bundle.
const maxReleaseName = 53

var (
	// semverRE is a semantic version (semver.org 2.0.0) with an optional
	// leading "v".
	semverRE = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)` +
		`(-(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?` +
		`(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$`)
	// digestRE is a chart digest.
	digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// validator collects the problems of one Plan.
type validator struct {
	errs Errors
}

// add records a problem.
func (v *validator) add(e Error) {
	v.errs = append(v.errs, &e)
}

// validate returns every problem of p, unsorted. It does not change p.
func validate(p *Plan) Errors {
	var v validator
	quote := func(s string) string {
		if s == "" {
			return ""
		}
		return strconv.Quote(s)
	}
	if p.APIVersion != APIVersion {
		v.add(Error{Field: "apiVersion", Msg: wrongValue(quote(p.APIVersion), APIVersion)})
	}
	if p.Kind != Kind {
		v.add(Error{Field: "kind", Msg: wrongValue(quote(p.Kind), Kind)})
	}
	v.gitops(p.GitOps, p.Clusters)
	names := map[string]int{}
	for i := range p.Clusters {
		c := &p.Clusters[i]
		v.cluster(c, entryName(c.Name, i))
		if c.Name != "" {
			names[c.Name]++
		}
	}
	for name, n := range names {
		if n > 1 {
			v.add(Error{Cluster: name, Field: "name", Msg: fmt.Sprintf("used by %d clusters", n)})
		}
	}
	v.k3dAcrossClusters(p.Clusters)
	v.clusterLinks(p.Clusters)
	return v.errs
}

// entryName is name, or "#<i>" for an entry without one.
func entryName(name string, i int) string {
	if name == "" {
		return "#" + strconv.Itoa(i)
	}
	return name
}

// bundleRef is where a bundle of a cluster is: its batch.
type bundleRef struct {
	batch *Batch
	// batchName is the batch's name for messages ("#<i>" if it has none).
	batchName string
}

// cluster checks c, named cname in messages.
func (v *validator) cluster(c *Cluster, cname string) {
	v.dnsLabel(Error{Cluster: cname, Field: "name"}, c.Name)
	if c.Target == "" {
		v.add(Error{Cluster: cname, Field: "target", Msg: "required"})
	}
	if c.Context == "" {
		v.add(Error{Cluster: cname, Field: "context", Msg: "required"})
	}
	switch {
	case c.KubeVersion == "":
		v.add(Error{Cluster: cname, Field: "kubeVersion", Msg: "required"})
	case !semverRE.MatchString(c.KubeVersion):
		v.add(Error{Cluster: cname, Field: "kubeVersion",
			Msg: fmt.Sprintf("%q is not a version MAJOR.MINOR.PATCH (e.g. 1.31.4)", c.KubeVersion)})
	}

	v.k3d(c, cname)
	v.clusterGitOps(c.GitOps, cname)
	if c.Provides != nil {
		for i, ns := range c.Provides.Namespaces {
			v.dnsLabel(Error{Cluster: cname, Field: fmt.Sprintf("provides.namespaces[%d]", i)}, ns)
		}
		for _, e := range scopeProblems(c.Provides.Kinds) {
			v.add(Error{Cluster: cname, Field: "provides.kinds", Msg: e})
		}
	}
	batchNames := map[string]int{}
	bundles := map[string][]bundleRef{}
	for bi := range c.Batches {
		b := &c.Batches[bi]
		bname := entryName(b.Name, bi)
		v.dnsLabel(Error{Cluster: cname, Batch: bname, Field: "name"}, b.Name)
		if b.Name != "" {
			batchNames[b.Name]++
		}
		for ui := range b.Bundles {
			u := &b.Bundles[ui]
			v.bundle(Error{Cluster: cname, Batch: bname, Bundle: entryName(u.Name, ui)}, u)
			if u.Name != "" {
				bundles[u.Name] = append(bundles[u.Name], bundleRef{batch: b, batchName: bname})
			}
		}
	}
	for name, n := range batchNames {
		if n > 1 {
			v.add(Error{Cluster: cname, Batch: name, Field: "name", Msg: fmt.Sprintf("used by %d batches", n)})
		}
	}
	for name, refs := range bundles {
		if len(refs) > 1 {
			v.add(Error{Cluster: cname, Bundle: name, Field: "name", Msg: duplicateBundle(refs)})
		}
	}
	v.dependsOn(c, cname, bundles)
}

// duplicateBundle says where the bundles that share a name are.
func duplicateBundle(refs []bundleRef) string {
	batches := make([]string, len(refs))
	for i, r := range refs {
		batches[i] = r.batchName
	}
	slices.Sort(batches)
	if batches[0] == batches[len(batches)-1] {
		return fmt.Sprintf("used by %d bundles in batch %s", len(refs), batches[0])
	}
	return fmt.Sprintf("used by %d bundles, in batches %s", len(refs), strings.Join(batches, ", "))
}

// bundle checks the fields of u that need no other bundle. at names u.
func (v *validator) bundle(at Error, u *Bundle) {
	with := func(field, msg string) {
		e := at
		e.Field, e.Msg = field, msg
		v.add(e)
	}
	at.Field = "name"
	nameOK := v.dnsLabel(at, u.Name)
	at.Field = "namespace"
	v.dnsLabel(at, u.Namespace)

	hasChart, hasManifests := u.Chart != nil, len(u.Manifests) > 0
	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{{"chart", hasChart}, {"manifests", hasManifests}, {"generate", u.Generate != nil}} {
		if f.set {
			set = append(set, f.name)
		}
	}
	switch len(set) {
	case 0:
		with("", "has none of chart, manifests and generate; set exactly one")
	case 2:
		with("", fmt.Sprintf("has both %s and %s; set exactly one", set[0], set[1]))
	case 3:
		with("", "has chart, manifests and generate; set exactly one")
	}
	if u.Generate != nil {
		v.generate(at, u.Generate)
	}
	if hasChart {
		if nameOK && len(u.Name) > maxReleaseName {
			with("name", fmt.Sprintf("is %d characters; a chart bundle's name is its Helm release name, at most %d", len(u.Name), maxReleaseName))
		}
		for _, e := range chartProblems(u.Chart) {
			with(e[0], e[1])
		}
	}
	for _, e := range ignoreDifferenceProblems(u.IgnoreDifferences) {
		with(e[0], e[1])
	}
	for i, m := range u.Manifests {
		for _, msg := range objectProblems(m) {
			with(fmt.Sprintf("manifests[%d]", i), msg)
		}
	}
	if u.Timeout != "" {
		if d, err := time.ParseDuration(u.Timeout); err != nil || d <= 0 {
			with("timeout", fmt.Sprintf("%q is not a positive duration such as 5m or 90s", u.Timeout))
		}
	}
	for i, r := range u.Readiness {
		field := fmt.Sprintf("readiness[%d]", i)
		if r.APIVersion == "" {
			with(field, "apiVersion is required")
		}
		if r.Current == "" {
			with(field, "current is required: a CEL expression that is true when the object is ready")
		}
	}
	for _, e := range testProblems(u.Tests) {
		with(e.field, e.msg)
	}
	switch u.CRDs {
	case "", CRDsSeparate, CRDsInline, CRDsSkip:
	default:
		with("crds", fmt.Sprintf("%q: want %s, %s or %s", u.CRDs, CRDsSeparate, CRDsInline, CRDsSkip))
	}
	for _, e := range scopeProblems(u.ResourceScopes) {
		with("resourceScopes", e)
	}
	if u.Checks != nil {
		for i, s := range u.Checks.Skip {
			field := fmt.Sprintf("checks.skip[%d]", i)
			if !slices.Contains(CheckRules, s.Rule) {
				with(field, fmt.Sprintf("rule %q: want one of %s", s.Rule, strings.Join(CheckRules, ", ")))
			}
			if strings.TrimSpace(s.Reason) == "" {
				with(field, "reason is required: say why the rule does not apply")
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(u.Labels)) {
		if errs := content.IsLabelKey(k); len(errs) > 0 {
			with("labels", fmt.Sprintf("key %q: %s", k, strings.Join(errs, "; ")))
		}
		if errs := content.IsLabelValue(u.Labels[k]); len(errs) > 0 {
			with("labels", fmt.Sprintf("value %q of key %q: %s", u.Labels[k], k, strings.Join(errs, "; ")))
		}
	}
}

// generate checks the generate field of the bundle at names: exactly one
// kind of generated object, with its fields.
func (v *validator) generate(at Error, g *Generate) {
	var kinds []string
	if g.IstioCACerts != nil {
		kinds = append(kinds, "istioCACerts")
	}
	switch len(kinds) {
	case 0:
		at.Field, at.Msg = "generate", "names nothing to generate; set istioCACerts"
		v.add(at)
	case 1:
	default:
		at.Field, at.Msg = "generate", fmt.Sprintf("names %s; set exactly one", strings.Join(kinds, " and "))
		v.add(at)
	}
	if c := g.IstioCACerts; c != nil {
		at.Field = "generate.istioCACerts.cluster"
		v.dnsLabel(at, c.Cluster)
	}
}

// scopeProblems returns the problems of a map from group kind to scope.
func scopeProblems(scopes map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(scopes)) {
		if sc := scopes[k]; sc != ScopeNamespaced && sc != ScopeCluster {
			out = append(out, fmt.Sprintf("%s: %q: want %s or %s", k, sc, ScopeNamespaced, ScopeCluster))
		}
		if !strings.Contains(k, ".") || strings.HasPrefix(k, ".") {
			out = append(out, fmt.Sprintf("%q: want Kind.group, e.g. Widget.example.com", k))
		}
	}
	return out
}

// dnsLabel checks that value, the field at names, is a non-empty DNS-1123
// label, and reports whether it is.
func (v *validator) dnsLabel(at Error, value string) bool {
	switch {
	case value == "":
		at.Msg = "required"
	case len(content.IsDNS1123Label(value)) > 0:
		at.Msg = fmt.Sprintf("%q is not a DNS-1123 label (at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit)", value)
	default:
		return true
	}
	v.add(at)
	return false
}

// chartProblems returns the problems of ch as (field, message) pairs.
func chartProblems(ch *Chart) [][2]string {
	var out [][2]string
	add := func(field, format string, args ...any) {
		out = append(out, [2]string{field, fmt.Sprintf(format, args...)})
	}
	remote := false
	switch repo := ch.Repo; {
	case repo == "":
		add("chart.repo", "required")
	case hasCredentials(repo):
		remote = true
		add("chart.repo", "%q has credentials in it (before the @): give them in the credentials file ($WOOKIE_CREDENTIALS), not in the configuration", errtext.RedactURL(repo))
	case strings.HasPrefix(repo, "http://"), strings.HasPrefix(repo, "https://"):
		remote = true
		u, err := url.Parse(repo)
		switch {
		case err != nil:
			add("chart.repo", "%q is not a valid URL: %v", repo, urlReason(err))
		case u.Host == "":
			add("chart.repo", "%q has no host", repo)
		}
	case strings.HasPrefix(repo, "oci://"):
		remote = true
		u, err := url.Parse(repo)
		switch {
		case err != nil:
			add("chart.repo", "%q is not a valid URL: %v", repo, urlReason(err))
		case u.Host == "":
			add("chart.repo", "%q has no host", repo)
		case strings.Trim(u.Path, "/") == "":
			add("chart.repo", "%q has no path (oci://<host>/<path>)", repo)
		}
	}
	if ch.Name == "" {
		add("chart.name", "required")
	}
	if remote && ch.Version == "" {
		add("chart.version", "required for a chart from a remote repository")
	}
	if ch.Digest != "" && !digestRE.MatchString(ch.Digest) {
		add("chart.digest", "%q is not sha256:<64 lowercase hex digits>", ch.Digest)
	}
	return out
}

// urlReason is the reason of a url.Parse error, without the URL that the
// message names already.
func urlReason(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// objectProblems returns the problems of a manifest object.
func objectProblems(m Object) []string {
	var out []string
	for _, key := range []string{"apiVersion", "kind"} {
		switch s, ok := m[key].(string); {
		case m[key] == nil:
			out = append(out, key+" missing")
		case !ok || s == "":
			out = append(out, key+" must be a non-empty string")
		}
	}
	switch md, ok := m["metadata"].(map[string]any); {
	case m["metadata"] == nil:
		out = append(out, "metadata.name missing")
	case !ok:
		out = append(out, "metadata must be an object")
	default:
		switch s, ok := md["name"].(string); {
		case md["name"] == nil:
			out = append(out, "metadata.name missing")
		case !ok || s == "":
			out = append(out, "metadata.name must be a non-empty string")
		}
	}
	return out
}
