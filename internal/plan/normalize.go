package plan

import (
	"cmp"
	"container/heap"
	"slices"
	"strings"
)

// Normalize validates p and puts it into canonical form in place.
//
// Validation collects every problem and returns them as Errors, sorted; on
// error p is left unchanged. The rules are listed in docs/plan.md.
//
// The canonical form is:
//   - clusters sorted by name;
//   - batches sorted by priority, then name;
//   - bundles of a batch in dependency order: a bundle comes after the
//     bundles of its batch it depends on, and among bundles that are ready
//     the smallest name comes first (Kahn's algorithm);
//   - dependsOn lists sorted;
//   - kubeVersion without a leading "v";
//   - k3d ports sorted by name, k3d registries sorted without duplicates;
//   - a cluster's dependsOn sorted and its inputs sorted by name;
//   - nil Clusters, Batches and Bundles replaced by empty slices, and empty
//     Manifests, DependsOn, Labels and chart Values replaced by nil, so that
//     the encoded form is stable and decodes to the same Plan.
//
// Normalize is idempotent.
func Normalize(p *Plan) error {
	if p == nil {
		return Errors{{Msg: "no plan (nil)"}}
	}
	if errs := validate(p); len(errs) > 0 {
		sortErrors(errs)
		return errs
	}
	canonicalize(p)
	return nil
}

// canonicalize puts a valid p into canonical form.
func canonicalize(p *Plan) {
	if p.Clusters == nil {
		p.Clusters = []Cluster{}
	}
	slices.SortFunc(p.Clusters, func(a, b Cluster) int { return strings.Compare(a.Name, b.Name) })
	if p.GitOps != nil && p.GitOps.Fleet != nil {
		slices.Sort(p.GitOps.Fleet.Downstream)
		p.GitOps.Fleet.Downstream = slices.Compact(p.GitOps.Fleet.Downstream)
	}
	for ci := range p.Clusters {
		c := &p.Clusters[ci]
		c.KubeVersion = strings.TrimPrefix(c.KubeVersion, "v")
		if k := c.K3d; k != nil {
			canonicalK3d(k)
		}
		canonicalLinks(c)
		if pr := c.Provides; pr != nil {
			slices.Sort(pr.Namespaces)
			pr.Namespaces = slices.Compact(pr.Namespaces)
			if len(pr.Namespaces) == 0 {
				pr.Namespaces = nil
			}
			if len(pr.Kinds) == 0 {
				pr.Kinds = nil
			}
			if pr.Namespaces == nil && pr.Kinds == nil {
				c.Provides = nil
			}
		}
		if c.Batches == nil {
			c.Batches = []Batch{}
		}
		slices.SortFunc(c.Batches, func(a, b Batch) int {
			return cmp.Or(cmp.Compare(a.Priority, b.Priority), strings.Compare(a.Name, b.Name))
		})
		for bi := range c.Batches {
			b := &c.Batches[bi]
			for ui := range b.Bundles {
				u := &b.Bundles[ui]
				slices.Sort(u.DependsOn)
				if len(u.DependsOn) == 0 {
					u.DependsOn = nil
				}
				if len(u.Manifests) == 0 {
					u.Manifests = nil
				}
				if u.Wait != nil && *u.Wait {
					u.Wait = nil
				}
				if len(u.Readiness) == 0 {
					u.Readiness = nil
				}
				if len(u.Tests) == 0 {
					u.Tests = nil
				}
				if len(u.ResourceScopes) == 0 {
					u.ResourceScopes = nil
				}
				if u.Checks != nil && len(u.Checks.Skip) == 0 {
					u.Checks = nil
				}
				if u.CRDs == CRDsSeparate {
					u.CRDs = ""
				}
				if len(u.Labels) == 0 {
					u.Labels = nil
				}
				if u.Chart != nil && len(u.Chart.Values) == 0 {
					u.Chart.Values = nil
				}
			}
			b.Bundles = dependencyOrder(b.Bundles)
		}
	}
}

// canonicalK3d sorts k's ports by name and its registries, and replaces
// empty lists by nil; k3sArgs keep their order.
func canonicalK3d(k *K3dCluster) {
	slices.SortStableFunc(k.Ports, func(a, b K3dPort) int { return strings.Compare(a.Name, b.Name) })
	if len(k.Ports) == 0 {
		k.Ports = nil
	}
	if len(k.K3sArgs) == 0 {
		k.K3sArgs = nil
	}
	if r := k.Registries; r != nil {
		slices.Sort(r.Use)
		r.Use = slices.Compact(r.Use)
		if len(r.Use) == 0 {
			r.Use = nil
		}
		if r.Use == nil && r.Config == "" {
			k.Registries = nil
		}
	}
}

// dependencyOrder returns bundles, whose names are unique and whose
// dependencies form no cycle, in dependency order: Kahn's algorithm over the
// dependsOn edges inside the batch, taking the smallest ready name first.
// It returns an empty slice for none.
func dependencyOrder(bundles []Bundle) []Bundle {
	index := make(map[string]int, len(bundles))
	for i := range bundles {
		index[bundles[i].Name] = i
	}
	waiting := make([]int, len(bundles))      // dependencies not yet placed
	dependents := make([][]int, len(bundles)) // bundles that wait for i
	for i := range bundles {
		for _, d := range bundles[i].DependsOn {
			if j, ok := index[d]; ok {
				waiting[i]++
				dependents[j] = append(dependents[j], i)
			}
		}
	}
	ready := &byName{bundles: bundles}
	for i := range bundles {
		if waiting[i] == 0 {
			ready.idx = append(ready.idx, i)
		}
	}
	heap.Init(ready)
	out := make([]Bundle, 0, len(bundles))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		out = append(out, bundles[i])
		for _, j := range dependents[i] {
			if waiting[j]--; waiting[j] == 0 {
				heap.Push(ready, j)
			}
		}
	}
	if len(out) < len(bundles) { // not reached: validation rules out cycles
		for i := range bundles {
			if waiting[i] > 0 {
				out = append(out, bundles[i])
			}
		}
	}
	return out
}

// byName is a min-heap of bundle indexes ordered by bundle name.
type byName struct {
	bundles []Bundle
	idx     []int
}

func (h *byName) Len() int           { return len(h.idx) }
func (h *byName) Less(i, j int) bool { return h.bundles[h.idx[i]].Name < h.bundles[h.idx[j]].Name }
func (h *byName) Swap(i, j int)      { h.idx[i], h.idx[j] = h.idx[j], h.idx[i] }
func (h *byName) Push(x any)         { h.idx = append(h.idx, x.(int)) }
func (h *byName) Pop() any {
	x := h.idx[len(h.idx)-1]
	h.idx = h.idx[:len(h.idx)-1]
	return x
}
