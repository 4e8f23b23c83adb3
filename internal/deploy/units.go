package deploy

import (
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// unit is what a deploy schedules: one batch of one cluster.
type unit struct {
	cluster string
	// batch is the batch's index in the cluster's rendering; -1 stands for
	// the whole cluster when its batches are not known (it could not be
	// rendered before its inputs were read) or it has none.
	batch int
}

// link is what a unit waits for, besides its cluster's earlier batch.
type link struct {
	// to is the unit waited for; with whole, the last unit of its cluster.
	to unit
	// whole waits until the cluster of to is deployed entirely.
	whole bool
	// input names the input that makes the link; "" for dependsOn.
	input string
	// object is the input's object, Kind/namespace/name.
	object string
}

// schedule is the units of the selected clusters of a deploy and what
// each waits for.
type schedule struct {
	// units lists every unit: clusters in Plan order, batches in order.
	units []unit
	// links are what each unit waits for, besides its cluster's earlier
	// batch, in the order of the cluster's dependsOn, then of the inputs'
	// names.
	links map[unit][]link
	// needs are the inputs a unit's bundles refer to, sorted.
	needs map[unit][]string
	// batches are the batch names of each cluster with a known rendering.
	batches map[string][]string
}

// newSchedule ties the units of clusters, the selected clusters in Plan
// order, together. rendered holds the rendering of each cluster, with the
// input references in place, or nil when there is none.
//
// The first unit of a cluster waits for every selected cluster of its
// dependsOn, entirely. A batch that refers to an input of a selected
// cluster waits for the first batch of that cluster whose objects include
// the input's object, or for the whole cluster when no batch makes it (a
// controller does) or that cluster has no rendering. A cluster without a
// rendering is one unit that needs all of its inputs, and waits for the
// whole of every selected cluster they come from.
func newSchedule(clusters []*plan.Cluster, rendered map[string]*render.Cluster) *schedule {
	s := &schedule{links: map[unit][]link{}, needs: map[unit][]string{}, batches: map[string][]string{}}
	selected := map[string]bool{}
	for _, pc := range clusters {
		selected[pc.Name] = true
		if rc := rendered[pc.Name]; rc != nil {
			for _, b := range rc.Batches {
				s.batches[pc.Name] = append(s.batches[pc.Name], b.Name)
			}
		}
	}
	inputLink := func(in *plan.Input, whole bool) link {
		l := link{input: in.Name, object: sourceName(&in.From)}
		if p := producer(rendered[in.From.Cluster], &in.From); p >= 0 && !whole {
			l.to = unit{in.From.Cluster, p}
		} else {
			l.to, l.whole = s.last(in.From.Cluster), true
		}
		return l
	}
	for _, pc := range clusters {
		first := s.first(pc.Name)
		for _, d := range pc.DependsOn {
			if selected[d] && d != pc.Name {
				s.links[first] = append(s.links[first], link{to: s.last(d), whole: true})
			}
		}
		rc := rendered[pc.Name]
		if rc == nil || len(rc.Batches) == 0 {
			s.units = append(s.units, first)
			if rc == nil {
				s.needs[first] = plan.InputNames(pc)
				for i := range pc.Inputs {
					if in := &pc.Inputs[i]; selected[in.From.Cluster] && in.From.Cluster != pc.Name {
						s.links[first] = append(s.links[first], inputLink(in, true))
					}
				}
			}
			continue
		}
		for bi := range rc.Batches {
			u := unit{pc.Name, bi}
			s.units = append(s.units, u)
			s.needs[u] = batchInputs(pc, &rc.Batches[bi])
			for _, name := range s.needs[u] {
				i := slices.IndexFunc(pc.Inputs, func(in plan.Input) bool { return in.Name == name })
				if i < 0 || !selected[pc.Inputs[i].From.Cluster] || pc.Inputs[i].From.Cluster == pc.Name {
					continue
				}
				s.links[u] = append(s.links[u], inputLink(&pc.Inputs[i], false))
			}
		}
	}
	return s
}

// first returns the first unit of a cluster.
func (s *schedule) first(cluster string) unit {
	if len(s.batches[cluster]) == 0 {
		return unit{cluster, -1}
	}
	return unit{cluster, 0}
}

// last returns the last unit of a cluster: the one after which all of it
// is deployed.
func (s *schedule) last(cluster string) unit {
	return unit{cluster, len(s.batches[cluster]) - 1}
}

// batchInputs returns the inputs the bundles of the rendered batch b of pc
// refer to, sorted, without duplicates. Generated bundles (the CRDs of a
// chart's crds/ directory, which are not templates) refer to none.
func batchInputs(pc *plan.Cluster, b *render.Batch) []string {
	var out []string
	for _, u := range b.Bundles {
		if u.Generated {
			continue
		}
		for _, pb := range pc.Batches {
			for i := range pb.Bundles {
				if pb.Bundles[i].Name == u.Name {
					out = append(out, plan.BundleInputs(&pb.Bundles[i])...)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// producer returns the index of the first batch of rc that applies the
// object src names (same API group, kind, namespace and name), or -1 when
// none does or rc is nil.
func producer(rc *render.Cluster, src *plan.InputSource) int {
	if rc == nil {
		return -1
	}
	gk := schema.FromAPIVersionAndKind(src.APIVersion, src.Kind).GroupKind()
	for bi, b := range rc.Batches {
		for _, u := range b.Bundles {
			for _, o := range u.Objects {
				if o.GroupVersionKind().GroupKind() == gk && o.GetName() == src.Name && o.GetNamespace() == src.Namespace {
					return bi
				}
			}
		}
	}
	return -1
}

// cycle returns a cycle of units that wait for each other, the first at
// both ends, or nil.
func (s *schedule) cycle() []unit {
	return findCycle(s.units, func(u unit) []unit {
		var out []unit
		for _, l := range s.links[u] {
			out = append(out, l.to)
		}
		if u.batch > 0 {
			out = append(out, unit{u.cluster, u.batch - 1})
		}
		return out
	})
}

// describe writes a chain of units with what ties each to the next:
// "east batch services (input west-token) -> west batch services".
func (s *schedule) describe(chain []unit) string {
	var b strings.Builder
	for i, u := range chain {
		if i > 0 {
			b.WriteString(" -> ")
		}
		b.WriteString(s.name(u))
		if i+1 == len(chain) {
			break
		}
		for _, l := range s.links[u] {
			if l.to != chain[i+1] {
				continue
			}
			why := "dependsOn"
			if l.input != "" {
				why = "input " + l.input
			}
			if l.whole {
				why += ": all of cluster " + l.to.cluster
			}
			b.WriteString(" (" + why + ")")
			break
		}
	}
	return b.String()
}

// name names a unit: "east batch services", or "cluster east" for a whole
// cluster.
func (s *schedule) name(u unit) string {
	if u.batch < 0 {
		return "cluster " + u.cluster
	}
	return u.cluster + " batch " + s.batches[u.cluster][u.batch]
}

// findCycle returns a cycle of the graph of nodes and next as its nodes,
// the first at both ends, or nil. It visits nodes, and the nodes next
// returns, in their order, so the answer is stable.
func findCycle[N comparable](nodes []N, next func(N) []N) []N {
	const (
		unseen = iota
		active
		finished
	)
	state := map[N]int{}
	var stack []N
	var visit func(n N) []N
	visit = func(n N) []N {
		state[n] = active
		stack = append(stack, n)
		for _, m := range next(n) {
			switch state[m] {
			case active:
				i := slices.Index(stack, m)
				return append(slices.Clone(stack[i:]), m)
			case unseen:
				if c := visit(m); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = finished
		return nil
	}
	for _, n := range nodes {
		if state[n] == unseen {
			if c := visit(n); c != nil {
				return c
			}
		}
	}
	return nil
}
