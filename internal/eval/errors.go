package eval

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"
)

// maxErrors is how many problems one error message lists.
const maxErrors = 10

// formatError turns CUE errors into one line per problem, each starting with
// the most useful position (the user's file before wookie's modules), then
// the configuration path and the message. The alternatives of a failed
// disjunction are folded into one line.
func formatError(err error) error {
	return formatErrorIn(err, cue.Value{})
}

// formatErrorIn is formatError for errors found in root: a problem located
// only in wookie's modules (a required field the user left out) is located
// at the nearest enclosing value the user wrote.
func formatErrorIn(err error, root cue.Value) error {
	if err == nil {
		return nil
	}
	errs := cueerrors.Errors(err)
	if len(errs) == 0 {
		return err
	}
	// One line per configuration path: the first error at a path explains
	// the ones after it (a conflict also empties the field's disjunction).
	var lines []string
	seenPath := map[string]bool{}
	emit := func(path []string, l string) {
		key := strings.Join(path, ".")
		if len(path) == 0 {
			key = l
		}
		if !seenPath[key] {
			seenPath[key] = true
			lines = append(lines, l)
		}
	}
	for i := 0; i < len(errs); i++ {
		e := errs[i]
		format, args := e.Msg()
		if strings.HasPrefix(format, "imported and not used") && importFailed(errs, e) {
			continue // follows from the import that failed
		}
		if strings.Contains(format, "errors in empty disjunction") {
			// The disjuncts' errors follow with the same path.
			var group []cueerrors.Error
			for i+1 < len(errs) && slices.Equal(errs[i+1].Path(), e.Path()) {
				i++
				group = append(group, errs[i])
			}
			emit(e.Path(), disjunctionLine(e, group, root))
			continue
		}
		emit(e.Path(), line(e, nil, explain(e, format, args, root), root))
	}
	if len(lines) > maxErrors {
		more := len(lines) - maxErrors
		lines = append(lines[:maxErrors], fmt.Sprintf("... and %d more", more))
	}
	return errors.New(strings.Join(lines, "\n"))
}

// disjunctionLine describes a value that matches none of the alternatives
// of a disjunction, such as a misspelled enum value: "x" is not allowed:
// want "a" | "b".
func disjunctionLine(head cueerrors.Error, group []cueerrors.Error, root cue.Value) string {
	type pair struct{ a, b string }
	var pairs []pair
	var msgs []string
	for _, g := range group {
		format, args := g.Msg()
		msgs = append(msgs, fmt.Sprintf(format, args...))
		if strings.HasPrefix(format, "conflicting values %s and %s") && len(args) >= 2 {
			pairs = append(pairs, pair{fmt.Sprint(args[0]), fmt.Sprint(args[1])})
		}
	}
	// The value given is the one every alternative conflicts with.
	if len(pairs) == len(group) && len(pairs) > 1 {
		for _, value := range []string{pairs[0].a, pairs[0].b} {
			var alts []string
			for _, p := range pairs {
				switch value {
				case p.a:
					alts = append(alts, p.b)
				case p.b:
					alts = append(alts, p.a)
				}
			}
			if len(alts) != len(pairs) {
				continue
			}
			return line(head, group, fmt.Sprintf("%s is not allowed: want %s", value, strings.Join(typeAlternatives(alts), " | ")), root)
		}
	}
	slices.Sort(msgs)
	msgs = slices.Compact(msgs)
	return line(head, group, "no alternative matches: "+strings.Join(msgs, "; "), root)
}

// typeAlternatives sorts and deduplicates the alternatives of a
// disjunction; when a type is among them (int), the literals (a default
// such as 0) are left out.
func typeAlternatives(alts []string) []string {
	slices.Sort(alts)
	alts = slices.Compact(alts)
	var types []string
	for _, a := range alts {
		if !isLiteralText(a) {
			types = append(types, a)
		}
	}
	if len(types) > 0 {
		return types
	}
	return alts
}

// isLiteralText reports whether s is the text of a CUE literal.
func isLiteralText(s string) bool {
	if s == "true" || s == "false" || s == "null" || strings.HasPrefix(s, `"`) {
		return true
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// line formats one problem: "file:line:col: path: msg (also at ...)". The
// first position is the best of e's and more's positions: one in a user
// file before one in an embedded module. The other positions in user files
// follow at the end, so a conflict names both places.
func line(e cueerrors.Error, more []cueerrors.Error, msg string, root cue.Value) string {
	var all []token.Pos
	add := func(p token.Pos) {
		if p.IsValid() && !slices.Contains(all, p) {
			all = append(all, p)
		}
	}
	add(e.Position())
	for _, p := range e.InputPositions() {
		add(p)
	}
	for _, m := range more {
		add(m.Position())
		for _, p := range m.InputPositions() {
			add(p)
		}
	}
	if len(all) == 0 && root.Exists() && len(e.Path()) > 0 {
		// A structural cycle has no position: the value at its path has.
		add(bestPos(lookupSegments(root, e.Path())))
	}
	slices.SortStableFunc(all, func(a, b token.Pos) int {
		if c := boolCmp(isEmbedded(a), isEmbedded(b)); c != 0 {
			return c
		}
		return comparePos(a, b)
	})
	var declared string
	if (len(all) == 0 || isEmbedded(all[0])) && root.Exists() {
		if p := enclosingUserPos(root, e.Path()); p.IsValid() {
			if len(all) > 0 {
				declared = " (declared at " + posString(all[0]) + ")"
			}
			all = append([]token.Pos{p}, all...)
		}
	}
	var b strings.Builder
	if len(all) > 0 {
		b.WriteString(posString(all[0]) + ": ")
	}
	if p := e.Path(); len(p) > 0 {
		b.WriteString(strings.Join(p, ".") + ": ")
	}
	b.WriteString(msg)
	var others []string
	for _, p := range all[min(1, len(all)):] {
		if !isEmbedded(p) {
			others = append(others, posString(p))
		}
	}
	if len(others) > 0 {
		b.WriteString(" (also at " + strings.Join(others, ", ") + ")")
	}
	b.WriteString(declared)
	if len(all) > 0 && isDataFile(all[0].Filename()) && root.Exists() && len(e.Path()) > 0 {
		// YAML and JSON files carry no schema: say what the option is.
		if doc := firstSentence(docText(lookupSegments(root, e.Path()))); doc != "" {
			b.WriteString(" — " + doc)
		}
	}
	return b.String()
}

// isDataFile reports whether a file is YAML or JSON.
func isDataFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// firstSentence returns the first sentence of a doc comment.
func firstSentence(doc string) string {
	if i := strings.Index(doc, ". "); i >= 0 {
		return doc[:i+1]
	}
	return doc
}

// enclosingUserPos returns the position, in a user file, of the nearest
// value enclosing path in root, or no position.
func enclosingUserPos(root cue.Value, path []string) token.Pos {
	for n := len(path) - 1; n > 0; n-- {
		if p := bestPos(lookupSegments(root, path[:n])); p.IsValid() && !isEmbedded(p) {
			return p
		}
	}
	return token.NoPos
}

// lookupSegments looks up the value at an error's path: field names
// (quoted where they are not identifiers), list indexes, definitions and
// hidden fields of the wookie package.
func lookupSegments(root cue.Value, path []string) cue.Value {
	sels := make([]cue.Selector, 0, len(path))
	for _, p := range path {
		switch {
		case strings.HasPrefix(p, `"`):
			u, err := strconv.Unquote(p)
			if err != nil {
				return cue.Value{}
			}
			sels = append(sels, cue.Str(u))
		case strings.HasPrefix(p, "#") || strings.HasPrefix(p, "_#"):
			sels = append(sels, cue.Def(p))
		case strings.HasPrefix(p, "_"):
			sels = append(sels, cue.Hid(p, ":"+PackageName))
		default:
			if n, err := strconv.Atoi(p); err == nil {
				sels = append(sels, cue.Index(n))
			} else {
				sels = append(sels, cue.Str(p))
			}
		}
	}
	return root.LookupPath(cue.MakePath(sels...))
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

func comparePos(a, b token.Pos) int {
	pa, pb := a.Position(), b.Position()
	if c := strings.Compare(pa.Filename, pb.Filename); c != 0 {
		return c
	}
	if pa.Line != pb.Line {
		return pa.Line - pb.Line
	}
	return pa.Column - pb.Column
}

func isEmbedded(p token.Pos) bool {
	return strings.HasPrefix(p.Filename(), EmbeddedPrefix)
}

func posString(p token.Pos) string {
	pp := p.Position()
	return fmt.Sprintf("%s:%d:%d", pp.Filename, pp.Line, pp.Column)
}
