package plan

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"

	"wookie.dev/wookie/internal/errtext"
)

// gitops checks the Plan's GitOps settings; clusters are the Plan's.
func (v *validator) gitops(g *GitOps, clusters []Cluster) {
	if g == nil {
		return
	}
	at := func(field, msg string) { v.add(Error{Field: "gitops." + field, Msg: msg}) }
	switch {
	case hasCredentials(g.Repo):
		at("repo", fmt.Sprintf("%q has credentials in it (before the @): it is written into every GitOps output; give the engines Git credentials of their own", errtext.RedactURL(g.Repo)))
	case strings.ContainsAny(g.Repo, " \t\n"):
		at("repo", fmt.Sprintf("%q is not a Git repository URL", g.Repo))
	}
	if strings.HasPrefix(g.Path, "/") || slices.Contains(strings.Split(g.Path, "/"), "..") {
		at("path", fmt.Sprintf("%q: want a relative path inside the repository, without ..", g.Path))
	}
	optionalLabel := func(field, value string) {
		if value != "" {
			v.dnsLabel(Error{Field: "gitops." + field}, value)
		}
	}
	if f := g.Fleet; f != nil {
		optionalLabel("fleet.gitRepo", f.GitRepo)
		optionalLabel("fleet.namespace", f.Namespace)
		names := make([]string, 0, len(clusters))
		for _, c := range clusters {
			names = append(names, c.Name)
		}
		slices.Sort(names)
		if m := f.Management; m != "" && !slices.Contains(names, m) {
			at("fleet.management", fmt.Sprintf("%q is not a cluster of the Plan (%s): name the cluster Fleet runs in", m, strings.Join(names, ", ")))
		}
		for _, d := range f.Downstream {
			switch {
			case !slices.Contains(names, d):
				at("fleet.downstream", fmt.Sprintf("%q is not a cluster of the Plan (%s)", d, strings.Join(names, ", ")))
			case d == f.Management:
				at("fleet.downstream", fmt.Sprintf("%q is the management cluster, which Fleet deploys to anyway", d))
			}
		}
	}
	if a := g.ArgoCD; a != nil {
		optionalLabel("argocd.namespace", a.Namespace)
		optionalLabel("argocd.project", a.Project)
	}
	if f := g.Flux; f != nil {
		optionalLabel("flux.namespace", f.Namespace)
		optionalLabel("flux.sourceName", f.SourceName)
		switch f.SourceKind {
		case "", "GitRepository", "OCIRepository", "Bucket":
		default:
			at("flux.sourceKind", fmt.Sprintf("%q: want GitRepository, OCIRepository or Bucket", f.SourceKind))
		}
	}
}

// clusterGitOps checks how GitOps engines address cluster cname.
func (v *validator) clusterGitOps(g *ClusterGitOps, cname string) {
	if g == nil {
		return
	}
	at := func(field, msg string) { v.add(Error{Cluster: cname, Field: "gitops." + field, Msg: msg}) }
	if f := g.Fleet; f != nil {
		if f.ClusterName != "" {
			v.dnsLabel(Error{Cluster: cname, Field: "gitops.fleet.clusterName"}, f.ClusterName)
		}
		if f.Workspace != "" {
			v.dnsLabel(Error{Cluster: cname, Field: "gitops.fleet.workspace"}, f.Workspace)
		}
		switch {
		case hasCredentials(f.APIServer):
			at("fleet.apiServer", credentialsInServerURL(f.APIServer))
		case f.APIServer != "" && !httpsURL(f.APIServer):
			at("fleet.apiServer", fmt.Sprintf("%q: want the API server's URL, https://HOST[:PORT]", f.APIServer))
		}
		for _, k := range slices.Sorted(maps.Keys(f.ClusterSelector)) {
			if errs := content.IsLabelKey(k); len(errs) > 0 {
				at("fleet.clusterSelector", fmt.Sprintf("key %q: %s", k, strings.Join(errs, "; ")))
			}
			if errs := content.IsLabelValue(f.ClusterSelector[k]); len(errs) > 0 {
				at("fleet.clusterSelector", fmt.Sprintf("value %q of key %q: %s", f.ClusterSelector[k], k, strings.Join(errs, "; ")))
			}
		}
	}
	if a := g.ArgoCD; a != nil {
		switch {
		case hasCredentials(a.Server):
			at("argocd.server", credentialsInServerURL(a.Server))
		case a.Server != "" && !strings.HasPrefix(a.Server, "https://") && !strings.HasPrefix(a.Server, "http://"):
			at("argocd.server", fmt.Sprintf("%q: want the API server's URL, https://...", a.Server))
		}
	}
	if f := g.Flux; f != nil && f.KubeConfigSecret != "" {
		v.dnsLabel(Error{Cluster: cname, Field: "gitops.flux.kubeConfigSecret"}, f.KubeConfigSecret)
	}
}

// credentialsInServerURL is the message for an API server URL with
// credentials in it, which it does not repeat.
func credentialsInServerURL(raw string) string {
	return fmt.Sprintf("%q has credentials in it (before the @): it is written into the GitOps output; give the engine credentials of its own", errtext.RedactURL(raw))
}

// httpsURL reports whether s is an https URL with a host.
func httpsURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.User == nil && !strings.ContainsAny(s, " \t\n")
}

// ignoreDifferenceProblems returns the problems of a bundle's
// ignoreDifferences as (field, message) pairs.
func ignoreDifferenceProblems(ds []IgnoreDifference) [][2]string {
	var out [][2]string
	for i, d := range ds {
		field := fmt.Sprintf("ignoreDifferences[%d]", i)
		for _, req := range [][2]string{{"apiVersion", d.APIVersion}, {"kind", d.Kind}, {"name", d.Name}} {
			if req[1] == "" {
				out = append(out, [2]string{field, req[0] + " is required"})
			}
		}
		if len(d.JSONPointers) == 0 {
			out = append(out, [2]string{field, "jsonPointers: want at least one JSON pointer such as /webhooks/0/clientConfig/caBundle"})
		}
		for _, p := range d.JSONPointers {
			if !strings.HasPrefix(p, "/") {
				out = append(out, [2]string{field, fmt.Sprintf("jsonPointers: %q is not a JSON pointer (it starts with /)", p)})
			}
		}
	}
	return out
}
