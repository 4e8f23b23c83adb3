package eval

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/token"
)

// Option is one configuration option: what `wookie options` lists, like the
// NixOS options manual.
type Option struct {
	// Path is the option's path, with <name> for any key of a map.
	Path string `json:"path"`
	// Type is the option's type in CUE syntax, without the default.
	Type string `json:"type"`
	// Default is the default value in CUE syntax, or "" for none.
	Default string `json:"default,omitempty"`
	// Description is the option's doc comment.
	Description string `json:"description,omitempty"`
	// Optional reports that the option may be left unset.
	Optional bool `json:"optional,omitempty"`
	// List reports a list option: its definitions, by name, concatenate
	// (<name>: [...]; mkBefore, mkAfter and mkForce order or replace them).
	List bool `json:"list,omitempty"`
	// Declared lists where the option is declared, as file:line.
	Declared []string `json:"declared,omitempty"`
}

// optionRoots are the parts of the configuration that hold options, and the
// paths users write them under.
var optionRoots = []struct {
	path, lookup string
	closed       bool
}{
	{"targets", "#Targets", true},
	{"projects", "#Projects", true},
	{"clusters.<name>", "#Cluster", true},
	{"gitops", "#GitOps", true},
	{"assertions.<name>", "#Assertion", true},
	{"warnings.<name>", "#Warning", true},
}

const anyKey = "<name>"

// Options lists every option of the evaluated configuration v (the standard
// modules' and the user's own), sorted by path.
func Options(v cue.Value) []Option {
	var out []Option
	for _, r := range optionRoots {
		root := v.LookupPath(cue.ParsePath(r.lookup))
		if strings.HasSuffix(r.path, "."+anyKey) && !strings.HasPrefix(r.lookup, "#") {
			root = root.LookupPath(cue.MakePath(cue.AnyString))
		}
		if root.Exists() {
			walkOptions(root, r.path, r.closed, &out)
		}
	}
	out = append(out, chartOptions(v)...)
	slices.SortStableFunc(out, func(a, b Option) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// chartOptions lists the version of every chart in the catalog.
func chartOptions(v cue.Value) []Option {
	var out []Option
	_ = eachField(v.LookupPath(cue.ParsePath("charts")), func(group string, g cue.Value) error {
		return eachField(g, func(name string, c cue.Value) error {
			ver := c.LookupPath(cue.ParsePath("version"))
			repo, _ := c.LookupPath(cue.ParsePath("repo")).String()
			chart, _ := c.LookupPath(cue.ParsePath("name")).String()
			prefix := "charts." + selector(group) + "." + selector(name)
			o := leafOption(ver, prefix+".version", false)
			o.Description = fmt.Sprintf("Version of the chart %s. Projects usually set it through their own version option.", chart)
			r := leafOption(c.LookupPath(cue.ParsePath("repo")), prefix+".repo", false)
			r.Description = fmt.Sprintf("Where the chart %s comes from; set it to use a mirror. Default %s.", chart, repo)
			out = append(out, o, r)
			return nil
		})
	})
	return out
}

// selector writes a field name as it appears in a path: quoted unless it is
// an identifier.
func selector(name string) string {
	if isIdent(name) {
		return name
	}
	return cue.Str(name).String()
}

// walkOptions adds the options found at v, whose path is path. closed says
// whether the struct holding v is closed (declared in a definition).
func walkOptions(v cue.Value, path string, closed bool, out *[]Option) {
	if v.IncompleteKind() != cue.StructKind {
		*out = append(*out, leafOption(v, path, false))
		return
	}
	if isListOption(v) {
		o := leafOption(v, path, false)
		o.Type = "[string]: " + typeString(v.LookupPath(cue.MakePath(cue.AnyString)).Syntax(cue.Raw()))
		o.Default = ""
		o.List = true
		*out = append(*out, o)
		return
	}
	pattern := v.LookupPath(cue.MakePath(cue.AnyString))
	hasPattern := pattern.Exists() && pattern.IncompleteKind() != cue.TopKind
	var fromPattern []Option
	if hasPattern {
		walkOptions(pattern, path+"."+anyKey, isClosed(v), &fromPattern)
	}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return
	}
	fields := 0
	for it.Next() {
		fields++
		sel := it.Selector()
		child := path + "." + selector(sel.Unquoted())
		var found []Option
		if it.Value().IncompleteKind() == cue.StructKind {
			walkOptions(it.Value(), child, isClosed(v), &found)
		} else {
			found = append(found, leafOption(it.Value(), child, sel.ConstraintType() == cue.OptionalConstraint))
		}
		// A field that also matches the pattern lists only what it adds
		// to it, such as the priority of a standard batch.
		for _, o := range found {
			if !samePatternOption(o, child, fromPattern, path+"."+anyKey) {
				*out = append(*out, o)
			}
		}
	}
	*out = append(*out, fromPattern...)
	// A struct that accepts any field (chart values, free-form data) is an
	// option of its own.
	if !isClosed(v) && !hasPattern && (fields == 0 || closed) {
		o := leafOption(v, path, false)
		o.Type = "{...}"
		o.Default = ""
		*out = append(*out, o)
	}
}

// isClosed reports whether the struct v rejects fields it does not declare.
func isClosed(v cue.Value) bool {
	return !v.Allows(cue.Str("wookie-undeclared-field"))
}

// samePatternOption reports whether o, found under the explicit field
// child, is also described by the pattern's options under patternPath.
func samePatternOption(o Option, child string, fromPattern []Option, patternPath string) bool {
	rel := strings.TrimPrefix(o.Path, child)
	for _, p := range fromPattern {
		if strings.TrimPrefix(p.Path, patternPath) == rel && p.Type == o.Type && p.Default == o.Default && p.Description == o.Description {
			return true
		}
	}
	return false
}

func isIdent(s string) bool {
	return ast.IsValidIdent(s) && !strings.HasPrefix(s, "#") && !strings.HasPrefix(s, "_")
}

// leafOption describes one option: its type is its declaration without the
// default marker, e.g. bool for *false | bool, and "a" | "b" for *"a" | "b".
func leafOption(v cue.Value, path string, optional bool) Option {
	o := Option{Path: path, Optional: optional, Description: docText(v), Declared: declarations(v)}
	o.Type = typeString(v.Syntax(cue.Raw()))
	if def, ok := v.Default(); ok && def.IsConcrete() && def.Validate(cue.Concrete(true)) == nil {
		o.Default = syntax(def)
	}
	return o
}

// typeString formats a declaration without its default: *1 | int is int,
// *"a" | "b" (an enum) is "a" | "b", and the conjuncts of a field declared
// in several places are joined, dropping repeats and _.
func typeString(n ast.Node) string {
	expr := exprOf(n)
	if expr == nil {
		return format1(n)
	}
	var conj []string
	for _, c := range split(expr, token.AND) {
		t := disjunctionType(c)
		if t != "_" && !slices.Contains(conj, t) {
			conj = append(conj, t)
		}
	}
	if len(conj) == 0 {
		return "_"
	}
	if len(conj) > 1 {
		for i, c := range conj {
			if strings.Contains(c, " | ") {
				conj[i] = "(" + c + ")"
			}
		}
	}
	return strings.Join(conj, " & ")
}

// exprOf returns the expression of a syntax node: the node itself, or the
// one embedded expression of a file (whose imports are dropped) or of a
// struct literal such as { int }.
func exprOf(n ast.Node) ast.Expr {
	switch x := n.(type) {
	case *ast.File:
		var emb []ast.Expr
		for _, d := range x.Decls {
			switch d := d.(type) {
			case *ast.ImportDecl:
			case *ast.EmbedDecl:
				emb = append(emb, d.Expr)
			default:
				return nil
			}
		}
		if len(emb) == 1 {
			return exprOf(emb[0])
		}
		return nil
	case *ast.StructLit:
		if len(x.Elts) == 1 {
			if d, ok := x.Elts[0].(*ast.EmbedDecl); ok {
				return exprOf(d.Expr)
			}
		}
		return x
	case *ast.ParenExpr:
		return exprOf(x.X)
	case ast.Expr:
		return x
	}
	return nil
}

// split flattens a chain of binary op expressions.
func split(e ast.Expr, op token.Token) []ast.Expr {
	if p, ok := e.(*ast.ParenExpr); ok {
		return split(p.X, op)
	}
	if b, ok := e.(*ast.BinaryExpr); ok && b.Op == op {
		return append(split(b.X, op), split(b.Y, op)...)
	}
	if s, ok := e.(*ast.StructLit); ok {
		if x := exprOf(s); x != nil && x != ast.Expr(s) {
			return split(x, op)
		}
	}
	return []ast.Expr{e}
}

// disjunctionType formats one conjunct without its default marker.
func disjunctionType(e ast.Expr) string {
	parts := split(e, token.OR)
	unmarkedType := false // some unmarked alternative is more than a literal
	for _, p := range parts {
		if u, ok := p.(*ast.UnaryExpr); ok && u.Op == token.MUL {
			continue
		}
		if _, lit := p.(*ast.BasicLit); !lit {
			unmarkedType = true
		}
	}
	var out []string
	for _, p := range parts {
		if u, ok := p.(*ast.UnaryExpr); ok && u.Op == token.MUL {
			if unmarkedType {
				continue // the default is an instance of the type
			}
			p = u.X
		}
		out = append(out, format1(p))
	}
	return strings.Join(out, " | ")
}

// format1 formats syntax on one line.
func format1(n ast.Node) string {
	b, err := format.Node(n, format.Simplify())
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// syntax formats a concrete value as compact CUE on one line.
func syntax(v cue.Value) string {
	return format1(v.Syntax(cue.Final()))
}

// docText joins the doc comments of v.
func docText(v cue.Value) string {
	var parts []string
	for _, cg := range v.Doc() {
		if t := strings.TrimSpace(cg.Text()); t != "" && !slices.Contains(parts, t) {
			parts = append(parts, t)
		}
	}
	return strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
}

// declarations lists the file:line positions where v is declared.
func declarations(v cue.Value) []string {
	var out []string
	add := func(vv cue.Value) {
		if p := vv.Pos(); p.IsValid() {
			s := fmt.Sprintf("%s:%d", p.Filename(), p.Line())
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	add(v)
	if op, args := v.Expr(); op == cue.AndOp {
		for _, a := range args {
			add(a)
		}
	}
	return out
}
