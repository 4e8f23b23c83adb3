package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWithoutBundles(t *testing.T) {
	p := validPlan()
	gen := cacertsBundle("istio-cacerts", cl)
	p.Clusters[0].Batches[0].Bundles = append(p.Clusters[0].Batches[0].Bundles, gen)
	p.Clusters[0].Batches[1].Bundles[0].DependsOn = []string{"istio-base", "istio-cacerts"}
	if err := Normalize(p); err != nil {
		t.Fatal(err)
	}
	before, err := EncodeJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	c := &p.Clusters[0]
	if got := WithoutBundles(c, func(*Bundle) bool { return false }); got != c {
		t.Error("dropping nothing made a copy")
	}
	got := WithoutBundles(c, func(u *Bundle) bool { return u.IsSensitive() })
	want := validPlan().Clusters[0]
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("without the generated bundle (-want +got):\n%s", diff)
	}
	got = WithoutBundles(c, func(u *Bundle) bool { return u.Name != "istiod" })
	want.Batches[0].Bundles = []Bundle{}
	want.Batches[1].Bundles[0].DependsOn = nil
	if diff := cmp.Diff(&want, got); diff != "" {
		t.Errorf("istiod alone (-want +got):\n%s", diff)
	}
	after, err := EncodeJSON(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(before), string(after)); diff != "" {
		t.Errorf("WithoutBundles changed its input (-before +after):\n%s", diff)
	}
}
