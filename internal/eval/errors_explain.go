package eval

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
)

// explain turns one CUE error into the message wookie prints: CUE's, with
// what the user can do about it where wookie knows: the field meant by a
// misspelt one, the way to add to a list option, an import that cannot
// work.
func explain(e cueerrors.Error, format string, args []any, root cue.Value) string {
	msg := fmt.Sprintf(format, args...)
	path := e.Path()
	switch {
	case format == "field not allowed":
		if len(path) > 0 && root.Exists() {
			if s := closest(unquote(path[len(path)-1]), fieldNames(lookupSegments(root, path[:len(path)-1]))); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", selector(s))
			}
		}
	case strings.HasPrefix(format, "conflicting values %s and %s (mismatched types %s and %s)") && len(args) == 4:
		types := []string{fmt.Sprint(args[2]), fmt.Sprint(args[3])}
		if slices.Contains(types, "list") && slices.Contains(types, "struct") && len(path) > 0 && isListOption(lookupSegments(root, path)) {
			name := unquote(path[len(path)-1])
			msg = fmt.Sprintf("a list option takes its definitions by name, not a list: write %s: <name>: [...], such as %s: mine: [...], and it joins the definitions of the modules and of other files (mkBefore, mkAfter and mkForce order or replace them)", name, name)
		}
	case strings.HasPrefix(format, "package %q imported but not defined") && len(args) > 0:
		msg = fmt.Sprintf("import %q: a configuration file imports only packages of CUE's standard library (strings, list, regexp, ...)", args[0])
	case strings.HasPrefix(format, "builtin package %q undefined") && len(args) > 0:
		msg = fmt.Sprintf("import %q: no such package in CUE's standard library", args[0])
	case format == "field is required but not present" || strings.HasPrefix(format, "incomplete value"):
		msg += keyHint(root, path)
	}
	return msg
}

// importFailed reports whether errs hold another error at e's position:
// the import that failed, which makes "imported and not used" noise.
func importFailed(errs []cueerrors.Error, e cueerrors.Error) bool {
	for _, o := range errs {
		if o != e && o.Position() == e.Position() {
			return true
		}
	}
	return false
}

// keyHint suggests the key meant where an entry of a map (a cluster, a
// batch, a bundle, a chart) lacks what entries need, which is what a
// misspelt key gives: clusters."wookie-locl" has no target. It tries the
// innermost key first and returns "" when no other key is near.
func keyHint(root cue.Value, path []string) string {
	if !root.Exists() {
		return ""
	}
	for i := len(path) - 2; i > 0; i-- {
		parent := lookupSegments(root, path[:i])
		if !isMap(parent) {
			continue
		}
		if s := closest(unquote(path[i]), fieldNames(parent)); s != "" {
			return fmt.Sprintf(" (did you mean %s?)", selector(s))
		}
	}
	return ""
}

// fieldNames lists the regular fields of a struct, declared (optional and
// required ones too) or set.
func fieldNames(v cue.Value) []string {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var out []string
	for it.Next() {
		out = append(out, it.Selector().Unquoted())
	}
	return out
}

// isMap reports whether v is a struct whose keys are free, such as
// clusters or bundles: it has a pattern constraint.
func isMap(v cue.Value) bool {
	return v.Exists() && v.LookupPath(cue.MakePath(cue.AnyString)).Exists()
}

// isListOption reports whether v is a list option: a struct of lists by
// definition name.
func isListOption(v cue.Value) bool {
	if !v.Exists() {
		return false
	}
	p := v.LookupPath(cue.MakePath(cue.AnyString))
	return p.Exists() && p.IncompleteKind() == cue.ListKind
}

// unquote returns the field name of a path segment, which is quoted when
// it is not an identifier.
func unquote(seg string) string {
	if sel := cue.ParsePath(seg); sel.Err() == nil && len(sel.Selectors()) == 1 {
		return sel.Selectors()[0].Unquoted()
	}
	return seg
}
