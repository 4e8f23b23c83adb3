package planview

import (
	"bytes"
	"fmt"
	"strings"
)

// DOT writes g in Graphviz's DOT language: a cluster subgraph per cluster
// holding one per batch, in deploy order and labelled with the batch's
// priority, the bundles as boxes (sensitive ones red, generated ones
// dashed), dependsOn as solid edges, inputs as blue dashed edges labelled
// with their names, and dotted grey edges from each batch to the next.
func DOT(g *Graph) []byte {
	var b bytes.Buffer
	b.WriteString("digraph plan {\n")
	b.WriteString("  compound=true;\n  newrank=true;\n  rankdir=TB;\n")
	b.WriteString("  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=11];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9];\n")
	for ci, c := range g.Clusters {
		fmt.Fprintf(&b, "  subgraph %s {\n", dotQuote(fmt.Sprintf("cluster_%d", ci)))
		fmt.Fprintf(&b, "    label=%s;\n    style=rounded;\n    color=\"#555555\";\n", dotQuote("cluster "+c.Name))
		if len(c.Batches) == 0 {
			fmt.Fprintf(&b, "    %s [shape=point, style=invis];\n", dotQuote(emptyBatch(ci, 0)))
		}
		for bi, bt := range c.Batches {
			fmt.Fprintf(&b, "    subgraph %s {\n", dotQuote(batchCluster(ci, bi)))
			fmt.Fprintf(&b, "      label=%s;\n      style=dashed;\n      color=\"#999999\";\n", dotQuote(fmt.Sprintf("%s (%d)", bt.Name, bt.Priority)))
			if len(bt.Nodes) == 0 {
				// An empty subgraph is not drawn; a point keeps the batch.
				fmt.Fprintf(&b, "      %s [shape=point, style=invis];\n", dotQuote(emptyBatch(ci, bi)))
			}
			for _, n := range bt.Nodes {
				fmt.Fprintf(&b, "      %s [%s];\n", dotQuote(n.ID), dotNodeAttrs(n))
			}
			b.WriteString("    }\n")
		}
		b.WriteString("  }\n")
	}
	// Batch order: from the first node of each batch to the first of the
	// next, clipped at the batches' borders.
	for ci, c := range g.Clusters {
		for bi := 1; bi < len(c.Batches); bi++ {
			fmt.Fprintf(&b, "  %s -> %s [ltail=%s, lhead=%s, style=dotted, color=\"#999999\", arrowhead=none];\n",
				dotQuote(firstNode(c, ci, bi-1)), dotQuote(firstNode(c, ci, bi)),
				dotQuote(batchCluster(ci, bi-1)), dotQuote(batchCluster(ci, bi)))
		}
	}
	for _, e := range g.Edges {
		switch {
		case e.Kind == EdgeDependsOn:
			fmt.Fprintf(&b, "  %s -> %s;\n", dotQuote(e.From), dotQuote(e.To))
		case e.From != "":
			fmt.Fprintf(&b, "  %s -> %s [style=dashed, color=\"#1f5fbf\", fontcolor=\"#1f5fbf\", constraint=false, label=%s];\n",
				dotQuote(e.From), dotQuote(e.To), dotQuote("input "+e.Label))
		default:
			// No bundle makes the object: from the source cluster.
			ci := clusterIndex(g, e.FromCluster)
			if ci < 0 {
				continue
			}
			fmt.Fprintf(&b, "  %s -> %s [ltail=%s, style=dashed, color=\"#1f5fbf\", fontcolor=\"#1f5fbf\", constraint=false, label=%s];\n",
				dotQuote(firstNode(g.Clusters[ci], ci, 0)), dotQuote(e.To),
				dotQuote(fmt.Sprintf("cluster_%d", ci)), dotQuote("input "+e.Label))
		}
	}
	b.WriteString("}\n")
	return b.Bytes()
}

// dotNodeAttrs are the attributes of n's box.
func dotNodeAttrs(n *Node) string {
	label := n.Name + "\n" + n.Source
	var marks []string
	style := "rounded"
	attrs := ""
	if n.Sensitive {
		marks = append(marks, "sensitive")
		attrs += ", color=\"#c0392b\", penwidth=2"
	}
	if n.Generated {
		marks = append(marks, "generated")
		style += ",dashed"
	}
	if len(marks) > 0 {
		label += "\n[" + strings.Join(marks, ", ") + "]"
	}
	return fmt.Sprintf("label=%s, style=%s, tooltip=%s%s", dotQuote(label), dotQuote(style), dotQuote(n.Namespace), attrs)
}

// batchCluster is the subgraph ID of batch bi of cluster ci.
func batchCluster(ci, bi int) string { return fmt.Sprintf("cluster_%d_%d", ci, bi) }

// emptyBatch is the ID of the invisible point of an empty batch.
func emptyBatch(ci, bi int) string { return fmt.Sprintf("empty_%d_%d", ci, bi) }

// firstNode is the ID of the first node of batch bi of c, or of its
// invisible point when it has none.
func firstNode(c Cluster, ci, bi int) string {
	if bi < len(c.Batches) && len(c.Batches[bi].Nodes) > 0 {
		return c.Batches[bi].Nodes[0].ID
	}
	return emptyBatch(ci, bi)
}

// clusterIndex is the index of the cluster name in g, or -1.
func clusterIndex(g *Graph, name string) int {
	for i, c := range g.Clusters {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// dotQuote quotes s as a DOT string.
func dotQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
