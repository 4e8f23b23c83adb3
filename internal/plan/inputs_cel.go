package plan

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
)

// InputExpression is a compiled InputSource.Expression.
type InputExpression struct {
	expr string
	prog cel.Program
}

// celEnvOptions are the options of the CEL environment of input
// expressions: those of the readiness rules, which deploy evaluates with
// fluxcd/pkg/runtime/cel (the standard library, the strings, sets and
// encoders extensions, optional types).
func celEnvOptions() []cel.EnvOption {
	return []cel.EnvOption{
		cel.HomogeneousAggregateLiterals(),
		cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		ext.Strings(),
		ext.Sets(),
		ext.Encoders(),
	}
}

// CompileInputExpression compiles an input's CEL expression.
//
// The expression sees the object's top-level fields (apiVersion, kind,
// metadata, spec, status, data, ...) as variables of dynamic type. It may
// use the CEL standard library (has(), size(), string(), int(), the
// exists/all/map/filter macros, ...), the strings extension (split, join,
// lowerAscii, replace, substring, trim, format, ...), the sets extension
// (sets.contains, ...), base64.decode and base64.encode, and optional
// types (data.?key.orValue("")). It must yield a string: an expression
// whose type is known to be another (a number, bytes, a bool) is an error
// that suggests string(...).
//
// Compiling finds syntax errors, unknown functions and type errors that
// do not depend on the object; the errors are one line.
func CompileInputExpression(expr string) (*InputExpression, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, fmt.Errorf("empty expression")
	}
	base, err := cel.NewEnv(celEnvOptions()...)
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	parsed, iss := base.Parse(expr)
	if iss.Err() != nil {
		return nil, celError(iss)
	}
	// Declare every free name as a variable of dynamic type, so that the
	// checker can find unknown functions and type errors without knowing
	// the object's schema. Names that comprehensions bind are declared too;
	// the comprehension's binding hides the declaration.
	opts := celEnvOptions()
	seen := map[string]bool{}
	for _, n := range ast.MatchDescendants(ast.NavigateAST(parsed.NativeRep()), ast.KindMatcher(ast.IdentKind)) {
		if name := n.AsIdent(); !seen[name] {
			seen[name] = true
			opts = append(opts, cel.Variable(name, cel.DynType))
		}
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, fmt.Errorf("CEL environment: %w", err)
	}
	checked, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, celError(iss)
	}
	if t := checked.OutputType(); !t.IsExactType(types.StringType) && !t.IsExactType(types.DynType) {
		return nil, notString(t.String(), t.Kind() == types.OpaqueKind && t.TypeName() == "optional_type")
	}
	prog, err := env.Program(checked, cel.EvalOptions(cel.OptOptimize), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, fmt.Errorf("CEL program: %w", err)
	}
	return &InputExpression{expr: expr, prog: prog}, nil
}

// celError makes the issues of a CEL parse or check one line:
// "1:4: Syntax error: ...; 1:9: undeclared reference to 'foo'".
func celError(iss *cel.Issues) error {
	var parts []string
	for _, e := range iss.Errors() {
		msg := strings.Join(strings.Fields(strings.TrimSuffix(e.Message, " (in container '')")), " ")
		if loc := e.Location; loc != nil && loc != common.NoLocation {
			msg = fmt.Sprintf("%d:%d: %s", loc.Line(), loc.Column()+1, msg)
		}
		parts = append(parts, msg)
	}
	if len(parts) == 0 {
		return fmt.Errorf("%s", strings.Join(strings.Fields(iss.Err().Error()), " "))
	}
	return fmt.Errorf("%s", strings.Join(parts, "; "))
}

// String returns the expression as written.
func (e *InputExpression) String() string { return e.expr }

// Eval evaluates the expression over obj, an object's JSON form (its
// fields at the top level). It returns "" and no error when the expression
// yields null, and an error when it fails, for example because a field it
// reads is not there (yet), or yields anything but a string or null.
func (e *InputExpression) Eval(ctx context.Context, obj map[string]any) (string, error) {
	val, _, err := e.prog.ContextEval(ctx, obj)
	if err != nil {
		return "", fmt.Errorf("%s", strings.Join(strings.Fields(err.Error()), " "))
	}
	switch v := val.(type) {
	case types.String:
		return string(v), nil
	case types.Null:
		return "", nil
	}
	return "", notString(val.Type().TypeName(), val.Type().TypeName() == "optional_type")
}

// notString says that an expression yields typeName, not a string, and
// how to fix that.
func notString(typeName string, optional bool) error {
	if optional {
		return fmt.Errorf("yields %s, not a string: end it with .orValue(\"\")", typeName)
	}
	return fmt.Errorf("yields %s, not a string: convert it with string(...)", typeName)
}
