package render

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync/atomic"
	"text/template"
	"text/template/parse"

	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
)

// Lookup answers the lookup function of Helm templates from a cluster:
// the object apiVersion/kind namespace/name, or, when name is "", the
// list of those objects (a map with "items"), shaped as Helm's lookup
// returns them. An object or a list that does not exist is an empty map,
// not an error; a kind the cluster does not serve is an error, as in Helm.
// A Lookup only reads.
type Lookup interface {
	Lookup(ctx context.Context, apiVersion, kind, namespace, name string) (map[string]any, error)
}

// lookupFuncs returns the template functions that replace Helm's lookup:
// they answer from lk, or, when lk is nil, with an empty map, as `helm
// template` does. called is set when a template calls lookup.
func lookupFuncs(ctx context.Context, lk Lookup, called *atomic.Bool) template.FuncMap {
	return template.FuncMap{"lookup": func(apiVersion, kind, namespace, name string) (map[string]any, error) {
		called.Store(true)
		if lk == nil {
			return map[string]any{}, nil
		}
		obj, err := lk.Lookup(ctx, apiVersion, kind, namespace, name)
		if err != nil {
			return map[string]any{}, fmt.Errorf("lookup %s %s %s: %w", apiVersion, kind, objectPath(namespace, name), err)
		}
		if obj == nil {
			obj = map[string]any{}
		}
		return obj, nil
	}}
}

// objectPath is namespace/name, name, or, for a list, namespace/* or *.
func objectPath(namespace, name string) string {
	if name == "" {
		name = "*"
	}
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// lookupTemplates names the templates of ch and its subcharts that call
// lookup, as Helm names them (pxc-db/templates/cluster-ssl-secret.yaml):
// the files that render output and call it, themselves or through the
// templates they include (include or template, with a constant name).
// When no such file is found, as when the call comes through tpl or a
// computed name, it names the files that contain the call; when none does,
// the chart itself.
func lookupTemplates(ch *chartv2.Chart) []string {
	type file struct {
		name  string
		trees map[string]*parse.Tree
	}
	var files []file
	var walk func(c *chartv2.Chart)
	walk = func(c *chartv2.Chart) {
		for _, dep := range c.Dependencies() {
			walk(dep)
		}
		for _, t := range c.Templates {
			if t == nil {
				continue
			}
			name := path.Join(c.ChartFullPath(), t.Name)
			tr := parse.New(name)
			tr.Mode = parse.SkipFuncCheck
			trees := map[string]*parse.Tree{}
			if _, err := tr.Parse(string(t.Data), "{{", "}}", trees); err != nil {
				continue // Helm rendered it, so this does not happen
			}
			files = append(files, file{name: name, trees: trees})
		}
	}
	walk(ch)

	// Named templates are global across the chart and its subcharts; a
	// name defined twice counts with every definition.
	defines := map[string][]*parse.Tree{}
	for _, f := range files {
		for n, t := range f.trees {
			if n != f.name {
				defines[n] = append(defines[n], t)
			}
		}
	}
	// calls are the named templates known to reach lookup; seen, per
	// file, those already walked (a template may include itself).
	calls := map[string]bool{}
	var reaches func(t *parse.Tree, seen map[string]bool) bool
	reaches = func(t *parse.Tree, seen map[string]bool) bool {
		direct, refs := lookupCalls(t)
		if direct {
			return true
		}
		for _, r := range refs {
			if calls[r] {
				return true
			}
			if seen[r] {
				continue
			}
			seen[r] = true
			if slices.ContainsFunc(defines[r], func(d *parse.Tree) bool { return reaches(d, seen) }) {
				calls[r] = true
				return true
			}
		}
		return false
	}
	var out, containing []string
	for _, f := range files {
		if main := f.trees[f.name]; main != nil && !strings.HasPrefix(path.Base(f.name), "_") && reaches(main, map[string]bool{}) {
			out = append(out, f.name)
		}
		for _, t := range f.trees {
			if direct, _ := lookupCalls(t); direct {
				containing = append(containing, f.name)
				break
			}
		}
	}
	switch {
	case len(out) > 0:
	case len(containing) > 0:
		out = containing
	default:
		out = []string{ch.Name()}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lookupCalls reports whether t calls lookup itself, and the named
// templates it includes by a constant name.
func lookupCalls(t *parse.Tree) (direct bool, refs []string) {
	var visit func(n parse.Node)
	visit = func(n parse.Node) {
		switch n := n.(type) {
		case nil:
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				visit(c)
			}
		case *parse.ActionNode:
			visit(n.Pipe)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				visit(c)
			}
		case *parse.CommandNode:
			if len(n.Args) >= 2 {
				if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "include" {
					if s, ok := n.Args[1].(*parse.StringNode); ok {
						refs = append(refs, s.Text)
					}
				}
			}
			for _, a := range n.Args {
				visit(a)
			}
		case *parse.IdentifierNode:
			if n.Ident == "lookup" {
				direct = true
			}
		case *parse.ChainNode:
			visit(n.Node)
		case *parse.IfNode:
			visit(n.Pipe)
			visit(n.List)
			visit(n.ElseList)
		case *parse.RangeNode:
			visit(n.Pipe)
			visit(n.List)
			visit(n.ElseList)
		case *parse.WithNode:
			visit(n.Pipe)
			visit(n.List)
			visit(n.ElseList)
		case *parse.TemplateNode:
			refs = append(refs, n.Name)
			visit(n.Pipe)
		}
	}
	if t != nil && t.Root != nil {
		visit(t.Root)
	}
	return direct, refs
}

// lookupWarning is the warning of an offline render of a bundle whose
// chart calls lookup in the templates named.
func lookupWarning(bundle, chart string, templates []string) string {
	return fmt.Sprintf("bundle %s: chart %s calls lookup (%s): rendered as helm template does, as if the cluster had none of the objects it looks up; wookie deploy and diff answer it from the live cluster",
		bundle, chart, strings.Join(templates, ", "))
}
