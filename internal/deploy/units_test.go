package deploy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"wookie.dev/wookie/internal/plan"
	"wookie.dev/wookie/internal/render"
)

// rendered makes a rendered cluster of batches b0, b1, ..., each with the
// bundles given, whose objects are written "apiVersion kind
// namespace/name" (or "apiVersion kind name" when cluster-scoped).
func rendered(name string, batches ...[]renderedBundle) *render.Cluster {
	rc := &render.Cluster{Name: name}
	for i, bundles := range batches {
		b := render.Batch{Name: fmt.Sprintf("b%d", i)}
		for _, rb := range bundles {
			u := render.Bundle{Name: rb.name, Generated: rb.generated}
			for _, o := range rb.objects {
				var apiVersion, kind, id string
				fmt.Sscan(o, &apiVersion, &kind, &id)
				obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind}}
				if ns, n, ok := strings.Cut(id, "/"); ok {
					obj.SetNamespace(ns)
					obj.SetName(n)
				} else {
					obj.SetName(id)
				}
				u.Objects = append(u.Objects, &render.Object{Unstructured: obj})
			}
			b.Bundles = append(b.Bundles, u)
		}
		rc.Batches = append(rc.Batches, b)
	}
	return rc
}

// renderedBundle is a bundle for rendered.
type renderedBundle struct {
	name      string
	generated bool
	objects   []string
}

// refs makes a Plan bundle whose one manifest refers to the inputs.
func refs(name string, inputs ...string) plan.Bundle {
	data := map[string]any{}
	for _, in := range inputs {
		data[in] = "x-" + plan.InputRef(in)
	}
	return plan.Bundle{Name: name, Namespace: "ns", Manifests: []plan.Object{{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": name}, "data": data}}}
}

// secretInput reads input name from a Secret of cluster.
func secretInput(name, cluster, namespace, object string) plan.Input {
	return plan.Input{Name: name, From: plan.InputSource{Cluster: cluster, APIVersion: "v1", Kind: "Secret", Namespace: namespace, Name: object, Expression: "data.x"}}
}

// The schedule: which unit waits for which, from the bundles' input
// references and the batch that makes each input's object.
func TestNewSchedule(t *testing.T) {
	// west makes the Secret ns/token in b1 (b0 has one of the same name
	// in another namespace, and a ConfigMap of that name), a cluster-scoped
	// Widget in b0 and a Deployment in b0.
	west := rendered("west",
		[]renderedBundle{{name: "ns", objects: []string{"v1 Secret other/token", "v1 ConfigMap ns/token", "example.com/v1 Widget w", "apps/v1 Deployment ns/d"}}},
		[]renderedBundle{{name: "token", objects: []string{"v1 Secret ns/token"}}},
	)
	westPlan := plan.Cluster{Name: "west", Batches: []plan.Batch{{Name: "b0", Bundles: []plan.Bundle{refs("ns")}}, {Name: "b1", Bundles: []plan.Bundle{refs("token")}}}}
	tests := []struct {
		name     string
		east     plan.Cluster
		rendered *render.Cluster // east's
		others   []plan.Cluster  // selected besides east and west
		noWest   bool            // west has no rendering
		want     map[string][]string
		needs    map[string][]string
	}{{
		name: "an input from the batch that makes the object",
		east: plan.Cluster{Name: "east", Inputs: []plan.Input{secretInput("t", "west", "ns", "token")},
			Batches: []plan.Batch{{Name: "b0", Bundles: []plan.Bundle{refs("a")}}, {Name: "b1", Bundles: []plan.Bundle{refs("b", "t")}}}},
		rendered: rendered("east", []renderedBundle{{name: "a"}}, []renderedBundle{{name: "b"}}),
		want:     map[string][]string{"east batch b1": {"west batch b1 (input t)"}},
		needs:    map[string][]string{"east batch b1": {"t"}},
	}, {
		name: "group, kind and name count; an object made by no batch waits for all of the cluster",
		east: plan.Cluster{Name: "east", Inputs: []plan.Input{
			{Name: "widget", From: plan.InputSource{Cluster: "west", APIVersion: "example.com/v2", Kind: "Widget", Name: "w"}},
			{Name: "deploy", From: plan.InputSource{Cluster: "west", APIVersion: "extensions/v1beta1", Kind: "Deployment", Namespace: "ns", Name: "d"}},
			{Name: "lb", From: plan.InputSource{Cluster: "west", APIVersion: "v1", Kind: "Service", Namespace: "ns", Name: "lb"}},
		}, Batches: []plan.Batch{{Name: "b0", Bundles: []plan.Bundle{refs("a", "widget", "deploy", "lb")}}}},
		rendered: rendered("east", []renderedBundle{{name: "a"}}),
		want: map[string][]string{"east batch b0": {
			"all of west batch b1 (input deploy)", "all of west batch b1 (input lb)", "west batch b0 (input widget)",
		}},
		needs: map[string][]string{"east batch b0": {"deploy", "lb", "widget"}},
	}, {
		name: "dependsOn makes the first batch wait for all of the cluster; generated bundles need nothing",
		east: plan.Cluster{Name: "east", DependsOn: []string{"west"}, Inputs: []plan.Input{secretInput("t", "west", "ns", "token")},
			Batches: []plan.Batch{{Name: "b0", Bundles: []plan.Bundle{refs("chart", "t")}}}},
		rendered: rendered("east", []renderedBundle{{name: "chart-crds", generated: true}}, []renderedBundle{{name: "chart"}}),
		want: map[string][]string{
			"east batch b0": {"all of west batch b1 (dependsOn)"},
			"east batch b1": {"west batch b1 (input t)"},
		},
		needs: map[string][]string{"east batch b1": {"t"}},
	}, {
		name: "a source cluster without a rendering is waited for as a whole",
		east: plan.Cluster{Name: "east", Inputs: []plan.Input{secretInput("t", "west", "ns", "token")},
			Batches: []plan.Batch{{Name: "b0", Bundles: []plan.Bundle{refs("a", "t")}}}},
		rendered: rendered("east", []renderedBundle{{name: "a"}}),
		noWest:   true,
		want:     map[string][]string{"east batch b0": {"all of cluster west (input t)"}},
		needs:    map[string][]string{"east batch b0": {"t"}},
	}, {
		name: "a cluster without a rendering is one unit after its inputs' clusters",
		east: plan.Cluster{Name: "east", DependsOn: []string{"north"}, Inputs: []plan.Input{secretInput("t", "west", "ns", "token"), secretInput("u", "south", "ns", "token")},
			Batches: []plan.Batch{{Name: "b0", Bundles: []plan.Bundle{refs("a", "t")}}}},
		others: []plan.Cluster{{Name: "north"}},
		want:   map[string][]string{"cluster east": {"all of cluster north (dependsOn)", "all of west batch b1 (input t)"}},
		needs:  map[string][]string{"cluster east": {"t", "u"}},
	}, {
		name: "inputs from clusters not selected tie nothing",
		east: plan.Cluster{Name: "east", Inputs: []plan.Input{secretInput("u", "south", "ns", "token")},
			Batches: []plan.Batch{{Name: "b0", Bundles: []plan.Bundle{refs("a", "u")}}}},
		rendered: rendered("east", []renderedBundle{{name: "a"}}),
		want:     map[string][]string{},
		needs:    map[string][]string{"east batch b0": {"u"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clusters := []*plan.Cluster{&tt.east, &westPlan}
			byName := map[string]*render.Cluster{"east": tt.rendered, "west": west}
			if tt.noWest {
				byName["west"] = nil
			}
			for i := range tt.others {
				clusters = append(clusters, &tt.others[i])
			}
			s := newSchedule(clusters, byName)
			got := map[string][]string{}
			for u, links := range s.links {
				for _, l := range links {
					to := s.name(l.to)
					if l.whole {
						to = "all of " + to
					}
					why := "dependsOn"
					if l.input != "" {
						why = "input " + l.input
					}
					got[s.name(u)] = append(got[s.name(u)], to+" ("+why+")")
				}
			}
			for k := range got {
				slices.Sort(got[k])
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("links (-want +got):\n%s", diff)
			}
			needs := map[string][]string{}
			for u, n := range s.needs {
				if len(n) > 0 {
					needs[s.name(u)] = n
				}
			}
			if diff := cmp.Diff(tt.needs, needs); diff != "" {
				t.Errorf("needs (-want +got):\n%s", diff)
			}
		})
	}
}

// Units that wait for each other make a cycle named with the inputs and
// dependsOn that tie them; a batch waiting for an earlier one of its own
// cluster, and a cluster's batches in order, make none.
func TestScheduleCycle(t *testing.T) {
	mesh := func(eastBatches, westBatches [][]renderedBundle, eastRefs, westRefs []plan.Batch) []string {
		east := plan.Cluster{Name: "east", Inputs: []plan.Input{secretInput("west-token", "west", "ns", "token")}, Batches: eastRefs}
		west := plan.Cluster{Name: "west", Inputs: []plan.Input{secretInput("east-token", "east", "ns", "token")}, Batches: westRefs}
		s := newSchedule([]*plan.Cluster{&east, &west}, map[string]*render.Cluster{
			"east": rendered("east", eastBatches...), "west": rendered("west", westBatches...),
		})
		if c := s.cycle(); c != nil {
			return []string{s.describe(c)}
		}
		return nil
	}
	token := renderedBundle{name: "token", objects: []string{"v1 Secret ns/token"}}
	secrets := renderedBundle{name: "secrets"}
	tests := []struct {
		name       string
		east, west string // "split": token in b0, secrets in b1; "same": both in b0
		want       []string
	}{
		{name: "multi-primary: each reads the other's earlier batch", east: "split", west: "split"},
		{name: "one split, one not", east: "split", west: "same"},
		{name: "both in one batch", east: "same", west: "same",
			want: []string{"east batch b0 (input west-token) -> west batch b0 (input east-token) -> east batch b0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shape := func(how, input string) ([][]renderedBundle, []plan.Batch) {
				if how == "same" {
					return [][]renderedBundle{{token, secrets}}, []plan.Batch{{Name: "b0", Bundles: []plan.Bundle{refs("token"), refs("secrets", input)}}}
				}
				return [][]renderedBundle{{token}, {secrets}}, []plan.Batch{{Name: "b0", Bundles: []plan.Bundle{refs("token")}}, {Name: "b1", Bundles: []plan.Bundle{refs("secrets", input)}}}
			}
			eb, ep := shape(tt.east, "west-token")
			wb, wp := shape(tt.west, "east-token")
			if diff := cmp.Diff(tt.want, mesh(eb, wb, ep, wp)); diff != "" {
				t.Errorf("cycle (-want +got):\n%s", diff)
			}
		})
	}
	// dependsOn and an input: the first batch waits for all of the
	// other cluster.
	east := plan.Cluster{Name: "east", DependsOn: []string{"west"}, Batches: []plan.Batch{{Name: "b0", Bundles: []plan.Bundle{refs("token")}}}}
	west := plan.Cluster{Name: "west", Inputs: []plan.Input{secretInput("east-token", "east", "ns", "token")},
		Batches: []plan.Batch{{Name: "b0", Bundles: []plan.Bundle{refs("a")}}, {Name: "b1", Bundles: []plan.Bundle{refs("secrets", "east-token")}}}}
	s := newSchedule([]*plan.Cluster{&east, &west}, map[string]*render.Cluster{
		"east": rendered("east", []renderedBundle{token}),
		"west": rendered("west", []renderedBundle{{name: "a"}}, []renderedBundle{secrets}),
	})
	want := "east batch b0 (dependsOn: all of cluster west) -> west batch b1 (input east-token) -> east batch b0"
	if c := s.cycle(); c == nil || s.describe(c) != want {
		t.Errorf("cycle = %v, want %s", c, want)
	}
}
