package planview

import (
	"bytes"
	"fmt"
	"strings"
)

// Mermaid writes g as a Mermaid flowchart: a subgraph per cluster holding
// one per batch, in deploy order and labelled with the batch's priority,
// linked in that order by dotted lines; the bundles as nodes (class
// sensitive and generated mark them), dependsOn as arrows and inputs as
// dotted arrows labelled with their names.
func Mermaid(g *Graph) []byte {
	var b bytes.Buffer
	b.WriteString("flowchart TB\n")
	ids := map[string]string{}
	next := 0
	var sensitive, generated []string
	for ci, c := range g.Clusters {
		fmt.Fprintf(&b, "  subgraph c%d[%s]\n    direction TB\n", ci, mermaidText("cluster "+c.Name))
		for bi, bt := range c.Batches {
			fmt.Fprintf(&b, "    subgraph c%db%d[%s]\n", ci, bi, mermaidText(fmt.Sprintf("%s (%d)", bt.Name, bt.Priority)))
			for _, n := range bt.Nodes {
				id := fmt.Sprintf("n%d", next)
				next++
				ids[n.ID] = id
				label := n.Name + "\n" + n.Source
				var marks []string
				if n.Sensitive {
					marks = append(marks, "sensitive")
					sensitive = append(sensitive, id)
				}
				if n.Generated {
					marks = append(marks, "generated")
					generated = append(generated, id)
				}
				if len(marks) > 0 {
					label += "\n[" + strings.Join(marks, ", ") + "]"
				}
				fmt.Fprintf(&b, "      %s[%s]\n", id, mermaidText(label))
			}
			b.WriteString("    end\n")
		}
		b.WriteString("  end\n")
	}
	for ci, c := range g.Clusters {
		for bi := 1; bi < len(c.Batches); bi++ {
			fmt.Fprintf(&b, "  c%db%d -.- c%db%d\n", ci, bi-1, ci, bi)
		}
	}
	for _, e := range g.Edges {
		to, ok := ids[e.To]
		if !ok {
			continue
		}
		switch {
		case e.Kind == EdgeDependsOn:
			if from, ok := ids[e.From]; ok {
				fmt.Fprintf(&b, "  %s --> %s\n", from, to)
			}
		default:
			from, ok := ids[e.From]
			if e.From == "" {
				// No bundle makes the object: from the source cluster.
				ci := clusterIndex(g, e.FromCluster)
				from, ok = fmt.Sprintf("c%d", ci), ci >= 0
			}
			if ok {
				fmt.Fprintf(&b, "  %s -.->|%s| %s\n", from, mermaidEscape("input "+e.Label), to)
			}
		}
	}
	b.WriteString("  classDef sensitive stroke:#c0392b,stroke-width:2px\n")
	b.WriteString("  classDef generated stroke-dasharray:5 5\n")
	if len(sensitive) > 0 {
		fmt.Fprintf(&b, "  class %s sensitive\n", strings.Join(sensitive, ","))
	}
	if len(generated) > 0 {
		fmt.Fprintf(&b, "  class %s generated\n", strings.Join(generated, ","))
	}
	return b.Bytes()
}

// mermaidText is s as a quoted Mermaid label, lines joined by <br/>.
func mermaidText(s string) string {
	return `"` + strings.ReplaceAll(mermaidEscape(s), "\n", "<br/>") + `"`
}

// mermaidEscape replaces the characters that end or confuse a Mermaid
// label by their entity codes.
func mermaidEscape(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "|", "#124;", "<", "#lt;", ">", "#gt;").Replace(s)
}
