package planview

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"sync"
)

//go:embed page.html.tmpl
var pageSource string

//go:embed page.css
var pageCSS string

//go:embed page.js
var pageJS string

// pageTemplate is parsed on first use, not at start-up: most commands
// never draw a page.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(pageSource))
})

// State is what status read of one bundle in its cluster.
type State struct {
	// State is Ready, NotReady, Missing or Unreadable.
	State string
	// Objects counts the bundle's objects, Present those that exist and
	// Ready those that are ready.
	Objects, Present, Ready int
	// NotReady describe the objects that are not ready: "Deployment
	// istio-system/istiod: InProgress".
	NotReady []string
}

// The states of State.State that the page colours.
var states = []string{"Ready", "NotReady", "Missing", "Unreadable"}

// Options are the choices of HTML.
type Options struct {
	// Title heads the page; empty means "wookie plan".
	Title string
	// Status, by node ID ("alpha/istiod"), colours the nodes by
	// readiness; nil draws the Plan without states.
	Status map[string]State
}

// HTML writes g as one self-contained HTML page: the graph drawn as SVG
// (laid out here: clusters side by side, batches top to bottom in deploy
// order), a card per bundle with its chart, version, digest, namespace,
// values and objects, and a search box that filters both. Its styles and
// script are inline and allowed by their hashes in the page's
// Content-Security-Policy, which allows nothing else: the page loads
// nothing at view time.
func HTML(g *Graph, o Options) ([]byte, error) {
	l := lay(g)
	d := pageData{
		Title:  o.Title,
		W:      l.W,
		H:      l.H,
		CSS:    template.CSS(pageCSS),
		JS:     template.JS(pageJS),
		Status: o.Status != nil,
	}
	if d.Title == "" {
		d.Title = "wookie plan"
	}
	d.CSP = fmt.Sprintf("default-src 'none'; style-src '%s'; script-src '%s'", cspHash(pageCSS), cspHash(pageJS))
	count := map[string]int{}
	for ci, c := range g.Clusters {
		cb := l.Clusters[ci]
		dc := pageCluster{Name: c.Name, Box: cb.rect}
		for bi, b := range c.Batches {
			dc.Batches = append(dc.Batches, pageBatch{Label: fmt.Sprintf("%s · priority %d", b.Name, b.Priority), Box: cb.Batches[bi]})
			for _, n := range b.Nodes {
				pn := pageNode{Node: n, Box: l.Nodes[n.ID], Label: clip(n.Name, nameChars), Sub: clip(n.Source+" · "+n.Namespace, nameChars+6), Priority: b.Priority}
				if st, ok := o.Status[n.ID]; ok {
					s := st
					pn.State = &s
					count[st.State]++
				} else if o.Status != nil {
					pn.State = &State{State: "Unknown"}
					count["Unknown"]++
				}
				pn.Search = searchText(n, pn.State)
				pn.Class = nodeClass(n, pn.State)
				d.Nodes = append(d.Nodes, pn)
			}
		}
		d.Clusters = append(d.Clusters, dc)
	}
	for i, e := range g.Edges {
		path, lx, ly, ok := l.edgePath(g, i)
		if !ok {
			continue
		}
		pe := pageEdge{Path: path, From: e.From, To: e.To, Class: "edge dep"}
		if e.Kind == EdgeInput {
			pe.Class = "edge input"
			pe.Label, pe.LX, pe.LY = "input "+e.Label, lx, ly
			if e.From == "" {
				pe.FromCluster = e.FromCluster
			}
		}
		d.Edges = append(d.Edges, pe)
	}
	if o.Status != nil {
		for _, s := range append(slices.Clone(states), "Unknown") {
			if count[s] > 0 {
				d.Counts = append(d.Counts, fmt.Sprintf("%d %s", count[s], s))
			}
		}
	}
	var b bytes.Buffer
	if err := pageTemplate().Execute(&b, d); err != nil {
		return nil, fmt.Errorf("html page: %w", err)
	}
	return b.Bytes(), nil
}

// pageData is what the page template draws.
type pageData struct {
	Title    string
	CSP      string
	CSS      template.CSS
	JS       template.JS
	W, H     int
	Clusters []pageCluster
	Nodes    []pageNode
	Edges    []pageEdge
	// Status says the page shows states; Counts says how many bundles
	// are in each.
	Status bool
	Counts []string
}

type pageCluster struct {
	Name    string
	Box     rect
	Batches []pageBatch
}

type pageBatch struct {
	Label string
	Box   rect
}

type pageNode struct {
	*Node
	Box        rect
	Label, Sub string
	Priority   int
	Class      string
	Search     string
	State      *State
}

type pageEdge struct {
	Class, Path       string
	From, FromCluster string
	To                string
	Label             string
	LX, LY            int
}

// nodeClass is the SVG class list of n's node.
func nodeClass(n *Node, st *State) string {
	c := "node"
	if n.Sensitive {
		c += " sensitive"
	}
	if n.Generated {
		c += " generated"
	}
	if st != nil {
		c += " state-" + st.State
	}
	return c
}

// searchText is what the search box matches for n: its names, source,
// chart and objects, lowercase.
func searchText(n *Node, st *State) string {
	parts := []string{n.Cluster, n.Batch, n.Name, n.Namespace, n.Source}
	if n.Chart != nil {
		parts = append(parts, n.Chart.Repo, n.Chart.Name, n.Chart.Version, n.Chart.Digest)
	}
	if n.Sensitive {
		parts = append(parts, "sensitive")
	}
	if n.Generated {
		parts = append(parts, "generated")
	}
	if st != nil {
		parts = append(parts, st.State)
	}
	parts = append(parts, n.Objects...)
	return strings.ToLower(strings.Join(parts, " "))
}

// cspHash is the Content-Security-Policy source that allows the inline
// element whose text is s.
func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}
