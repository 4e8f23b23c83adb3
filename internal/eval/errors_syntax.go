package eval

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	cueerrors "cuelang.org/go/cue/errors"
)

// yamlLine matches the start of a YAML parser message: the file name and,
// when the parser gives one, the line where the construct holding the
// problem starts.
var yamlLine = regexp.MustCompile(`^[^:]*(?::(\d+))?: `)

// yamlSyntaxError locates a YAML syntax error at the line and column of
// the user's file where it is. The YAML parser names only the line where
// the enclosing construct starts, so the problem is found by parsing
// prefixes of the file: the shortest prefix that fails as the whole file
// does ends at the problem. A prefix that holds the problem fails as the
// whole file does and one that ends before it does not, so the search is
// a binary one: a syntax error in a large file is located in a few dozen
// parses, not one per line and column.
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
	if strings.TrimSpace(text) == "" {
		text = "the YAML parser gave no reason"
	}
	fails := func(prefix []byte) bool {
		_, err := extractYAML(name, prefix)
		return err != nil && strings.HasSuffix(err.Error(), text)
	}
	lines := bytes.SplitAfter(src, []byte("\n"))
	start = min(start, len(lines))
	// The first line from start on whose end fails.
	line := start + sort.Search(len(lines)-start+1, func(i int) bool {
		return fails(bytes.Join(lines[:start+i], nil))
	})
	if line > len(lines) {
		return fmt.Errorf("%s:%d:1: YAML syntax error: %s", name, start, text)
	}
	head := bytes.Join(lines[:line-1], nil)
	l := bytes.TrimRight(lines[line-1], "\r\n")
	col := 1 + sort.Search(len(l), func(i int) bool {
		return fails(append(head[:len(head):len(head)], l[:i+1]...))
	})
	if col > len(l) {
		// Only the line's end makes it fail: point at its first character.
		col = len(l) - len(bytes.TrimLeft(l, " \t")) + 1
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
