package pipeline

import (
	"slices"

	"wookie.dev/wookie/internal/lock"
)

// ChartUse is a chart of a Plan: its pin in the lock file, its state in
// the chart cache, and the bundles that use it.
type ChartUse struct {
	Chart   string `json:"chart"`
	Repo    string `json:"repo"`
	Version string `json:"version"`
	// ResolvedVersion and Digest are the pin; empty when not pinned.
	ResolvedVersion string `json:"resolvedVersion,omitempty"`
	Digest          string `json:"digest,omitempty"`
	// Cache is the state of the pinned chart in the cache (cached,
	// missing, corrupt, local), "-" when it is not pinned.
	Cache string `json:"cache"`
	// Bundles are "cluster/bundle", sorted.
	Bundles []string `json:"bundles"`
}

// ChartUsage lists the charts pl uses, in the lock file's order of
// references, with their pins, their state in the cache and the bundles
// that use each.
func (p *Pipeline) ChartUsage(pl *Plan) ([]ChartUse, error) {
	lf, err := p.ReadLock()
	if err != nil {
		return nil, err
	}
	client, err := p.ChartClient()
	if err != nil {
		return nil, err
	}
	var out []ChartUse
	for _, r := range lock.Refs(pl) {
		use := ChartUse{Chart: r.Name, Repo: r.Repo, Version: r.Version, Cache: "-", Bundles: []string{}}
		if e, ok := lf.Lookup(r); ok {
			use.ResolvedVersion = e.ResolvedVersion
			use.Digest = e.Digest
			use.Cache = client.CacheState(e)
		}
		for _, c := range pl.Clusters {
			for _, b := range c.Batches {
				for _, u := range b.Bundles {
					if u.Chart != nil && lock.RefOf(u.Chart) == r {
						use.Bundles = append(use.Bundles, c.Name+"/"+u.Name)
					}
				}
			}
		}
		slices.Sort(use.Bundles)
		out = append(out, use)
	}
	return out, nil
}
