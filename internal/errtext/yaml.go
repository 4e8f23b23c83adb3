package errtext

import (
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// yamlLine matches the start of a YAML parser message up to its reason:
// go-yaml's "yaml: line LINE: " behind the prefixes of sigs.k8s.io/yaml,
// or CUE's "FILE[:LINE]: ". LINE, when there is one, is where the
// construct holding the problem starts.
var yamlLine = regexp.MustCompile(`^(?:.*?yaml: line (\d+): |[^:]*(?::(\d+))?: )`)

// YAMLSyntaxError returns the syntax error err, which parse returned for
// src, the content of the file name, located at the line and column of
// src where it is: "NAME:LINE:COL: YAML syntax error: REASON". YAML
// parsers name only the line where the enclosing construct starts, so the
// problem is found by parsing prefixes of src: the shortest prefix that
// fails as the whole does ends at the problem. A prefix that holds the
// problem fails as the whole does and one that ends before it does not,
// so the search is a binary one: a few dozen parses, not one per line and
// column.
func YAMLSyntaxError(name string, src []byte, err error, parse func([]byte) error) error {
	text := err.Error()
	start := 1
	if m := yamlLine.FindStringSubmatch(text); m != nil {
		text = text[len(m[0]):]
		if n, err := strconv.Atoi(m[1] + m[2]); err == nil && n > 0 {
			start = n
		}
	}
	for _, p := range append(decoderPrefixes, "yaml: ") {
		text = strings.TrimPrefix(text, p)
	}
	if strings.TrimSpace(text) == "" {
		text = "the YAML parser gave no reason"
	}
	fails := func(prefix []byte) bool {
		err := parse(prefix)
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

// CheckYAMLSyntax parses src, the content of the file name, as YAML and
// returns its syntax error, located as YAMLSyntaxError does, or nil. It
// checks syntax only: call it before decoding src strictly, whose errors
// name no line.
func CheckYAMLSyntax(name string, src []byte) error {
	parse := func(b []byte) error {
		_, err := yaml.YAMLToJSON(b)
		return err
	}
	if err := parse(src); err != nil {
		return YAMLSyntaxError(name, src, err, parse)
	}
	return nil
}
