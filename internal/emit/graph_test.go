package emit

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGraphOrder checks that the graph every format writes its
// dependencies from implies exactly the Plan's order.
func TestGraphOrder(t *testing.T) {
	p, r := fixture(t)
	s, err := newSite(p, r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range s.clusters {
		edges := map[string][]string{}
		for _, n := range g.nodes {
			edges[n.name] = n.deps
		}
		if diff := cmp.Diff(planOrder(r, g.name), closure(t, edges)); diff != "" {
			t.Errorf("cluster %s: order (-plan +graph):\n%s", g.name, diff)
		}
	}
	east := s.clusters[0]
	tests := []struct {
		bundle   string
		wave     int
		needsNS  bool
		crdsFrom []string
	}{
		{"base", 0, true, nil},
		{"operator-crds", 0, true, nil},
		{"ns-mesh", 1, false, nil},
		{"operator", 2, false, nil},
		{"settings", 3, false, nil},
		{"app", 4, true, []string{"base"}},
	}
	for _, tt := range tests {
		n := east.byName[tt.bundle]
		if n == nil {
			t.Fatalf("no node %s", tt.bundle)
		}
		if n.wave != tt.wave {
			t.Errorf("%s: wave %d, want %d", tt.bundle, n.wave, tt.wave)
		}
		if got := east.needsNamespace(n); got != tt.needsNS {
			t.Errorf("%s: needsNamespace %v, want %v", tt.bundle, got, tt.needsNS)
		}
		if diff := cmp.Diff(tt.crdsFrom, east.crdsFrom(n)); diff != "" {
			t.Errorf("%s: crdsFrom (-want +got):\n%s", tt.bundle, diff)
		}
	}
}
