package render

import (
	"runtime"

	"golang.org/x/sync/errgroup"
)

// parallelFor runs fn(0) … fn(n-1), up to GOMAXPROCS at once, and returns
// when all have run. fn must not touch what another index does.
func parallelFor(n int, fn func(i int)) {
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range n {
		g.Go(func() error {
			fn(i)
			return nil
		})
	}
	_ = g.Wait()
}
