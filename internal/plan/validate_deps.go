package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// dependsOn checks the dependsOn lists of c's bundles: entries are
// non-empty, unique, name a bundle of c that is not in a later batch, and
// form no cycle. bundles indexes c's bundles by name.
func (v *validator) dependsOn(c *Cluster, cname string, bundles map[string][]bundleRef) {
	graph := map[string][]string{} // bundle name -> names it depends on
	for bi := range c.Batches {
		b := &c.Batches[bi]
		bname := entryName(b.Name, bi)
		for ui := range b.Bundles {
			u := &b.Bundles[ui]
			with := func(format string, args ...any) {
				v.add(Error{Cluster: cname, Batch: bname, Bundle: entryName(u.Name, ui), Field: "dependsOn",
					Msg: fmt.Sprintf(format, args...)})
			}
			seen := map[string]int{}
			for _, d := range u.DependsOn {
				if d == "" {
					with("empty entry")
					continue
				}
				if seen[d]++; seen[d] > 1 {
					if seen[d] == 2 {
						with("duplicate entry %q", d)
					}
					continue
				}
				refs := bundles[d]
				if len(refs) == 0 {
					with("no bundle %q in cluster %s", d, cname)
					continue
				}
				if u.Name != "" {
					graph[u.Name] = append(graph[u.Name], d)
				}
				// With a duplicate name the dependency is ambiguous; the
				// duplicate is reported already.
				if dep := refs[0]; len(refs) == 1 && d != u.Name && deploysBefore(b, dep.batch) {
					with("bundle %q is in batch %s (priority %d), which deploys after batch %s (priority %d)",
						d, dep.batchName, dep.batch.Priority, bname, b.Priority)
				}
			}
		}
	}
	v.cycles(cname, graph, bundles)
}

// deploysBefore reports whether batch a deploys before batch b: it has a
// lower priority, or the same priority and a smaller name.
func deploysBefore(a, b *Batch) bool {
	return a.Priority < b.Priority || a.Priority == b.Priority && a.Name < b.Name
}

// cycles reports each dependsOn cycle of a cluster once. graph maps a bundle
// name to the names it depends on.
//
// Every strongly connected component with more than one bundle, or with a
// bundle that depends on itself, holds a cycle. The one reported is the
// shortest cycle through the component's smallest name, printed from that
// name, so the message does not depend on the order of the input.
func (v *validator) cycles(cname string, graph map[string][]string, bundles map[string][]bundleRef) {
	for _, cycle := range graphCycles(graph) {
		start := cycle[0]
		batches := make([]string, 0, len(bundles[start]))
		for _, r := range bundles[start] {
			batches = append(batches, r.batchName)
		}
		v.add(Error{Cluster: cname, Batch: slices.Min(batches), Bundle: start,
			Msg: "dependsOn cycle: " + strings.Join(cycle, " -> ")})
	}
}

// graphCycles returns one cycle of every strongly connected component of
// graph that has one: the shortest cycle through the component's smallest
// name, from that name back to it. It sorts the edges of graph in place
// and drops duplicate ones.
func graphCycles(graph map[string][]string) [][]string {
	for n, deps := range graph {
		slices.Sort(deps)
		graph[n] = slices.Compact(deps)
	}
	var out [][]string
	for _, scc := range components(graph) {
		start := slices.Min(scc)
		if len(scc) == 1 && !slices.Contains(graph[start], start) {
			continue
		}
		out = append(out, shortestCycle(graph, scc, start))
	}
	return out
}

// components returns the strongly connected components of graph (Tarjan's
// algorithm), visiting nodes and edges in sorted order. Edges of graph must
// be sorted.
func components(graph map[string][]string) [][]string {
	t := tarjan{graph: graph, index: map[string]int{}, low: map[string]int{}, onStack: map[string]bool{}}
	for _, n := range slices.Sorted(maps.Keys(graph)) {
		if _, ok := t.index[n]; !ok {
			t.visit(n)
		}
	}
	return t.sccs
}

// tarjan is the state of Tarjan's strongly connected components algorithm.
type tarjan struct {
	graph   map[string][]string
	index   map[string]int
	low     map[string]int
	onStack map[string]bool
	stack   []string
	sccs    [][]string
}

func (t *tarjan) visit(n string) {
	t.index[n] = len(t.index)
	t.low[n] = t.index[n]
	t.stack = append(t.stack, n)
	t.onStack[n] = true
	for _, m := range t.graph[n] {
		if _, ok := t.index[m]; !ok {
			t.visit(m)
			t.low[n] = min(t.low[n], t.low[m])
		} else if t.onStack[m] {
			t.low[n] = min(t.low[n], t.index[m])
		}
	}
	if t.low[n] != t.index[n] {
		return
	}
	var scc []string
	for {
		m := t.stack[len(t.stack)-1]
		t.stack = t.stack[:len(t.stack)-1]
		t.onStack[m] = false
		scc = append(scc, m)
		if m == n {
			break
		}
	}
	t.sccs = append(t.sccs, scc)
}

// shortestCycle returns a shortest cycle from start back to start inside the
// component scc, breadth first over sorted edges, as the list of names with
// start at both ends.
func shortestCycle(graph map[string][]string, scc []string, start string) []string {
	in := map[string]bool{}
	for _, n := range scc {
		in[n] = true
	}
	parent := map[string]string{}
	queue := []string{start}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		for _, y := range graph[x] {
			if y == start {
				var back []string
				for n := x; n != start; n = parent[n] {
					back = append(back, n)
				}
				slices.Reverse(back)
				return append(append([]string{start}, back...), start)
			}
			if _, seen := parent[y]; !seen && in[y] {
				parent[y] = x
				queue = append(queue, y)
			}
		}
	}
	return []string{start} // not reached: start is on a cycle of scc
}
