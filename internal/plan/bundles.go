package plan

import "slices"

// WithoutBundles returns a copy of c without the bundles drop selects, and
// without the dependsOn entries that name them, so that what is left is a
// valid cluster with every dependency in it; batches stay, empty or not. It
// returns c itself when drop selects nothing. c is not changed.
func WithoutBundles(c *Cluster, drop func(*Bundle) bool) *Cluster {
	gone := map[string]bool{}
	for bi := range c.Batches {
		for ui := range c.Batches[bi].Bundles {
			if u := &c.Batches[bi].Bundles[ui]; drop(u) {
				gone[u.Name] = true
			}
		}
	}
	if len(gone) == 0 {
		return c
	}
	out := *c
	out.Batches = make([]Batch, len(c.Batches))
	for bi, b := range c.Batches {
		b.Bundles = make([]Bundle, 0, len(b.Bundles))
		for _, u := range c.Batches[bi].Bundles {
			if gone[u.Name] {
				continue
			}
			u.DependsOn = slices.DeleteFunc(slices.Clone(u.DependsOn), func(d string) bool { return gone[d] })
			if len(u.DependsOn) == 0 {
				u.DependsOn = nil
			}
			b.Bundles = append(b.Bundles, u)
		}
		out.Batches[bi] = b
	}
	return &out
}
