package check_test

import (
	"context"
	"testing"

	"wookie.dev/wookie/internal/chart"
	"wookie.dev/wookie/internal/check"
	"wookie.dev/wookie/internal/render"
	"wookie.dev/wookie/internal/render/rendertest"
)

// BenchmarkCheck measures check.Run on the default stack (istio-base,
// istiod and the ingress gateway from local Istio-shaped charts, and the
// three namespace bundles) against rendering it: render (cold, no render
// cache) alone and render followed by check. Target: render+check within
// 1.2 times render. The chart archives are read before the loop.
func BenchmarkCheck(b *testing.B) {
	p, dir := rendertest.DefaultStack(b)
	opts := render.Options{Charts: &chart.PlanSource{Client: &chart.Client{BaseDir: dir}}, Version: "bench"}
	ctx := context.Background()
	rendered, err := render.Render(ctx, p, opts)
	if err != nil {
		b.Fatal(err)
	}
	if r, err := check.Run(p, rendered, check.Options{}); err != nil || r.Errors+r.Warnings > 0 {
		b.Fatalf("the default stack does not pass: %v %+v", err, r)
	}
	b.Run("render", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := render.Render(ctx, p, opts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("render+check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			res, err := render.Render(ctx, p, opts)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := check.Run(p, res, check.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := check.Run(p, rendered, check.Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
