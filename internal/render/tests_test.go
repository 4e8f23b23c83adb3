package render

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render/rendertest"
)

// TestHelmTestHooks keeps a chart's test hooks apart from its objects, in
// Bundle.Tests, with the bundle's namespace and wookie's labels, through
// the render cache too.
func TestHelmTestHooks(t *testing.T) {
	src := charts(t, rendertest.Istiod())
	cache := &Cache{Dir: t.TempDir()}
	p := mkPlan(t, plan.Batch{Name: "apps", Bundles: []plan.Bundle{chartBundle("istiod", "istio-system", "istiod")}})
	for _, run := range []string{"cache miss", "cache hit"} {
		r, err := Render(context.Background(), p, Options{Charts: src, Cache: cache, Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		u := r.Clusters[0].Batches[0].Bundles[0]
		for _, o := range u.Objects {
			if o.Hook == HookTest {
				t.Errorf("%s: test hook %s among the objects", run, o.ID())
			}
		}
		type test struct{ ID, Hook, Source, Bundle string }
		var got []test
		for _, o := range u.Tests {
			got = append(got, test{o.ID(), o.Hook, o.Source, o.GetLabels()[LabelBundle]})
		}
		want := []test{{"Pod istio-system/istiod-test", HookTest, "istiod/templates/tests/test-connection.yaml", "istiod"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: tests (-want +got):\n%s", run, diff)
		}
	}
}
