package eval

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	cueerrors "cuelang.org/go/cue/errors"
	cueyaml "cuelang.org/go/encoding/yaml"
)

// yamlLine matches the start of a YAML parser message: the file name and,
// when the parser gives one, the line where the construct holding the
// problem starts.
var yamlLine = regexp.MustCompile(`^[^:]*(?::(\d+))?: `)

// yamlSyntaxError locates a YAML syntax error at the line and column of
// the user's file where it is. The YAML parser names only the line where
// the enclosing construct starts, so the problem is found by parsing ever
// longer prefixes of the file: the first prefix that fails as the whole
// file does ends at the problem.
func yamlSyntaxError(name string, src []byte, err error) error {
	text := err.Error()
	start := 1
	if m := yamlLine.FindStringSubmatch(text); m != nil {
		text = text[len(m[0]):]
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			start = n
		}
	}
	text = strings.TrimPrefix(text, "yaml: ")
	fails := func(prefix []byte) bool {
		_, err := cueyaml.Extract(name, prefix)
		return err != nil && strings.HasSuffix(err.Error(), text)
	}
	lines := bytes.SplitAfter(src, []byte("\n"))
	line, col := 0, 0
	for k := start; k <= len(lines); k++ {
		if fails(bytes.Join(lines[:k], nil)) {
			line = k
			break
		}
	}
	if line == 0 {
		return fmt.Errorf("%s: YAML syntax error: %s", name, text)
	}
	head := bytes.Join(lines[:line-1], nil)
	l := bytes.TrimRight(lines[line-1], "\r\n")
	col = len(l) - len(bytes.TrimLeft(l, " \t")) + 1
	for c := 1; c <= len(l); c++ {
		if fails(append(head[:len(head):len(head)], l[:c]...)) {
			col = c
			break
		}
	}
	return fmt.Errorf("%s:%d:%d: YAML syntax error: %s", name, line, col, text)
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
