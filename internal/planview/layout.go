package planview

import (
	"fmt"
	"strings"
)

// Sizes of the HTML drawing, in SVG user units (pixels).
const (
	nodeW         = 200
	nodeH         = 44
	nodeGapX      = 16
	rowGap        = 30 // between the rows of a batch
	batchPad      = 12
	batchHeader   = 22
	batchGap      = 26
	clusterPad    = 16
	clusterHeader = 34
	clusterGap    = 90
	margin        = 10
	nameChars     = 28 // characters of a name that fit in a node
)

// rect is a box of the drawing.
type rect struct{ X, Y, W, H int }

// layout is where every part of a Graph is drawn.
type layout struct {
	W, H     int
	Clusters []clusterBox
	Nodes    map[string]rect
	// lanes give the dependsOn edges that a straight curve would draw
	// across another node their lane: a vertical line in the gutter at
	// the right of their cluster's batches, by edge index.
	lanes map[int]int
}

// laneGap is the distance between lanes.
const laneGap = 7

// clusterBox is a cluster's box and its batches' boxes.
type clusterBox struct {
	rect
	Batches []rect
}

// lay out g: the clusters side by side, each a column of its batches in
// deploy order; inside a batch the bundles in rows, a bundle one row below
// the deepest bundle of the same batch it depends on, each row centred. A
// dependsOn edge that would cross another node goes round the nodes, in a
// lane at the right of its cluster's batches.
func lay(g *Graph) *layout {
	l := layOut(g, make([]int, len(g.Clusters)))
	lanes := map[int]int{}
	perCluster := make([]int, len(g.Clusters))
	for i, e := range g.Edges {
		if e.Kind == EdgeDependsOn && l.blocked(e) {
			ci := clusterIndex(g, e.FromCluster)
			lanes[i] = perCluster[ci]
			perCluster[ci]++
		}
	}
	l = layOut(g, perCluster)
	l.lanes = lanes
	return l
}

// blocked says whether the curve of dependsOn edge e would cross a node.
func (l *layout) blocked(e Edge) bool {
	from, ok1 := l.Nodes[e.From]
	to, ok2 := l.Nodes[e.To]
	if !ok1 || !ok2 {
		return false
	}
	x1, x2 := from.X+from.W/2, to.X+to.W/2
	lo, hi := min(x1, x2)-4, max(x1, x2)+4
	for id, r := range l.Nodes {
		if id == e.From || id == e.To {
			continue
		}
		if r.Y > from.Y+from.H && r.Y+r.H < to.Y && r.X < hi && lo < r.X+r.W {
			return true
		}
	}
	return false
}

// layOut places the parts of g, giving each cluster room for lanes[i]
// lanes.
func layOut(g *Graph, lanes []int) *layout {
	l := &layout{Nodes: map[string]rect{}}
	x := margin
	for _, c := range g.Clusters {
		rows := make([][][]*Node, len(c.Batches))
		inner := nodeW
		for bi, b := range c.Batches {
			rows[bi] = batchRows(b)
			for _, r := range rows[bi] {
				inner = max(inner, len(r)*(nodeW+nodeGapX)-nodeGapX)
			}
		}
		inner += 2 * batchPad
		cb := clusterBox{rect: rect{X: x, Y: margin, W: inner + 2*clusterPad + lanes[len(l.Clusters)]*laneGap}}
		y := margin + clusterHeader
		for bi := range c.Batches {
			h := batchHeader + batchPad
			if n := len(rows[bi]); n > 0 {
				h += n*nodeH + (n-1)*rowGap
			}
			br := rect{X: x + clusterPad, Y: y, W: inner, H: h}
			for ri, r := range rows[bi] {
				w := len(r)*(nodeW+nodeGapX) - nodeGapX
				nx := br.X + (br.W-w)/2
				ny := br.Y + batchHeader + ri*(nodeH+rowGap)
				for _, n := range r {
					l.Nodes[n.ID] = rect{X: nx, Y: ny, W: nodeW, H: nodeH}
					nx += nodeW + nodeGapX
				}
			}
			cb.Batches = append(cb.Batches, br)
			y += h + batchGap
		}
		cb.H = y - batchGap + clusterPad - margin
		if len(c.Batches) == 0 {
			cb.H = clusterHeader + clusterPad
		}
		l.Clusters = append(l.Clusters, cb)
		l.H = max(l.H, cb.Y+cb.H+margin)
		x += cb.W + clusterGap
	}
	l.W = max(x-clusterGap+margin, 2*margin)
	l.H = max(l.H, 2*margin)
	return l
}

// batchRows puts the nodes of b in rows: a node goes one row below the
// deepest node of b it depends on (b's nodes are in dependency order).
func batchRows(b Batch) [][]*Node {
	depth := map[string]int{}
	var rows [][]*Node
	for _, n := range b.Nodes {
		d := 0
		for _, dep := range n.DependsOn {
			if dd, ok := depth[dep]; ok {
				d = max(d, dd+1)
			}
		}
		depth[n.ID] = d
		for len(rows) <= d {
			rows = append(rows, nil)
		}
		rows[d] = append(rows[d], n)
	}
	return rows
}

// edgePath is the SVG path of edge i of g, and where its label goes; ok
// is false when an end is not drawn.
func (l *layout) edgePath(g *Graph, i int) (d string, lx, ly int, ok bool) {
	e := g.Edges[i]
	to, ok := l.Nodes[e.To]
	if !ok {
		return "", 0, 0, false
	}
	if e.Kind == EdgeDependsOn {
		from, ok := l.Nodes[e.From]
		if !ok {
			return "", 0, 0, false
		}
		x1, y1 := from.X+from.W/2, from.Y+from.H
		x2, y2 := to.X+to.W/2, to.Y
		if lane, ok := l.lanes[i]; ok {
			cb := l.Clusters[clusterIndex(g, e.FromCluster)]
			lx := cb.Batches[0].X + cb.Batches[0].W + laneGap*(lane+1)
			half := rowGap / 2
			return fmt.Sprintf("M%d %d V%d H%d V%d H%d V%d", x1, y1, y1+half, lx, y2-half, x2, y2), 0, 0, true
		}
		dy := max(20, (y2-y1)/2)
		return fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, x1, y1+dy, x2, y2-dy, x2, y2), 0, 0, true
	}
	var from rect
	if e.From != "" {
		if from, ok = l.Nodes[e.From]; !ok {
			return "", 0, 0, false
		}
	} else {
		ci := clusterIndex(g, e.FromCluster)
		if ci < 0 {
			return "", 0, 0, false
		}
		cb := l.Clusters[ci]
		from = rect{X: cb.X, Y: cb.Y, W: cb.W, H: clusterHeader}
	}
	y1, y2 := from.Y+from.H/2, to.Y+to.H/2
	x1, x2 := from.X+from.W, to.X
	if from.X > to.X {
		x1, x2 = from.X, to.X+to.W
	}
	dx := max(40, abs(x2-x1)/2)
	if x2 < x1 {
		dx = -dx
	}
	// Labels of edges going right sit above the curve's middle, of those
	// going left below it, so that two crossing edges keep them apart.
	ly = (y1+y2)/2 - 6
	if x2 < x1 {
		ly += 20
	}
	return fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, x1+dx, y1, x2-dx, y2, x2, y2), (x1 + x2) / 2, ly, true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// clip shortens s to n characters, ending it in "…" when cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
