package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// This file checks the shape of a JSON document against the Plan types
// before encoding/json decodes it. encoding/json matches field names without
// regard to case, reports unknown fields without a position, and accepts
// duplicate fields; the checker walks the tokens itself so that every problem
// has an exact offset and a JSON path.

// maxDepth bounds the nesting of a document, as encoding/json does.
const maxDepth = 10000

// shape is the kind of JSON value a schema node accepts.
type shape int

const (
	shapeString shape = iota // a string
	shapeInt                 // an integer number that fits an int
	shapeBool                // true or false
	shapeStruct              // an object with known fields
	shapeList                // an array
	shapeMap                 // an object with any keys
	shapeAny                 // any value
)

// String names the values s accepts, for messages.
func (s shape) String() string {
	switch s {
	case shapeString:
		return "string"
	case shapeInt:
		return "integer"
	case shapeBool:
		return "boolean"
	case shapeList:
		return "array"
	case shapeStruct, shapeMap:
		return "object"
	}
	return "any value"
}

// schema describes the JSON form of a Go type.
type schema struct {
	shape shape
	// nullable is set for fields whose Go type has nil (pointers, slices,
	// maps); elements of lists and maps are never null.
	nullable bool
	fields   map[string]*schema // shapeStruct: by JSON name
	elem     *schema            // shapeList and shapeMap
}

// anySchema accepts any value; it also skips values after a problem.
var anySchema = &schema{shape: shapeAny}

// planSchema is the JSON form of Plan, derived from its json tags so that the
// types stay the one source of truth.
var planSchema = schemaOf(reflect.TypeFor[Plan]())

// schemaOf derives the schema of t. It panics on a Go type the Plan types do
// not use; that is a programming error caught by every test.
func schemaOf(t reflect.Type) *schema {
	switch t.Kind() {
	case reflect.String:
		return &schema{shape: shapeString}
	case reflect.Int:
		return &schema{shape: shapeInt}
	case reflect.Bool:
		return &schema{shape: shapeBool}
	case reflect.Interface:
		return anySchema
	case reflect.Pointer:
		return schemaOf(t.Elem())
	case reflect.Slice:
		return &schema{shape: shapeList, elem: schemaOf(t.Elem())}
	case reflect.Map:
		return &schema{shape: shapeMap, elem: schemaOf(t.Elem())}
	case reflect.Struct:
		s := &schema{shape: shapeStruct, fields: map[string]*schema{}}
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" || !f.IsExported() {
				panic(fmt.Sprintf("plan: field %s.%s needs a json name", t.Name(), f.Name))
			}
			fs := *schemaOf(f.Type)
			switch f.Type.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Map:
				fs.nullable = true
			}
			s.fields[name] = &fs
		}
		return s
	}
	panic(fmt.Sprintf("plan: no schema for Go type %s", t))
}

// problem is a shape problem at an offset of the JSON input.
type problem struct {
	off int64
	msg string
}

// Error returns the message without the position.
func (p *problem) Error() string { return p.msg }

// valueAt is a value of the document, described for messages (see
// describe; strings are quoted), and where it starts. found is empty for a
// value the document does not have.
type valueAt struct {
	found string
	off   int64
}

// describe names the kind of JSON value tok starts.
func describe(tok json.Token) string {
	switch tok := tok.(type) {
	case json.Delim:
		if tok == '{' {
			return "object"
		}
		return "array"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return "null"
}

// checker walks one JSON document.
type checker struct {
	data []byte
	dec  *json.Decoder
	// first is the first shape problem in document order. The walk goes on
	// after it so that apiVersion and kind are seen: a wrong apiVersion or
	// kind explains the other problems and is reported first.
	first      *problem
	apiVersion valueAt
	kind       valueAt
}

func newChecker(data []byte) *checker {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return &checker{data: data, dec: dec}
}

// check walks the first value of the document. It returns syntax errors and
// problems that stop the walk; other problems are kept in c.first.
func (c *checker) check() error {
	return c.value(planSchema, nil, 0)
}

// note keeps the first problem.
func (c *checker) note(off int64, format string, args ...any) {
	if c.first == nil {
		c.first = &problem{off: off, msg: fmt.Sprintf(format, args...)}
	}
}

// next returns the next token and the offset where it starts.
func (c *checker) next() (json.Token, int64, error) {
	off := c.dec.InputOffset()
	for off < int64(len(c.data)) && strings.IndexByte(" \t\r\n,:", c.data[off]) >= 0 {
		off++
	}
	tok, err := c.dec.Token()
	return tok, off, err
}

// value checks the next value against s; p is its path.
func (c *checker) value(s *schema, p *path, depth int) error {
	tok, off, err := c.next()
	if err != nil {
		return err
	}
	if depth > maxDepth {
		return &problem{off: off, msg: fmt.Sprintf("document nested deeper than %d levels", maxDepth)}
	}
	found := describe(tok)
	if depth == 1 && (p.key == "apiVersion" || p.key == "kind") {
		v := valueAt{found: found, off: off}
		if s, ok := tok.(string); ok {
			v.found = strconv.Quote(s)
		}
		if p.key == "apiVersion" {
			c.apiVersion = v
		} else {
			c.kind = v
		}
	}
	switch tok := tok.(type) {
	case json.Delim: // '{' or '['; the decoder reports a misplaced closer
		if tok == '{' && (s.shape == shapeStruct || s.shape == shapeMap || s.shape == shapeAny) {
			return c.object(s, p, depth)
		}
		if tok == '[' && (s.shape == shapeList || s.shape == shapeAny) {
			return c.array(s, p, depth)
		}
		if err := c.mismatch(off, s, p, found); err != nil {
			return err
		}
		if tok == '{' {
			return c.object(anySchema, p, depth)
		}
		return c.array(anySchema, p, depth)
	case string:
		if s.shape == shapeString || s.shape == shapeAny {
			return nil
		}
	case json.Number:
		switch s.shape {
		case shapeAny:
			return nil
		case shapeInt:
			if _, err := strconv.ParseInt(tok.String(), 10, strconv.IntSize); err == nil {
				return nil
			}
			found = "number " + tok.String()
		}
	case bool:
		if s.shape == shapeAny || s.shape == shapeBool {
			return nil
		}
	case nil:
		if s.shape == shapeAny || s.nullable {
			return nil
		}
	}
	return c.mismatch(off, s, p, found)
}

// mismatch notes that the value at p is not what s accepts. A document that
// is not an object stops the walk: it is no Plan at all.
func (c *checker) mismatch(off int64, s *schema, p *path, found string) error {
	if p == nil {
		return &problem{off: off, msg: "document must be an object, found " + found}
	}
	c.note(off, "%s: expected %s, found %s", p, s.shape, found)
	return nil
}

// object checks the members of an object whose '{' has been read.
func (c *checker) object(s *schema, p *path, depth int) error {
	seen := map[string]bool{}
	for c.dec.More() {
		tok, off, err := c.next()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok { // not reached: the decoder only gives strings as keys
			return &problem{off: off, msg: fmt.Sprintf("%s: object key is not a string", p)}
		}
		if seen[key] {
			c.note(off, "duplicate field %q %s", key, in(p))
		}
		seen[key] = true
		var elem *schema
		switch s.shape {
		case shapeStruct:
			elem = s.fields[key]
			if elem == nil {
				c.note(off, "unknown field %q %s", key, in(p))
				elem = anySchema
			}
		case shapeMap:
			elem = s.elem
		default:
			elem = anySchema
		}
		if err := c.value(elem, &path{parent: p, key: key, index: -1}, depth+1); err != nil {
			return err
		}
	}
	_, _, err := c.next() // '}'
	return err
}

// array checks the elements of an array whose '[' has been read.
func (c *checker) array(s *schema, p *path, depth int) error {
	elem := anySchema
	if s.shape == shapeList {
		elem = s.elem
	}
	for i := 0; c.dec.More(); i++ {
		if err := c.value(elem, &path{parent: p, index: i}, depth+1); err != nil {
			return err
		}
	}
	_, _, err := c.next() // ']'
	return err
}

// in names the object at p for a message: "in clusters[0]", or "at top
// level" for the document itself.
func in(p *path) string {
	if p == nil {
		return "at top level"
	}
	return "in " + p.String()
}

// path is the JSON path of a value, as a chain to the document root (nil).
type path struct {
	parent *path
	key    string // the object member, when index < 0
	index  int    // the array index, or -1
}

// String renders p as in "clusters[0].batches[1].values.image" (keys that
// are not plain words are quoted: values["a.b"]).
func (p *path) String() string {
	var parts []*path
	for q := p; q != nil; q = q.parent {
		parts = append(parts, q)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		q := parts[i]
		switch {
		case q.index >= 0:
			fmt.Fprintf(&b, "[%d]", q.index)
		case plainKey(q.key):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(q.key)
		default:
			b.WriteString("[" + strconv.Quote(q.key) + "]")
		}
	}
	return b.String()
}

// plainKey reports whether k can be written unquoted in a path.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
