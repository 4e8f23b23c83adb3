package planview

import (
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// Graph is a Plan as a graph: its clusters in Plan order, their batches in
// deploy order and the bundles of each batch in deploy order, with the
// edges between bundles.
type Graph struct {
	Clusters []Cluster
	// Edges are sorted by kind, then by the IDs of their ends.
	Edges []Edge
	// Rendered says Build was given the rendered Plan: Node.Objects lists
	// every object of the bundles that were rendered.
	Rendered bool
}

// Cluster is a cluster of the Graph.
type Cluster struct {
	Name    string
	Batches []Batch
}

// Batch is a batch of a cluster: its bundles deploy after every bundle of
// the batch before it is ready.
type Batch struct {
	Name     string
	Priority int
	Nodes    []*Node
}

// Node is one bundle.
type Node struct {
	// ID is the bundle's cluster and name: "alpha/istiod".
	ID                              string
	Cluster, Batch, Name, Namespace string
	// Chart is the chart of a chart bundle, pinned when the Plan was.
	Chart *plan.Chart
	// Source says where the objects come from: chart@version, "1 manifest",
	// "cacerts of alpha", "CRDs of chart base".
	Source string
	// Sensitive marks a bundle whose objects carry secrets.
	Sensitive bool
	// Generated marks a bundle wookie makes: a generated bundle of the
	// Plan, or one rendering adds (a chart's CRDs).
	Generated bool
	// DependsOn are the IDs of the bundles this one follows, sorted.
	DependsOn []string
	// Inputs name the cross-cluster inputs the bundle reads, sorted.
	Inputs []string
	// Values are the chart's values as YAML; empty for other bundles or
	// a chart without values.
	Values string
	// Objects identify the bundle's objects ("Deployment istio-system/istiod")
	// in apply order, as far as they are known without rendering.
	Objects []string
	// ObjectsNote says why Objects is empty or incomplete; empty when it
	// is complete.
	ObjectsNote string
}

// EdgeKind tells what an Edge stands for.
type EdgeKind string

// The kinds of Edge.
const (
	// EdgeDependsOn: To lists From in its dependsOn.
	EdgeDependsOn EdgeKind = "dependsOn"
	// EdgeInput: To reads inputs from an object that From makes, in
	// another cluster.
	EdgeInput EdgeKind = "input"
)

// Edge links two bundles: From must be ready, or have made what To reads,
// before To deploys.
type Edge struct {
	Kind EdgeKind
	// From is the ID of the bundle To waits for; empty for an input whose
	// object no bundle of FromCluster makes (a controller does): then To
	// waits for all of FromCluster.
	From        string
	FromCluster string
	To          string
	// Label names the inputs of an input edge, comma-separated.
	Label string
}

// Build makes the Graph of p, which must be normalized. res, when not nil,
// is p rendered: its objects fill Node.Objects and the bundles rendering
// adds (a chart's CRDs) become nodes; nil describes the Plan alone, listing
// the objects of raw manifests only.
func Build(p *plan.Plan, res *render.Result) (*Graph, error) {
	g := &Graph{Rendered: res != nil}
	rendered := renderedBundles(res)
	omitted := map[string]string{}
	leftOut := map[string][]string{} // node ID -> objects left out of it
	if res != nil {
		for _, o := range res.Omitted {
			omitted[o.Cluster+"/"+o.Bundle] = o.Why
		}
		for _, o := range res.OmittedObjects {
			id := o.Cluster + "/" + o.Bundle
			leftOut[id] = append(leftOut[id], o.Object+" (left out: "+o.Why+")")
		}
	}
	nodes := map[string]*Node{}
	for ci := range p.Clusters {
		c := &p.Clusters[ci]
		gc := Cluster{Name: c.Name}
		api, _ := render.BuiltinAPI(c.KubeVersion) // nil: guess namespaced
		for bi := range c.Batches {
			b := &c.Batches[bi]
			gb := Batch{Name: b.Name, Priority: b.Priority}
			inPlan := map[string]bool{}
			for ui := range b.Bundles {
				u := &b.Bundles[ui]
				inPlan[u.Name] = true
				n, err := planNode(c, b, u, api)
				if err != nil {
					return nil, err
				}
				id := n.ID
				if rb, ok := rendered[id]; ok {
					n.Objects, n.ObjectsNote = append(renderedObjects(rb), leftOut[id]...), ""
					n.DependsOn = union(n.DependsOn, ids(c.Name, rb.DependsOn))
				} else if why, ok := omitted[id]; ok {
					n.ObjectsNote = "left out of the render (" + why + ")" + suffix(n.ObjectsNote)
				}
				nodes[id] = n
				gb.Nodes = append(gb.Nodes, n)
			}
			// Bundles rendering adds to the batch (a chart's CRDs), in
			// render order.
			if rc := renderedBatch(res, c.Name, b.Name); rc != nil {
				for ri := range rc.Bundles {
					rb := &rc.Bundles[ri]
					if inPlan[rb.Name] {
						continue
					}
					n := &Node{
						ID: c.Name + "/" + rb.Name, Cluster: c.Name, Batch: b.Name, Name: rb.Name,
						Namespace: rb.Namespace, Source: "made by rendering", Generated: true,
						Sensitive: rb.Sensitive, DependsOn: ids(c.Name, rb.DependsOn),
						Objects: renderedObjects(rb),
					}
					if owner, ok := strings.CutSuffix(rb.Name, "-crds"); ok {
						n.Source = "CRDs of " + owner
					}
					nodes[n.ID] = n
					gb.Nodes = append(gb.Nodes, n)
				}
			}
			gc.Batches = append(gc.Batches, gb)
		}
		g.Clusters = append(g.Clusters, gc)
	}
	for _, n := range nodes {
		for _, d := range n.DependsOn {
			g.Edges = append(g.Edges, Edge{Kind: EdgeDependsOn, From: d, FromCluster: n.Cluster, To: n.ID})
		}
	}
	g.Edges = append(g.Edges, inputEdges(p, nodes)...)
	slices.SortFunc(g.Edges, func(a, b Edge) int {
		return strings.Compare(string(a.Kind)+"\x00"+a.FromCluster+"\x00"+a.From+"\x00"+a.To, string(b.Kind)+"\x00"+b.FromCluster+"\x00"+b.From+"\x00"+b.To)
	})
	return g, nil
}

// planNode is the node of bundle u of batch b of cluster c, as the Plan
// alone describes it.
func planNode(c *plan.Cluster, b *plan.Batch, u *plan.Bundle, api *render.KubeAPI) (*Node, error) {
	n := &Node{
		ID: c.Name + "/" + u.Name, Cluster: c.Name, Batch: b.Name, Name: u.Name, Namespace: u.Namespace,
		Sensitive: u.IsSensitive(), Generated: u.Generate != nil,
		DependsOn: ids(c.Name, u.DependsOn), Inputs: plan.BundleInputs(u),
	}
	switch {
	case u.Chart != nil:
		n.Chart = u.Chart
		n.Source = u.Chart.Name
		if u.Chart.Version != "" {
			n.Source += "@" + u.Chart.Version
		}
		if len(u.Chart.Values) > 0 {
			v, err := yaml.Marshal(u.Chart.Values)
			if err != nil {
				return nil, fmt.Errorf("cluster %s: bundle %s: chart values: %w", c.Name, u.Name, err)
			}
			n.Values = string(v)
		}
		n.ObjectsNote = "rendered from the chart at render time (wookie plan -o html --render lists them)"
	case u.Generate != nil && u.Generate.IstioCACerts != nil:
		n.Source = "cacerts of " + u.Generate.IstioCACerts.Cluster
		n.Objects = []string{"Secret " + u.Namespace + "/cacerts"}
		n.ObjectsNote = "made from the certificate store at deploy time"
	case u.Generate != nil:
		n.Source = "generated"
	default:
		n.Source = fmt.Sprintf("%d manifests", len(u.Manifests))
		if len(u.Manifests) == 1 {
			n.Source = "1 manifest"
		}
		for _, m := range u.Manifests {
			n.Objects = append(n.Objects, manifestID(m, u, api))
		}
	}
	return n, nil
}

// manifestID identifies a raw manifest of u as render.Object.ID does: a
// namespaced object without a namespace is in u's. The scope of a kind
// comes from the built-in API, else from u's ResourceScopes, else the
// kind is taken as namespaced.
func manifestID(m plan.Object, u *plan.Bundle, api *render.KubeAPI) string {
	apiVersion, _ := m["apiVersion"].(string)
	kind, _ := m["kind"].(string)
	meta, _ := m["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	gk := kind
	if group, _, ok := strings.Cut(apiVersion, "/"); ok {
		gk += "." + group
	}
	namespaced, known := true, false
	if api != nil {
		namespaced, known = api.Namespaced(apiVersion, kind)
	}
	if !known {
		namespaced = u.ResourceScopes[gk] != plan.ScopeCluster
	}
	if ns == "" && namespaced {
		ns = u.Namespace
	}
	if ns == "" || !namespaced {
		return gk + " " + name
	}
	return gk + " " + ns + "/" + name
}

// renderedBundles indexes the bundles of res by node ID.
func renderedBundles(res *render.Result) map[string]*render.Bundle {
	out := map[string]*render.Bundle{}
	if res == nil {
		return out
	}
	for ci := range res.Clusters {
		c := &res.Clusters[ci]
		for bi := range c.Batches {
			for ui := range c.Batches[bi].Bundles {
				u := &c.Batches[bi].Bundles[ui]
				out[c.Name+"/"+u.Name] = u
			}
		}
	}
	return out
}

// renderedBatch returns batch of cluster in res, or nil.
func renderedBatch(res *render.Result, cluster, batch string) *render.Batch {
	if res == nil {
		return nil
	}
	for ci := range res.Clusters {
		if res.Clusters[ci].Name != cluster {
			continue
		}
		for bi := range res.Clusters[ci].Batches {
			if res.Clusters[ci].Batches[bi].Name == batch {
				return &res.Clusters[ci].Batches[bi]
			}
		}
	}
	return nil
}

// renderedObjects identifies the objects of b, hooks marked.
func renderedObjects(b *render.Bundle) []string {
	out := make([]string, 0, len(b.Objects))
	for _, o := range b.Objects {
		id := o.ID()
		if o.Hook != "" {
			id += " (" + o.Hook + " hook)"
		}
		out = append(out, id)
	}
	return out
}

// ids turns bundle names of cluster into node IDs, sorted.
func ids(cluster string, names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = cluster + "/" + n
	}
	slices.Sort(out)
	return out
}

// union returns the sorted union of a and b.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

// suffix is "; "+s, or "" when s is empty.
func suffix(s string) string {
	if s == "" {
		return ""
	}
	return "; " + s
}

// inputEdges links every bundle that reads inputs to the bundle of the
// source cluster that makes the input's object: one whose rendered objects
// (with res) or raw manifests include an object of the same group, kind,
// namespace and name, the first in deploy order. Where none does, the edge
// starts at the source cluster. Inputs read from the same bundle share an
// edge.
func inputEdges(p *plan.Plan, nodes map[string]*Node) []Edge {
	makers := map[string]string{} // cluster + object ID -> node ID
	for ci := range p.Clusters {
		c := &p.Clusters[ci]
		for bi := range c.Batches {
			for ui := range c.Batches[bi].Bundles {
				n := nodes[c.Name+"/"+c.Batches[bi].Bundles[ui].Name]
				for _, o := range n.Objects {
					id, _, _ := strings.Cut(o, " (") // without "(post hook)", "(left out: ...)"
					key := c.Name + "\x00" + id
					if _, ok := makers[key]; !ok {
						makers[key] = n.ID
					}
				}
			}
		}
	}
	var out []Edge
	for ci := range p.Clusters {
		c := &p.Clusters[ci]
		inputs := map[string]*plan.Input{}
		for i := range c.Inputs {
			inputs[c.Inputs[i].Name] = &c.Inputs[i]
		}
		for bi := range c.Batches {
			for ui := range c.Batches[bi].Bundles {
				n := nodes[c.Name+"/"+c.Batches[bi].Bundles[ui].Name]
				labels := map[[2]string][]string{}
				var order [][2]string
				for _, name := range n.Inputs {
					in, ok := inputs[name]
					if !ok {
						continue
					}
					key := [2]string{in.From.Cluster, makers[in.From.Cluster+"\x00"+sourceID(&in.From)]}
					if _, ok := labels[key]; !ok {
						order = append(order, key)
					}
					labels[key] = append(labels[key], name)
				}
				for _, k := range order {
					out = append(out, Edge{Kind: EdgeInput, From: k[1], FromCluster: k[0], To: n.ID, Label: strings.Join(labels[k], ", ")})
				}
			}
		}
	}
	return out
}

// sourceID identifies the object an input is read from as
// render.Object.ID does.
func sourceID(s *plan.InputSource) string {
	kind := s.Kind
	if group, _, ok := strings.Cut(s.APIVersion, "/"); ok {
		kind += "." + group
	}
	if s.Namespace == "" {
		return kind + " " + s.Name
	}
	return kind + " " + s.Namespace + "/" + s.Name
}
