package eval

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"
)

// Setting is the value one option has in an evaluated configuration and
// where that value comes from: what `wookie options --config` lists, like
// nixos-option's Value and Defined by.
type Setting struct {
	// Path is the setting's path: the option's, with the configuration's
	// names for <name> (clusters."wookie-local".k3d.servers).
	Path string `json:"path"`
	// Value is the value as JSON; for a list option the list its
	// definitions make.
	Value json.RawMessage `json:"value"`
	// Defined lists the places that give the value, in order: none when
	// it is the option's default.
	Defined []Definition `json:"definedBy,omitempty"`
}

// Definition is one place that gives a setting its value.
type Definition struct {
	// Position is the file and line, file:line.
	Position string `json:"position"`
	// Module names the standard module of an embedded file, such as
	// projects/wookie; empty for the user's files.
	Module string `json:"module,omitempty"`
	// Name is the name of the definition in a list option.
	Name string `json:"name,omitempty"`
}

// String formats the definition as file:line, with the definition's name
// and the module where there are.
func (d Definition) String() string {
	s := d.Position
	if d.Name != "" {
		s = d.Name + " at " + s
	}
	if d.Module != "" {
		s += " (module " + d.Module + ")"
	}
	return s
}

// settingRoots are the parts of the configuration that hold options.
var settingRoots = []string{"targets", "projects", "clusters", "gitops", "charts"}

// Settings lists the value of every option set in the evaluated
// configuration v and where it comes from, in path order: the leaves of
// targets, projects, clusters, gitops and the chart catalog, and every
// list option as one setting.
func Settings(v cue.Value) []Setting {
	decls := declarationRanges(v)
	var out []Setting
	for _, r := range settingRoots {
		walkSettings(v.LookupPath(cue.ParsePath(r)), r, decls, &out)
	}
	return out
}

func walkSettings(v cue.Value, p string, decls declRanges, out *[]Setting) {
	if !v.Exists() {
		return
	}
	if isListOption(v) {
		items, defs := listSetting(v, decls)
		raw, err := json.Marshal(items)
		if err != nil {
			return
		}
		*out = append(*out, Setting{Path: p, Value: raw, Defined: defs})
		return
	}
	if v.IncompleteKind() == cue.StructKind {
		it, err := v.Fields()
		if err != nil {
			return
		}
		for it.Next() {
			walkSettings(it.Value(), p+"."+selector(it.Selector().Unquoted()), decls, out)
		}
		return
	}
	val := v
	if d, ok := v.Default(); ok {
		val = d
	}
	if !val.IsConcrete() {
		return
	}
	raw, err := val.MarshalJSON()
	if err != nil {
		return
	}
	*out = append(*out, Setting{Path: p, Value: raw, Defined: definitions(v, "", decls)})
}

// listSetting returns the items of a list option, merged as the Plan
// merges them (a list of names is a set), and its definitions.
func listSetting(v cue.Value, decls declRanges) ([]json.RawMessage, []Definition) {
	var l listOf[json.RawMessage]
	raw, err := v.MarshalJSON()
	if err != nil || json.Unmarshal(raw, &l) != nil {
		return nil, nil
	}
	items, _ := l.merge()
	if items == nil {
		items = []json.RawMessage{}
	}
	var names listOf[string]
	if json.Unmarshal(raw, &names) == nil {
		items = items[:0]
		for _, n := range mergeSet(names) {
			b, _ := json.Marshal(n)
			items = append(items, b)
		}
	}
	var defs []Definition
	it, err := v.Fields()
	if err != nil {
		return items, nil
	}
	for it.Next() {
		defs = append(defs, definitions(it.Value(), it.Selector().Unquoted(), decls)...)
	}
	return items, defs
}

// definitions returns where v is defined: the positions of its conjuncts
// that are not declarations (inside a definition such as #Bundle), one
// per line.
func definitions(v cue.Value, name string, decls declRanges) []Definition {
	var out []Definition
	add := func(p token.Pos) {
		if !p.IsValid() || decls.contains(p) {
			return
		}
		d := Definition{Position: fmt.Sprintf("%s:%d", p.Filename(), p.Line()), Module: moduleOf(p.Filename()), Name: name}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	if op, args := v.Expr(); op == cue.AndOp {
		for _, a := range args {
			add(a.Pos())
		}
	} else {
		add(v.Pos())
	}
	return out
}

// moduleOf names the standard module of an embedded file
// (embedded:modules/projects/wookie/wookie.cue is projects/wookie), and is
// "" for the user's files.
func moduleOf(file string) string {
	rest, ok := strings.CutPrefix(file, EmbeddedPrefix)
	if !ok {
		return ""
	}
	return path.Dir(rest)
}

// declRanges holds, by file, the byte ranges of the top-level definitions
// (#Bundle, #Projects, ...): positions inside them declare options rather
// than define values.
type declRanges map[string][][2]int

func declarationRanges(v cue.Value) declRanges {
	out := declRanges{}
	inst := v.BuildInstance()
	if inst == nil {
		return out
	}
	for _, f := range inst.Files {
		for _, d := range f.Decls {
			fl, ok := d.(*ast.Field)
			if !ok {
				continue
			}
			if name, _, err := ast.LabelName(fl.Label); err != nil || !strings.HasPrefix(name, "#") {
				continue
			}
			out[f.Filename] = append(out[f.Filename], [2]int{fl.Pos().Offset(), fl.End().Offset()})
		}
	}
	return out
}

func (d declRanges) contains(p token.Pos) bool {
	for _, r := range d[p.Filename()] {
		if p.Offset() >= r[0] && p.Offset() < r[1] {
			return true
		}
	}
	return false
}
