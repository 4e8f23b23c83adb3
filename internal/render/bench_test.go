package render_test

import (
	"context"
	"path/filepath"
	"testing"

	"wookie.dev/wookie/internal/chart"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/internal/render/rendertest"
)

// BenchmarkRender renders the default stack (istio-base, istiod and the
// ingress gateway from local Istio-shaped charts, and the three namespace
// bundles) as `wookie render` does after evaluation: cold renders every
// chart, warm finds every chart in a filled render cache. The chart
// archives are read before the loop, so the figures are rendering alone.
func BenchmarkRender(b *testing.B) {
	p, dir := rendertest.DefaultStack(b)
	src := &chart.PlanSource{Client: &chart.Client{BaseDir: dir}}
	ctx := context.Background()
	charts := 0
	for _, c := range p.Clusters {
		for _, batch := range c.Batches {
			for _, u := range batch.Bundles {
				if u.Chart != nil {
					charts++
					if _, err := src.Archive(ctx, u.Chart); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	}
	if charts != 3 {
		b.Fatalf("the default stack has %d charts, want 3", charts)
	}

	for _, bc := range []struct {
		name  string
		cache *render.Cache
	}{
		{"cold", nil},
		{"warm", &render.Cache{Dir: filepath.Join(dir, "cache")}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := render.Options{Charts: src, Cache: bc.cache, Version: "bench"}
			if bc.cache != nil {
				if _, err := render.Render(ctx, p, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := render.Render(ctx, p, opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMarshalYAML writes the default stack as `wookie render` does
// (render.MarshalYAML per bundle, after Render): encoded renders every
// object's YAML, cached takes it from the render cache, where the object
// has not changed since (only metadata, which gets wookie's labels, is
// encoded).
func BenchmarkMarshalYAML(b *testing.B) {
	p, dir := rendertest.DefaultStack(b)
	src := &chart.PlanSource{Client: &chart.Client{BaseDir: dir}}
	ctx := context.Background()
	for _, bc := range []struct {
		name  string
		cache *render.Cache
	}{
		{"encoded", nil},
		{"cached", &render.Cache{Dir: filepath.Join(dir, "cache")}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			opts := render.Options{Charts: src, Cache: bc.cache, Version: "bench"}
			if _, err := render.Render(ctx, p, opts); err != nil { // fills the cache
				b.Fatal(err)
			}
			r, err := render.Render(ctx, p, opts)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, c := range r.Clusters {
					for _, batch := range c.Batches {
						for _, u := range batch.Bundles {
							data, err := render.MarshalYAML(u.Objects)
							if err != nil {
								b.Fatal(err)
							}
							n += len(data)
						}
					}
				}
				b.SetBytes(int64(n))
			}
		})
	}
}
