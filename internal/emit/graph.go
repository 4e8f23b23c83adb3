package emit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// node is one bundle of a cluster with what every format needs to know
// about its place in the deploy order.
type node struct {
	// name and namespace are the bundle's; batch is its batch's name.
	name, namespace, batch string
	priority               int
	// bundle is the rendered bundle; plan is the Plan's, nil for a bundle
	// wookie generated (a chart's CRDs).
	bundle *render.Bundle
	plan   *plan.Bundle
	// deps are the bundles this one must follow, sorted: its own dependsOn
	// and every bundle of the previous non-empty batch.
	deps []string
	// wave is the bundle's depth in the graph: 0 without deps, else one
	// more than its deepest dependency.
	wave int
	// ancestors holds every bundle this one follows, directly or not.
	ancestors map[string]bool
}

// dir is the node's directory in the output: <cluster>/<batch>/<bundle>.
func (n *node) dir(cluster string) string {
	return cluster + "/" + n.batch + "/" + n.name
}

// labels are the labels every format puts on what it writes for n.
func (n *node) labels(cluster string) map[string]string {
	return map[string]string{"wookie.dev/cluster": cluster, "wookie.dev/batch": n.batch, "wookie.dev/bundle": n.name}
}

// chartInputs returns the deploy-time inputs that n's chart values refer
// to, sorted; none for a bundle without a chart. Only wookie deploy fills
// them in: a GitOps engine rendering the chart would get the references
// themselves, so every format writes such a bundle rendered, the objects
// that still hold references being left out by render.
func (n *node) chartInputs() []string {
	if n.plan == nil || n.plan.Chart == nil {
		return nil
	}
	return plan.BundleInputs(&plan.Bundle{Chart: n.plan.Chart})
}

// repoNames names each chart repository of repos by prefix plus its host
// and path (lowercase, every run of other characters than letters, digits
// and dashes one dash); where that is longer than 63 characters or two
// URLs would get the same name, the name ends in a checksum of the URL.
func repoNames(prefix string, repos []string) map[string]string {
	base := map[string]string{}
	count := map[string]int{}
	for _, repo := range repos {
		rest := repo
		if i := strings.Index(repo, "://"); i >= 0 {
			rest = repo[i+3:]
		}
		slug := strings.Trim(fleetDisallowed.ReplaceAllLiteralString(strings.ToLower(rest), "-"), "-")
		slug = strings.Trim(fleetDashes.ReplaceAllString(slug, "-"), "-")
		base[repo] = prefix + slug
		count[base[repo]]++
	}
	out := map[string]string{}
	for _, repo := range repos {
		name := base[repo]
		if len(name) > 63 || count[name] > 1 || name == "" || strings.HasSuffix(name, "-") {
			sum := sha256.Sum256([]byte(repo))
			name = strings.Trim(name[:min(len(name), 63-9)], "-")
			if name != "" {
				name += "-"
			}
			name += hex.EncodeToString(sum[:])[:8]
		}
		out[repo] = name
	}
	return out
}

// clusterGraph is the deploy order of one cluster as a graph.
type clusterGraph struct {
	name    string
	cluster *plan.Cluster
	// nodes are in deploy order.
	nodes  []*node
	byName map[string]*node
	// namespaces maps a namespace to the bundle whose objects create it.
	namespaces map[string]string
}

func newClusterGraph(pc *plan.Cluster, rc *render.Cluster) (*clusterGraph, error) {
	if pc.Name != rc.Name {
		return nil, fmt.Errorf("the rendered result has cluster %s where the Plan has %s", rc.Name, pc.Name)
	}
	g := &clusterGraph{name: pc.Name, cluster: pc, byName: map[string]*node{}, namespaces: map[string]string{}}
	planBundles := map[string]*plan.Bundle{}
	for bi := range pc.Batches {
		for ui := range pc.Batches[bi].Bundles {
			u := &pc.Batches[bi].Bundles[ui]
			planBundles[u.Name] = u
		}
	}
	var previous []string
	for bi := range rc.Batches {
		b := &rc.Batches[bi]
		var names []string
		for ui := range b.Bundles {
			u := &b.Bundles[ui]
			n := &node{
				name: u.Name, namespace: u.Namespace, batch: b.Name, priority: b.Priority,
				bundle: u, plan: planBundles[u.Name], ancestors: map[string]bool{},
			}
			if n.plan == nil && !u.Generated {
				return nil, fmt.Errorf("cluster %s: bundle %s is rendered but not in the Plan", pc.Name, u.Name)
			}
			deps := slices.Clone(u.DependsOn)
			deps = append(deps, previous...)
			slices.Sort(deps)
			n.deps = slices.Compact(deps)
			for _, d := range n.deps {
				dn := g.byName[d]
				if dn == nil {
					return nil, fmt.Errorf("cluster %s: bundle %s depends on %s, which does not come before it", pc.Name, u.Name, d)
				}
				n.wave = max(n.wave, dn.wave+1)
				n.ancestors[d] = true
				for a := range dn.ancestors {
					n.ancestors[a] = true
				}
			}
			for _, o := range u.Objects {
				if o.GetAPIVersion() == "v1" && o.GetKind() == "Namespace" {
					if _, dup := g.namespaces[o.GetName()]; !dup {
						g.namespaces[o.GetName()] = u.Name
					}
				}
			}
			g.nodes = append(g.nodes, n)
			g.byName[n.name] = n
			names = append(names, n.name)
		}
		if len(names) > 0 {
			previous = names
		}
	}
	return g, nil
}

// preexisting are the namespaces every cluster has.
var preexisting = map[string]bool{"default": true, "kube-system": true, "kube-public": true, "kube-node-lease": true}

// needsNamespace reports whether n's namespace must be created for it: it
// exists neither from the start nor by a bundle n follows (nor by n itself).
func (g *clusterGraph) needsNamespace(n *node) bool {
	if preexisting[n.namespace] {
		return false
	}
	creator, ok := g.namespaces[n.namespace]
	return !ok || (creator != n.name && !n.ancestors[creator])
}

// crdsFrom returns the bundles other than n that define a CRD for a custom
// resource among n's objects.
func (g *clusterGraph) crdsFrom(n *node) []string {
	defined := map[string]string{} // group/kind -> bundle
	for _, m := range g.nodes {
		for _, o := range m.bundle.Objects {
			if o.GetKind() != "CustomResourceDefinition" {
				continue
			}
			group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
			if _, dup := defined[group+"/"+kind]; !dup {
				defined[group+"/"+kind] = m.name
			}
		}
	}
	var out []string
	for _, o := range n.bundle.Objects {
		gvk := o.GroupVersionKind()
		if b, ok := defined[gvk.Group+"/"+gvk.Kind]; ok && b != n.name && !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	slices.Sort(out)
	return out
}

// separateCRDs reports whether the CRDs of the crds/ directory of n's
// chart went to a separate generated bundle, which then owns them: an
// engine that renders the chart must not install them a second time.
func (g *clusterGraph) separateCRDs(n *node) bool {
	if n.plan == nil || n.plan.CRDs == plan.CRDsInline {
		return false
	}
	crds := g.byName[n.name+"-crds"]
	return crds != nil && crds.plan == nil && crds.bundle.Generated
}
