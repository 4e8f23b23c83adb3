package eval

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// What a configuration file may write is what the modules declare. CUE
// closes definitions (#Targets, #Cluster, ...), but not the package's top
// level, and a hidden field (_mesh) is visible in every file of the
// package. These checks close both, on the syntax before evaluation and on
// the top level after it.

// moduleSyntax is what the checks need to know of the standard modules:
// the regular fields they declare at the top level, and the hidden fields
// they declare at the top level and below it, with the position of the
// first declaration.
type moduleSyntax struct {
	topLevel  []string
	topHidden map[string]token.Pos
	hidden    map[string]token.Pos
}

// scanModules collects the top-level and hidden fields of the modules.
func scanModules(files []*ast.File) moduleSyntax {
	m := moduleSyntax{topHidden: map[string]token.Pos{}, hidden: map[string]token.Pos{}}
	for _, f := range files {
		walkFields(f.Decls, true, func(fl *ast.Field, name string, top bool) bool {
			switch {
			case isHidden(name):
				at := m.hidden
				if top {
					at = m.topHidden
				}
				if _, ok := at[name]; !ok {
					at[name] = fl.Pos()
				}
			case top && !strings.HasPrefix(name, "#") && !slices.Contains(m.topLevel, name):
				m.topLevel = append(m.topLevel, name)
			}
			return true
		})
	}
	slices.Sort(m.topLevel)
	return m
}

// checkPrivate rejects every field of the user's files that sets a hidden
// field of the modules: their internal state (_mesh, _istio, an input's
// _name) is not an option. At the top level, the names the modules use
// there are theirs; below a regular field, every name the modules use
// below the top level. Hidden fields inside the user's own hidden fields
// and definitions are the user's own and may reuse any name.
func checkPrivate(user []*ast.File, m moduleSyntax) error {
	var problems []string
	for _, f := range user {
		walkFields(f.Decls, true, func(fl *ast.Field, name string, top bool) bool {
			if strings.HasPrefix(name, "#") || strings.HasPrefix(name, "_#") {
				return false // the user's schema
			}
			if !isHidden(name) {
				return true
			}
			reserved := m.hidden
			if top {
				reserved = m.topHidden
			}
			if at, ok := reserved[name]; ok {
				problems = append(problems, fmt.Sprintf("%s: %s: internal to wookie's modules (declared at %s), not an option: a configuration file cannot set it; 'wookie options' lists what can be set",
					posString(fl.Pos()), name, posString(at)))
			}
			return false
		})
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// checkTopLevel rejects the regular fields at the top level of the user's
// files that no module declares: a misspelt projects or targets would
// otherwise be accepted and do nothing.
func checkTopLevel(user []*ast.File, m moduleSyntax) error {
	var problems []string
	for _, f := range user {
		walkFields(f.Decls, true, func(fl *ast.Field, name string, top bool) bool {
			if !top || name == "" || strings.HasPrefix(name, "#") || isHidden(name) || strings.HasPrefix(name, "_#") || slices.Contains(m.topLevel, name) {
				return false
			}
			msg := fmt.Sprintf("%s: %s: field not allowed", posString(fl.Pos()), selector(name))
			if s := closest(name, m.topLevel); s != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			} else {
				msg += fmt.Sprintf(": the top level holds %s; name your own helpers _%s (hidden) or with let", strings.Join(m.topLevel, ", "), name)
			}
			problems = append(problems, msg)
			return false
		})
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// walkFields calls fn for every field of decls and, while fn returns true,
// for the fields of its value: struct literals, the operands of & and |,
// comprehensions and embedded structs. Lists and let clauses are not
// entered. top says whether decls are the top level of a file.
func walkFields(decls []ast.Decl, top bool, fn func(f *ast.Field, name string, top bool) bool) {
	for _, d := range decls {
		switch d := d.(type) {
		case *ast.Field:
			name, _, err := ast.LabelName(d.Label)
			if err != nil {
				name = "" // a dynamic or pattern label: a regular field
			}
			if fn(d, name, top) {
				walkValue(d.Value, false, fn)
			}
		case *ast.Comprehension:
			walkValue(d.Value, top, fn)
		case *ast.EmbedDecl:
			walkValue(d.Expr, top, fn)
		}
	}
}

// walkValue is walkFields for the fields of an expression.
func walkValue(e ast.Expr, top bool, fn func(f *ast.Field, name string, top bool) bool) {
	switch e := e.(type) {
	case *ast.StructLit:
		walkFields(e.Elts, top, fn)
	case *ast.BinaryExpr:
		walkValue(e.X, top, fn)
		walkValue(e.Y, top, fn)
	case *ast.ParenExpr:
		walkValue(e.X, top, fn)
	case *ast.UnaryExpr:
		walkValue(e.X, top, fn)
	}
}

// isHidden reports whether a field name is a hidden field's: _x, but not
// _ and not a hidden definition (_#x).
func isHidden(name string) bool {
	return len(name) > 1 && name[0] == '_' && name[1] != '#'
}

// checkClusters rejects the clusters no target contributes, which is what
// a misspelt cluster name gives: they lack a target, a context and a
// Kubernetes version, and the modules that read every cluster fail on
// them first.
func checkClusters(v cue.Value) error {
	clusters := v.LookupPath(cue.ParsePath("clusters"))
	it, err := clusters.Fields()
	if err != nil {
		return nil
	}
	var orphans, names []string
	var at []token.Pos
	for it.Next() {
		name := it.Selector().Unquoted()
		if t := it.Value().LookupPath(cue.ParsePath("target")); t.IsConcrete() {
			names = append(names, name)
			continue
		}
		orphans = append(orphans, name)
		at = append(at, bestPos(it.Value()))
	}
	var problems []string
	for i, name := range orphans {
		msg := fmt.Sprintf("clusters.%s: no target contributes this cluster, so it has no target, context or kubeVersion", selector(name))
		if s := closest(name, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", selector(s))
		}
		if at[i].IsValid() {
			msg = posString(at[i]) + ": " + msg
		}
		problems = append(problems, msg)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\n"))
	}
	return nil
}

// checkCatalog checks that every chart of the catalog is complete, which a
// misspelt group or chart name (charts: istoi: base: repo: ...) is not.
func checkCatalog(v cue.Value) error {
	if err := v.LookupPath(cue.ParsePath("charts")).Validate(cue.Concrete(true)); err != nil {
		return formatErrorIn(err, v)
	}
	return nil
}
