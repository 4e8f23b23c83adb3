package eval

import (
	"fmt"
	"slices"
	"strings"
)

// The definition names of a list option that carry a meaning, like the
// NixOS functions of the same names.
const (
	// mkBefore names the definition whose items come first.
	mkBefore = "mkBefore"
	// mkAfter names the definition whose items come last.
	mkAfter = "mkAfter"
	// mkForce names the definition that replaces all the others.
	mkForce = "mkForce"
)

// listOf is a list option as CUE holds it: the lists of its definitions, by
// name. Every module and file adds a definition of its own, so that they
// unify instead of conflicting element by element as two CUE lists would.
type listOf[T any] map[string][]T

// itemOrigin says where an item of a merged list option comes from: the
// definition's name and the item's index in it.
type itemOrigin struct {
	def   string
	index int
}

// merge returns the option's value, like a NixOS listOf option: the items
// of mkForce when it is defined, and otherwise those of mkBefore, of the
// other definitions in order of their names and of mkAfter. It also
// returns where each item comes from.
func (l listOf[T]) merge() ([]T, []itemOrigin) {
	if len(l) == 0 {
		return nil, nil
	}
	var order []string
	if _, ok := l[mkForce]; ok {
		order = []string{mkForce}
	} else {
		order = make([]string, 0, len(l))
		for name := range l {
			if name != mkBefore && name != mkAfter {
				order = append(order, name)
			}
		}
		slices.Sort(order)
		if _, ok := l[mkBefore]; ok {
			order = append([]string{mkBefore}, order...)
		}
		if _, ok := l[mkAfter]; ok {
			order = append(order, mkAfter)
		}
	}
	var out []T
	var from []itemOrigin
	for _, name := range order {
		for i, item := range l[name] {
			out = append(out, item)
			from = append(from, itemOrigin{name, i})
		}
	}
	return out, from
}

// mergeSet is merge for an option that is a set: an item that is there
// already is dropped.
func mergeSet(l listOf[string]) []string {
	items, _ := l.merge()
	seen := make(map[string]bool, len(items))
	out := items[:0]
	for _, it := range items {
		if !seen[it] {
			seen[it] = true
			out = append(out, it)
		}
	}
	return out
}

// badDefinitionNames returns a problem for every definition name that
// looks like a modifier (mk followed by a capital letter) and is none of
// mkBefore, mkAfter and mkForce, in name order. path gives the option's
// path.
func (l listOf[T]) badDefinitionNames(path func() string) []string {
	var out []string
	for name := range l {
		if !isModifierName(name) || slices.Contains([]string{mkBefore, mkAfter, mkForce}, name) {
			continue
		}
		msg := fmt.Sprintf("%s.%s: unknown list modifier: want %s, %s or %s", path(), name, mkBefore, mkAfter, mkForce)
		if s := closest(name, []string{mkBefore, mkAfter, mkForce}); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		out = append(out, msg)
	}
	slices.Sort(out)
	return out
}

// isModifierName reports whether a definition name is reserved for
// modifiers: mk followed by a capital letter.
func isModifierName(name string) bool {
	rest, ok := strings.CutPrefix(name, "mk")
	return ok && rest != "" && rest[0] >= 'A' && rest[0] <= 'Z'
}
