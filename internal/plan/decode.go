package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
	"sigs.k8s.io/yaml"
)

// Decode decodes a Plan from its JSON or YAML form. The input is JSON if its
// first non-space byte is '{', and YAML otherwise.
//
// Decoding is strict: a field the Plan types do not define is an error, and
// so are duplicate fields, values of the wrong type, data after the document
// and an empty document. Field names are matched exactly (encoding/json alone
// would accept "Name" for "name"). The free-form chart values and manifest
// objects accept any JSON object; numbers in them decode as json.Number, so
// no precision is lost. apiVersion must be APIVersion and kind must be Kind.
//
// Errors are one line and start with source (usually the file name), then the
// position where one is known: line:column for JSON input, the line for YAML
// syntax errors. Problems in the typed part name the JSON path, e.g.
// `plan.json:12:5: unknown field "dependson" in
// clusters[0].batches[1].bundles[0]`.
//
// Decode checks the shape of the document only; Normalize checks its meaning.
func Decode(data []byte, source string) (*Plan, error) {
	if isJSON(data) {
		return decodeJSON(data, source, func(off int64) string { return source + ":" + lineCol(data, off) })
	}
	js, err := yamlToJSON(data, source)
	if err != nil {
		return nil, err
	}
	// Offsets in the converted JSON mean nothing to the author of the YAML
	// file, so its problems carry the JSON path only.
	return decodeJSON(js, source, func(int64) string { return source })
}

// isJSON reports whether data's first non-space byte is '{'.
func isJSON(data []byte) bool {
	rest := bytes.TrimLeft(data, " \t\r\n")
	return len(rest) > 0 && rest[0] == '{'
}

// decodeJSON checks the shape of js, then decodes it into a Plan. at turns an
// offset in js into the position prefix of a message.
func decodeJSON(js []byte, source string, at func(int64) string) (*Plan, error) {
	c := newChecker(js)
	if err := c.check(); err != nil {
		var syn *json.SyntaxError
		var prob *problem
		switch {
		case errors.As(err, &syn):
			// Decoder.Token gives the offset of the offending byte or of
			// the start of the offending value.
			return nil, fmt.Errorf("%s: %w", at(syn.Offset), err)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, fmt.Errorf("%s: unexpected end of input", at(int64(len(js))))
		case errors.As(err, &prob):
			return nil, fmt.Errorf("%s: %s", at(prob.off), prob.msg)
		default:
			return nil, fmt.Errorf("%s: %w", source, err)
		}
	}
	if rest := bytes.TrimLeft(js[c.dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return nil, fmt.Errorf("%s: trailing data after the document", at(int64(len(js)-len(rest))))
	}
	for _, f := range []struct {
		name, want string
		v          valueAt
	}{{"apiVersion", APIVersion, c.apiVersion}, {"kind", Kind, c.kind}} {
		if f.v.found != strconv.Quote(f.want) {
			where := source
			if f.v.found != "" {
				where = at(f.v.off)
			}
			return nil, fmt.Errorf("%s: %s: %s", where, f.name, wrongValue(f.v.found, f.want))
		}
	}
	if c.first != nil {
		return nil, fmt.Errorf("%s: %s", at(c.first.off), c.first.msg)
	}

	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		// Not reached for input the checker accepted; kept so that a gap
		// between checker and decoder is an error, not a silent change.
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &p, nil
}

// wrongValue says what was found where want was expected, for apiVersion
// and kind. found is a quoted string, a kind of JSON value ("number"), or
// empty for a missing value.
func wrongValue(found, want string) string {
	if found == "" {
		return fmt.Sprintf("missing, expected %q", want)
	}
	return fmt.Sprintf("found %s, expected %q", found, want)
}

// lineCol turns a byte offset in data into "line:column", both counted from
// 1, the column in bytes.
func lineCol(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := off - int64(bytes.LastIndexByte(before, '\n'))
	return strconv.Itoa(line) + ":" + strconv.FormatInt(col, 10)
}

// yamlToJSON converts a YAML document to JSON. Errors carry source and, where
// the YAML parser gives one, the line.
func yamlToJSON(data []byte, source string) (js []byte, err error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty document", source)
	}
	defer func() {
		// The YAML parser is third-party code; a bug in it must not crash
		// the caller on bad input.
		if r := recover(); r != nil {
			js, err = nil, fmt.Errorf("%s: YAML parser failed: %v", source, r)
		}
	}()
	js, err = yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, yamlError(source, err)
	}
	if bytes.Equal(js, []byte("null")) {
		return nil, fmt.Errorf("%s: empty document", source)
	}
	// YAMLToJSON reads the first document only; a second one is trailing
	// data.
	dec := yamlv2.NewDecoder(bytes.NewReader(data))
	var first, second presence
	if err := dec.Decode(&first); err != nil {
		return nil, yamlError(source, err)
	}
	switch err := dec.Decode(&second); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, fmt.Errorf("%s: trailing data after the document: %s", source, oneLine(strings.TrimPrefix(err.Error(), "yaml: ")))
	case bool(second):
		return nil, fmt.Errorf("%s: trailing data after the document: a second YAML document", source)
	}
	return js, nil
}

// presence records whether a YAML document has content: its UnmarshalYAML
// is not called for an empty (null) document.
type presence bool

// UnmarshalYAML notes that the document has content and skips it.
func (p *presence) UnmarshalYAML(func(any) error) error {
	*p = true
	return nil
}

// yamlError turns an error from the YAML parser into one line that starts
// with source and, where the parser names one, the line: "plan.yaml:3: ...".
func yamlError(source string, err error) error {
	msg, ok := strings.CutPrefix(err.Error(), "yaml: ")
	if !ok {
		return fmt.Errorf("%s: convert YAML to JSON: %s", source, oneLine(msg))
	}
	if rest, ok := strings.CutPrefix(msg, "unmarshal errors:\n"); ok {
		items := strings.Split(rest, "\n")
		msg = strings.TrimSpace(items[0])
		if len(items) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(items)-1)
		}
	}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, text, ok := strings.Cut(rest, ": "); ok {
			if _, err := strconv.Atoi(n); err == nil {
				return fmt.Errorf("%s:%s: %s", source, n, oneLine(text))
			}
		}
	}
	return fmt.Errorf("%s: %s", source, oneLine(msg))
}

// oneLine joins the lines of msg with spaces.
func oneLine(msg string) string {
	return strings.Join(strings.Fields(msg), " ")
}
