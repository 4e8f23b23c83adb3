package eval

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	cuejson "cuelang.org/go/encoding/json"
	cueyaml "cuelang.org/go/encoding/yaml"

	"wookie.dev/wookie/modules"
)

// PackageName is the CUE package of the standard modules and of user files.
const PackageName = "wookie"

// DefaultFile is the configuration file read from the working directory when
// no file is given.
const DefaultFile = "wookie.cue"

// EmbeddedPrefix starts the file names of embedded modules in positions and
// error messages.
const EmbeddedPrefix = "embedded:modules/"

// Config says what to evaluate.
type Config struct {
	// Files are the user's configuration files (.cue, .yaml, .yml, .json) or
	// directories holding them. With none, Dir/wookie.cue is used when it
	// exists and the embedded default configuration otherwise.
	Files []string
	// Dir is the directory relative file names start from; "" means the
	// working directory.
	Dir string
	// Modules is the standard library; nil means the embedded modules.FS.
	Modules fs.FS
}

// Source is one file that took part in an evaluation.
type Source struct {
	// Name is the file name as it appears in positions.
	Name string
	// Embedded reports whether the file is one of wookie's own modules.
	Embedded bool
}

// Load evaluates the standard modules unified with the user's configuration
// and returns the result, checked for conflicts and type errors but not yet
// for concreteness. It also returns the files that took part.
func Load(cfg Config) (cue.Value, []Source, error) {
	mods := cfg.Modules
	if mods == nil {
		mods = modules.FS
	}
	inst := build.NewContext().NewInstance("", nil)
	inst.PkgName = PackageName
	var sources []Source

	add := func(f *ast.File, embedded bool) error {
		if f.PackageName() != "" && f.PackageName() != PackageName {
			return fmt.Errorf("%s: package %s: wookie configuration files are in package %s (or name no package)", f.Filename, f.PackageName(), PackageName)
		}
		if err := inst.AddSyntax(f); err != nil {
			return fmt.Errorf("%s: %w", f.Filename, err)
		}
		sources = append(sources, Source{Name: f.Filename, Embedded: embedded})
		return nil
	}

	lib, err := embeddedFiles(mods, modules.Library...)
	if err != nil {
		return cue.Value{}, nil, err
	}
	user, err := userFiles(cfg)
	if err != nil {
		return cue.Value{}, nil, err
	}
	if user == nil {
		def, err := embeddedFiles(mods, modules.Default)
		if err != nil {
			return cue.Value{}, nil, err
		}
		lib = append(lib, def...)
	}
	for _, f := range lib {
		if err := add(f, true); err != nil {
			return cue.Value{}, nil, err
		}
	}
	for _, f := range user {
		if err := add(f, false); err != nil {
			return cue.Value{}, nil, err
		}
	}
	declared := scanModules(lib)
	if err := checkPrivate(user, declared); err != nil {
		return cue.Value{}, nil, err
	}
	if err := checkTopLevel(user, declared); err != nil {
		return cue.Value{}, nil, err
	}

	ctx := cuecontext.New()
	v := ctx.BuildInstance(inst)
	if err := v.Err(); err != nil {
		return cue.Value{}, nil, formatErrorIn(optionsFirst(v, err), v)
	}
	if err := checkClusters(v); err != nil {
		return cue.Value{}, nil, err
	}
	if err := v.Validate(); err != nil {
		return cue.Value{}, nil, formatErrorIn(optionsFirst(v, err), v)
	}
	if err := checkCatalog(v); err != nil {
		return cue.Value{}, nil, err
	}
	return v, sources, nil
}

// optionsFirst returns the problems of the options (targets and projects)
// when they have any, and err, the problems of v, otherwise. CUE reports a
// bad option where it first meets it, which may be where a module copies it
// to (a target's agents in clusters.<name>.k3d.agents), while the user set
// it as an option; the copies' problems follow from the option's.
func optionsFirst(v cue.Value, err error) error {
	for _, e := range cueerrors.Errors(err) {
		if len(e.Path()) == 0 {
			return err // not about a value, such as an import
		}
	}
	var out cueerrors.Error
	for _, root := range []string{"targets", "projects"} {
		if e := v.LookupPath(cue.ParsePath(root)).Validate(); e != nil {
			out = cueerrors.Append(out, cueerrors.Promote(e, ""))
		}
	}
	if out == nil {
		return err
	}
	return out
}

// embeddedFiles parses every .cue file under the given directories of fsys,
// in lexical order.
func embeddedFiles(fsys fs.FS, dirs ...string) ([]*ast.File, error) {
	var files []*ast.File
	for _, dir := range dirs {
		err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || path.Ext(p) != ".cue" {
				return err
			}
			src, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			f, err := parser.ParseFile(EmbeddedPrefix+p, src, parser.ParseComments)
			if err != nil {
				return formatError(err)
			}
			files = append(files, f)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("embedded modules: %w", err)
		}
	}
	return files, nil
}

// Inputs returns the user's files an evaluation of cfg reads, as named
// (relative to cfg.Dir unless absolute), directories expanded to their
// configuration files, in the order they are read: with the embedded
// modules, which the program carries, they are everything the Plan
// depends on.
func Inputs(cfg Config) ([]string, error) {
	names := cfg.Files
	if len(names) == 0 {
		p := filepath.Join(cfg.Dir, DefaultFile)
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, nil
			}
			return nil, err
		}
		names = []string{DefaultFile}
	}
	var expanded []string
	for _, name := range names {
		full := name
		if !filepath.IsAbs(full) {
			full = filepath.Join(cfg.Dir, name)
		}
		st, err := os.Stat(full)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, unwrapPathError(err))
		}
		if !st.IsDir() {
			expanded = append(expanded, name)
			continue
		}
		entries, err := os.ReadDir(full)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, unwrapPathError(err))
		}
		var found []string
		for _, e := range entries {
			if !e.IsDir() && configExt(e.Name()) {
				found = append(found, filepath.Join(name, e.Name()))
			}
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no .cue, .yaml or .json files in this directory", name)
		}
		expanded = append(expanded, found...)
	}
	return expanded, nil
}

// userFiles reads and parses the user's configuration. It returns nil when
// there is none, so that the default configuration applies.
func userFiles(cfg Config) ([]*ast.File, error) {
	expanded, err := Inputs(cfg)
	if err != nil || expanded == nil {
		return nil, err
	}
	files := make([]*ast.File, 0, len(expanded))
	seen := map[string]bool{}
	for _, name := range expanded {
		if seen[filepath.Clean(name)] {
			continue
		}
		seen[filepath.Clean(name)] = true
		f, err := parseUserFile(cfg.Dir, name)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

func configExt(name string) bool {
	return slices.Contains([]string{".cue", ".yaml", ".yml", ".json"}, strings.ToLower(filepath.Ext(name)))
}

// unwrapPathError drops the path from an *fs.PathError, whose message the
// caller already starts with the file name.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// extractYAML is cueyaml.Extract, with a panic of CUE's YAML decoder (it
// indexes past the line table on some inputs, such as "\r\r0") turned
// into an error: bad input never crashes wookie.
func extractYAML(name string, src []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML decoder failed on this file (%v)", r)
		}
	}()
	return cueyaml.Extract(name, src)
}

// parseUserFile reads one configuration file and returns it as CUE syntax.
// YAML and JSON files must hold one mapping; they are data, unified like any
// CUE file.
func parseUserFile(dir, name string) (*ast.File, error) {
	full := name
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, name)
	}
	src, err := os.ReadFile(full)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, unwrapPathError(err))
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".cue":
		f, err := parser.ParseFile(name, src, parser.ParseComments)
		if err != nil {
			return nil, formatError(err)
		}
		return f, nil
	case ".yaml", ".yml":
		if len(bytes.TrimSpace(src)) == 0 {
			return nil, fmt.Errorf("%s: the file is empty: a configuration file holds one YAML mapping", name)
		}
		f, err := extractYAML(name, src)
		if err != nil {
			return nil, yamlSyntaxError(name, src, err)
		}
		if err := checkMapping(name, f); err != nil {
			return nil, err
		}
		return f, nil
	case ".json":
		expr, err := cuejson.Extract(name, src)
		if err != nil {
			return nil, jsonSyntaxError(name, err)
		}
		lit, ok := expr.(*ast.StructLit)
		if !ok {
			return nil, fmt.Errorf("%s: a configuration file holds one JSON object", name)
		}
		return &ast.File{Filename: name, Decls: lit.Elts}, nil
	default:
		return nil, fmt.Errorf("%s: unknown configuration file type %q: use .cue, .yaml, .yml or .json", name, filepath.Ext(name))
	}
}

// checkMapping rejects YAML files whose document is not a mapping, and
// streams of several documents.
func checkMapping(name string, f *ast.File) error {
	for _, d := range f.Decls {
		if e, ok := d.(*ast.EmbedDecl); ok {
			pos := e.Pos().Position()
			if !e.Pos().IsValid() {
				// Several documents come back as a list without a position.
				return fmt.Errorf("%s: a configuration file holds one YAML document, not several (---)", name)
			}
			if _, isList := e.Expr.(*ast.ListLit); isList && len(f.Decls) == 1 {
				return fmt.Errorf("%s:%d:%d: a configuration file holds one YAML mapping, not a list", name, pos.Line, pos.Column)
			}
			return fmt.Errorf("%s:%d:%d: a configuration file holds one YAML mapping (one document, no ---)", name, pos.Line, pos.Column)
		}
	}
	return nil
}
