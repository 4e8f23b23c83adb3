package deploy

import (
	"fmt"
	"strings"
	"testing"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// Every line of a deploy's error names its cluster, batch and bundle, also
// when one cluster has several problems and several clusters fail: the
// CLI prints each line on its own.
func TestDeployErrorLines(t *testing.T) {
	t.Parallel()
	k := startBare(t, "lines")
	ctx := testContext(t)
	cluster := func(name string) plan.Cluster {
		group := name + ".example.com"
		return k.cluster(name, batch("apps", 0,
			bundle("widget-crd", "default", widgetCRD(t, group, false)),
			bundle("widgets-a", name, widget(t, group, "a", "")),
			bundle("widgets-b", name, widget(t, group, "b", "")),
		))
	}
	p := multiPlan(t, cluster("east"), cluster("west"))
	_, events, err := deployPlan(ctx, t, p, Options{})
	if err == nil {
		t.Fatalf("deploy succeeded; events %v", clusterEvents(events))
	}
	lines := strings.Split(err.Error(), "\n")
	var want []string
	for _, c := range []string{"east", "west"} {
		for _, b := range []string{"a", "b"} {
			want = append(want, fmt.Sprintf("cluster %s: batch apps: bundle widgets-%s applies Widget %s, whose CRD bundle widget-crd applies", c, b, b))
		}
	}
	if len(lines) != len(want) {
		t.Fatalf("error has %d lines, want %d:\n%v", len(lines), len(want), err)
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("error line %d:\n got %s\nwant %s...", i, lines[i], want[i])
		}
	}
}

// A cluster that reads inputs and cannot be rendered with their
// references in place is reported with its render error, naming cluster
// and bundle, not as a cycle of clusters waiting for each other, which is
// only what not knowing its batches would make of it; nothing is applied.
func TestDeployInputsClusterRenderError(t *testing.T) {
	t.Parallel()
	east, west := startBare(t, "re-east"), startBare(t, "re-west")
	ctx := testContext(t)
	broken := meshCluster(t, east, "east", "west", "namespaces")
	broken.Batches[1].Bundles = append(broken.Batches[1].Bundles,
		plan.Bundle{Name: "broken", Namespace: "east", Chart: &plan.Chart{Repo: "./charts", Name: "nowhere"}})
	p := multiPlan(t, broken, meshCluster(t, west, "west", "east", "namespaces"))
	_, events, err := deployRendered(ctx, t, p, nil, Options{Render: render.Options{Charts: archives{}}})
	if err == nil {
		t.Fatalf("deploy succeeded; events %v", clusterEvents(events))
	}
	lines := strings.Split(err.Error(), "\n")
	if !strings.HasPrefix(lines[0], "cluster east: bundle broken: ") || !strings.Contains(lines[0], "nowhere") || strings.Contains(err.Error(), "depend on each other") {
		t.Errorf("error:\n%v\nwant the render error of cluster east, bundle broken", err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "cluster east: ") {
			t.Errorf("a line that names no cluster: %s", l)
		}
	}
	if len(events) > 0 {
		t.Errorf("events: %v", clusterEvents(events))
	}
	for name, k := range map[string]*testCluster{"east": east, "west": west} {
		if k.get(ctx, t, "v1", "Secret", "istio-system", "reader-token") != nil || k.inventoryIDsOf(ctx, t, name) != nil {
			t.Errorf("something was applied to %s", name)
		}
	}
}
