package render

import (
	"slices"

	"wookie.dev/wookie/internal/plan"
)

// Picked is what a plan.Selection picks of a rendered cluster. A nil
// *Picked picks everything.
type Picked struct {
	// Bundles are the bundles picked, by name.
	Bundles map[string]bool
	// Batches are the batches picked as a whole (by Selection.Batches or
	// Until), by name: what leaves them is theirs to prune.
	Batches map[string]bool
	// Deps are the dependencies of the picked bundles (see
	// plan.Selection) that are not picked, in deploy order.
	Deps []BundleRef
}

// BundleRef names a bundle of a rendered cluster and its batch.
type BundleRef struct {
	Batch, Bundle string
}

// Pick returns what s picks of c; nil when s is zero.
func Pick(c *Cluster, s plan.Selection) *Picked {
	if s.IsZero() {
		return nil
	}
	names, prios := make([]string, len(c.Batches)), make([]int, len(c.Batches))
	for i, b := range c.Batches {
		names[i], prios[i] = b.Name, b.Priority
	}
	p := &Picked{Bundles: map[string]bool{}, Batches: map[string]bool{}}
	for i, b := range c.Batches {
		if s.BatchPicked(names, prios, i) {
			p.Batches[b.Name] = true
			for _, u := range b.Bundles {
				p.Bundles[u.Name] = true
			}
		}
	}
	for _, name := range s.Bundles {
		u := bundleIn(c, name)
		if u == nil {
			continue
		}
		p.Bundles[name] = true
		// The CRDs of its chart's crds/ are the bundle's own.
		if crds := bundleIn(c, name+"-crds"); crds != nil && crds.Generated && slices.Contains(u.DependsOn, crds.Name) {
			p.Bundles[crds.Name] = true
		}
	}
	// The dependencies: every bundle of the batches before the last one
	// with a picked bundle, and in each batch what its picked bundles
	// depend on.
	last := -1
	for i, b := range c.Batches {
		if slices.ContainsFunc(b.Bundles, func(u Bundle) bool { return p.Bundles[u.Name] }) {
			last = i
		}
	}
	for i, b := range c.Batches {
		deps := map[string]bool{}
		for _, u := range b.Bundles {
			if i < last {
				deps[u.Name] = true
			} else if p.Bundles[u.Name] {
				dependsOn(b, u.Name, deps)
			}
		}
		for _, u := range b.Bundles {
			if deps[u.Name] && !p.Bundles[u.Name] {
				p.Deps = append(p.Deps, BundleRef{Batch: b.Name, Bundle: u.Name})
			}
		}
	}
	if s.WithDeps {
		for _, d := range p.Deps {
			p.Bundles[d.Bundle] = true
		}
		p.Deps = nil
	}
	return p
}

// dependsOn adds to deps the bundles of b that name depends on, directly
// or not.
func dependsOn(b Batch, name string, deps map[string]bool) {
	i := slices.IndexFunc(b.Bundles, func(u Bundle) bool { return u.Name == name })
	if i < 0 {
		return
	}
	for _, d := range b.Bundles[i].DependsOn {
		if !deps[d] {
			deps[d] = true
			dependsOn(b, d, deps)
		}
	}
}

// Has reports whether p picks the bundle of name.
func (p *Picked) Has(name string) bool {
	return p == nil || p.Bundles[name]
}

// Batch returns b with only the bundles p picks; ok is false when it
// picks none.
func (p *Picked) Batch(b *Batch) (out *Batch, ok bool) {
	if p == nil {
		return b, true
	}
	part := *b
	part.Bundles = nil
	for _, u := range b.Bundles {
		if p.Bundles[u.Name] {
			part.Bundles = append(part.Bundles, u)
		}
	}
	return &part, len(part.Bundles) > 0
}

// Part returns the part of r that s picks in the clusters named
// (every cluster when none): clusters, and batches, with nothing picked
// are left out, and so are the omitted bundles and objects of what is
// left out. Warnings stay.
func (r *Result) Part(clusters []string, s plan.Selection) *Result {
	out := &Result{Warnings: r.Warnings}
	picks := map[string]*Picked{}
	for i := range r.Clusters {
		c := &r.Clusters[i]
		if len(clusters) > 0 && !slices.Contains(clusters, c.Name) {
			continue
		}
		p := Pick(c, s)
		picks[c.Name] = p
		part := Cluster{Name: c.Name}
		for bi := range c.Batches {
			if b, ok := p.Batch(&c.Batches[bi]); ok {
				part.Batches = append(part.Batches, *b)
			}
		}
		if len(part.Batches) > 0 {
			out.Clusters = append(out.Clusters, part)
		}
	}
	in := func(cluster, batch, bundle string) bool {
		p, ok := picks[cluster]
		if !ok {
			return false
		}
		return p == nil || p.Bundles[bundle] || p.Batches[batch] || slices.Contains(s.Bundles, bundle)
	}
	for _, o := range r.Omitted {
		if in(o.Cluster, o.Batch, o.Bundle) {
			out.Omitted = append(out.Omitted, o)
		}
	}
	for _, o := range r.OmittedObjects {
		if in(o.Cluster, o.Batch, o.Bundle) {
			out.OmittedObjects = append(out.OmittedObjects, o)
		}
	}
	return out
}
