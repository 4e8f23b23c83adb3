package eval

import (
	"fmt"
	"strings"

	cueerrors "cuelang.org/go/cue/errors"

	"wookie.dev/wookie/internal/errtext"
)

// yamlSyntaxError locates a YAML syntax error of CUE's YAML decoder at
// the line and column of the user's file where it is
// (errtext.YAMLSyntaxError).
func yamlSyntaxError(name string, src []byte, err error) error {
	return errtext.YAMLSyntaxError(name, src, err, func(prefix []byte) error {
		_, err := extractYAML(name, prefix)
		return err
	})
}

// jsonSyntaxError formats a JSON syntax error with the position the JSON
// decoder found it at and its cause.
func jsonSyntaxError(name string, err error) error {
	text := strings.TrimPrefix(err.Error(), fmt.Sprintf("invalid JSON for file %q: ", name))
	for _, e := range cueerrors.Errors(err) {
		if p := e.Position(); p.IsValid() {
			return fmt.Errorf("%s: JSON syntax error: %s", posString(p), text)
		}
	}
	return fmt.Errorf("%s: JSON syntax error: %s", name, text)
}
