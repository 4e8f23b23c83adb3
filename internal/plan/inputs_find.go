package plan

import (
	"maps"
	"slices"
)

// InputRefNames returns the names of the input references (InputRef) in
// s, in order, with repeats; malformed references, which validation
// rejects in a Plan, are left out.
func InputRefNames(s string) []string {
	var out []string
	for _, r := range findRefs(s) {
		if r.name != "" {
			out = append(out, r.name)
		}
	}
	return out
}

// ValueInputs returns the names of the inputs referred to in any string of
// v (a decoded JSON value: maps, lists, strings, other scalars), sorted,
// without duplicates. Keys are not searched: validation rejects references
// there. v is not changed.
func ValueInputs(v any) []string {
	names := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		case map[string]string:
			for _, e := range v {
				walk(e)
			}
		case []string:
			for _, e := range v {
				walk(e)
			}
		case string:
			for _, n := range InputRefNames(v) {
				names[n] = true
			}
		}
	}
	walk(v)
	if len(names) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(names))
}
