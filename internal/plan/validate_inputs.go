package plan

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// clusterLinks checks what ties the clusters of a Plan together: every
// cluster's dependsOn and inputs, the input references of its bundles, and
// the cycles dependsOn makes. Inputs make no cluster cycle: deploy orders
// them batch by batch, and refuses a cycle of batches before it applies
// anything.
func (v *validator) clusterLinks(clusters []Cluster) {
	names := map[string]bool{}
	for _, c := range clusters {
		if c.Name != "" {
			names[c.Name] = true
		}
	}
	graph := map[string][]string{} // cluster -> clusters it deploys after
	for i := range clusters {
		c := &clusters[i]
		cname := entryName(c.Name, i)
		at := func(field, format string, args ...any) {
			v.add(Error{Cluster: cname, Field: field, Msg: fmt.Sprintf(format, args...)})
		}
		seen := map[string]int{}
		for _, d := range c.DependsOn {
			switch seen[d]++; {
			case d == "":
				at("dependsOn", "empty entry")
			case seen[d] == 2:
				at("dependsOn", "duplicate entry %q", d)
			case seen[d] > 2:
			case !names[d]:
				at("dependsOn", "no cluster %q in the Plan", d)
			case c.Name != "":
				graph[c.Name] = append(graph[c.Name], d)
			}
		}
		declared := v.inputs(c, cname, names)
		v.inputRefs(c, cname, declared)
	}
	v.clusterCycles(graph)
}

// inputs checks the inputs of c, named cname in messages, and returns the
// names declared. names holds the names of the Plan's clusters.
func (v *validator) inputs(c *Cluster, cname string, names map[string]bool) map[string]bool {
	declared := map[string]bool{}
	count := map[string]int{}
	for i := range c.Inputs {
		in := &c.Inputs[i]
		field := fmt.Sprintf("inputs[%d]", i)
		at := func(sub, format string, args ...any) {
			v.add(Error{Cluster: cname, Field: field + sub, Msg: fmt.Sprintf(format, args...)})
		}
		if v.dnsLabel(Error{Cluster: cname, Field: field + ".name"}, in.Name) {
			declared[in.Name] = true
			count[in.Name]++
		}
		f := &in.From
		switch {
		case f.Cluster == "":
			at(".from.cluster", "required")
		case f.Cluster == c.Name:
			at(".from.cluster", "%q is the input's own cluster: an input is read from another cluster of the Plan", f.Cluster)
		case !names[f.Cluster]:
			at(".from.cluster", "no cluster %q in the Plan", f.Cluster)
		}
		for _, req := range []struct{ field, value string }{
			{".from.apiVersion", f.APIVersion}, {".from.kind", f.Kind}, {".from.name", f.Name},
		} {
			if req.value == "" {
				at(req.field, "required")
			}
		}
		if f.Namespace != "" {
			v.dnsLabel(Error{Cluster: cname, Field: field + ".from.namespace"}, f.Namespace)
		}
		if f.Expression == "" {
			at(".from.expression", "required: a CEL expression over the object that yields the value as a string")
		} else if _, err := CompileInputExpression(f.Expression); err != nil {
			at(".from.expression", "%q: %v", f.Expression, err)
		}
		if f.Timeout != "" {
			if d, err := time.ParseDuration(f.Timeout); err != nil || d <= 0 {
				at(".from.timeout", "%q is not a positive duration such as 5m or 90s", f.Timeout)
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(count)) {
		if n := count[name]; n > 1 {
			v.add(Error{Cluster: cname, Field: "inputs", Msg: fmt.Sprintf("name %q used by %d inputs", name, n)})
		}
	}
	return declared
}

// inputRefs checks the input references in the chart values and manifests
// of c's bundles: each is well-formed and names an input of c, and none is
// in an object key, where it would not be replaced.
func (v *validator) inputRefs(c *Cluster, cname string, declared map[string]bool) {
	for bi := range c.Batches {
		b := &c.Batches[bi]
		for ui := range b.Bundles {
			u := &b.Bundles[ui]
			at := Error{Cluster: cname, Batch: entryName(b.Name, bi), Bundle: entryName(u.Name, ui)}
			if u.Chart != nil {
				v.refsIn(at, u.Chart.Values, &path{parent: &path{key: "chart", index: -1}, key: "values", index: -1}, declared)
			}
			for i, m := range u.Manifests {
				v.refsIn(at, m, &path{parent: &path{key: "manifests", index: -1}, index: i}, declared)
			}
		}
	}
}

// refsIn checks the input references in value, found at p.
func (v *validator) refsIn(at Error, value any, p *path, declared map[string]bool) {
	check := func(s string, p *path, key bool) {
		for _, r := range findRefs(s) {
			e := at
			e.Field = p.String()
			text := s[r.start:r.end]
			switch {
			case r.name == "":
				e.Msg = malformedRef(text)
			case key:
				e.Msg = fmt.Sprintf("key %q: input references are replaced in values only, not in keys", s)
			case !declared[r.name]:
				e.Msg = fmt.Sprintf("input %q is not declared in the cluster's inputs", r.name)
			default:
				continue
			}
			v.add(e)
		}
	}
	switch value := value.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(value)) {
			kp := &path{parent: p, key: k, index: -1}
			check(k, kp, true)
			v.refsIn(at, value[k], kp, declared)
		}
	case []any:
		for i, e := range value {
			v.refsIn(at, e, &path{parent: p, index: i}, declared)
		}
	case map[string]string:
		for _, k := range slices.Sorted(maps.Keys(value)) {
			kp := &path{parent: p, key: k, index: -1}
			check(k, kp, true)
			check(value[k], kp, false)
		}
	case []string:
		for i, e := range value {
			check(e, &path{parent: p, index: i}, false)
		}
	case string:
		check(value, p, false)
	}
}

// clusterCycles reports each cycle of the clusters' dependsOn once, as the
// bundle cycles are reported: the shortest cycle through the smallest
// name of each strongly connected component, from that name.
func (v *validator) clusterCycles(graph map[string][]string) {
	for _, cycle := range graphCycles(graph) {
		v.add(Error{Cluster: cycle[0], Msg: "dependsOn cycle: " + strings.Join(cycle, " -> ")})
	}
}
