package cli

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCommandsOnlyWire keeps the commands thin: the stages of the pipeline
// (evaluate, pin, render, check, write, deploy, diff, status) are called
// through pkg/pipeline, never from here, so that a program calling the
// library gets what the command does.
func TestCommandsOnlyWire(t *testing.T) {
	stages := []string{
		"eval.Evaluate", "eval.Load", "plan.Decode", "plan.Normalize",
		"lock.Apply", "lock.Decode", "chart.LoadCredentials",
		"render.Render", "check.Run", "emit.Write", "emit.Build",
		"deploy.Deploy", "deploy.Diff", "deploy.Status",
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && slices.Contains(stages, x.Name+"."+sel.Sel.Name) {
				t.Errorf("%s: calls %s.%s: call the stage through pkg/pipeline", fset.Position(call.Pos()), x.Name, sel.Sel.Name)
			}
			return true
		})
	}
}
