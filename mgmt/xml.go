package mgmt

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// This file holds the XML plumbing of binding files: a small element tree
// that keeps prefixes, order and line numbers (encoding/xml's struct
// mapping drops unknown elements silently, which binding import must not),
// a reader over it that remembers which children were understood, and an
// indenting writer.

// maxDepth bounds element nesting; binding files nest about eight deep.
const maxDepth = 64

// node is one element.
type node struct {
	name     string // with its prefix, as written
	attrs    []Attr
	children []*node
	text     string // character data directly inside the element
	line     int
}

func (n *node) attr(name string) (string, bool) {
	for _, a := range n.attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

func (n *node) isNil() bool {
	v, _ := n.attr("xsi:nil")
	return v == "true"
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// parseTree reads one XML document. Errors carry the line they were found
// on; lineBase is added to every line (for documents embedded in another
// document's text).
func parseTree(r io.Reader, lineBase int) (*node, error) {
	d := xml.NewDecoder(r)
	d.Strict = true
	// Embedded filter documents declare encoding="utf-16" but, once
	// unescaped from the outer document, are UTF-8 text.
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf-16", "utf16", "unicode", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	var root *node
	var stack []*node
	var text [][]byte
	line := func() int { l, _ := d.InputPos(); return l + lineBase }
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &BindingError{Path: treePath(stack), Line: se.Line + lineBase, Err: fmt.Errorf("%w: %s", ErrMalformed, se.Msg)}
			}
			return nil, &BindingError{Path: treePath(stack), Line: line(), Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, &BindingError{Path: qname(t.Name), Line: line(), Err: fmt.Errorf("%w: a second root element", ErrMalformed)}
			}
			if len(stack) >= maxDepth {
				return nil, &BindingError{Path: treePath(stack), Line: line(), Err: fmt.Errorf("%w: elements nested deeper than %d", ErrMalformed, maxDepth)}
			}
			n := &node{name: qname(t.Name), line: line()}
			for _, a := range t.Attr {
				n.attrs = append(n.attrs, Attr{Name: qname(a.Name), Value: a.Value})
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				root = n
			}
			stack = append(stack, n)
			text = append(text, nil)
		case xml.EndElement:
			// RawToken does not match end tags to start tags; do it here.
			if len(stack) == 0 || stack[len(stack)-1].name != qname(t.Name) {
				return nil, &BindingError{Path: treePath(stack), Line: line(), Err: fmt.Errorf("%w: unexpected end tag </%s>", ErrMalformed, qname(t.Name))}
			}
			n := stack[len(stack)-1]
			n.text = string(text[len(text)-1])
			stack = stack[:len(stack)-1]
			text = text[:len(text)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, &BindingError{Path: "", Line: line(), Err: fmt.Errorf("%w: text outside the root element", ErrMalformed)}
				}
				continue
			}
			text[len(text)-1] = append(text[len(text)-1], t...)
		}
	}
	if len(stack) > 0 {
		return nil, &BindingError{Path: treePath(stack), Line: line(), Err: fmt.Errorf("%w: unexpected end of file", ErrMalformed)}
	}
	if root == nil {
		return nil, &BindingError{Line: line(), Err: fmt.Errorf("%w: no root element", ErrMalformed)}
	}
	return root, nil
}

func treePath(stack []*node) string {
	names := make([]string, len(stack))
	for i, n := range stack {
		names[i] = n.name
	}
	return strings.Join(names, "/")
}

// rawXML renders n compactly; Export writes it back verbatim.
func rawXML(n *node) string {
	var b strings.Builder
	writeRaw(&b, n)
	return b.String()
}

func writeRaw(b *strings.Builder, n *node) {
	b.WriteByte('<')
	b.WriteString(n.name)
	for _, a := range n.attrs {
		b.WriteByte(' ')
		b.WriteString(a.Name)
		b.WriteString(`="`)
		b.WriteString(escapeAttr(a.Value))
		b.WriteByte('"')
	}
	text := n.text
	if len(n.children) > 0 && strings.TrimSpace(text) == "" {
		text = ""
	}
	if len(n.children) == 0 && text == "" {
		b.WriteString(" />")
		return
	}
	b.WriteByte('>')
	b.WriteString(escapeText(text))
	for _, c := range n.children {
		writeRaw(b, c)
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteByte('>')
}

var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
		"\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;")
)

func escapeText(s string) string { return textEscaper.Replace(s) }
func escapeAttr(s string) string { return attrEscaper.Replace(s) }

// reader maps a tree onto the model. It keeps the first error and a list
// of what it could neither interpret nor keep.
type reader struct {
	err     error
	ignored []Ignored
}

// el is an element being read: which of its children and attributes have
// been understood.
type el struct {
	r        *reader
	n        *node
	path     string
	used     []bool
	usedAttr []bool
}

func (r *reader) elem(n *node, path string) *el {
	return &el{r: r, n: n, path: path, used: make([]bool, len(n.children)), usedAttr: make([]bool, len(n.attrs))}
}

func (e *el) failf(format string, args ...any) {
	e.failAt(e.n.line, e.path, format, args...)
}

func (e *el) failAt(line int, path, format string, args ...any) {
	if e.r.err == nil {
		e.r.err = &BindingError{Path: path, Line: line, Err: fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))}
	}
}

// child returns the first child called name not read yet, or nil.
func (e *el) child(name string) *el {
	for i, c := range e.n.children {
		if !e.used[i] && c.name == name {
			e.used[i] = true
			return e.r.elem(c, e.path+"/"+name)
		}
	}
	return nil
}

// all returns every child called name not read yet.
func (e *el) all(name string) []*el {
	var out []*el
	k := 0
	for i, c := range e.n.children {
		if !e.used[i] && c.name == name {
			e.used[i] = true
			k++
			out = append(out, e.r.elem(c, fmt.Sprintf("%s/%s[%d]", e.path, name, k)))
		}
	}
	return out
}

// attr returns the attribute called name and marks it read.
func (e *el) attr(name string) (string, bool) {
	for i, a := range e.n.attrs {
		if a.Name == name {
			e.usedAttr[i] = true
			return a.Value, true
		}
	}
	return "", false
}

func (e *el) str(name string) string {
	v, _ := e.attr(name)
	return v
}

func (e *el) intAttr(name string) int {
	v, ok := e.attr(name)
	if !ok || strings.TrimSpace(v) == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		e.failf("attribute %s: %q is not an integer", name, v)
	}
	return n
}

func (e *el) boolAttr(name string) bool {
	v, ok := e.attr(name)
	if !ok {
		return false
	}
	return e.parseBool("attribute "+name, v)
}

func (e *el) parseBool(what, v string) bool {
	switch strings.TrimSpace(v) {
	case "true", "1":
		return true
	case "false", "0", "":
		return false
	}
	e.failf("%s: %q is not a boolean", what, v)
	return false
}

// leafText returns the text of a leaf element, "" for xsi:nil.
func (e *el) leafText() string {
	e.attr("xsi:nil")
	for i, a := range e.n.attrs {
		if !e.usedAttr[i] {
			e.r.ignored = append(e.r.ignored, Ignored{Path: e.path + "/@" + a.Name, Line: e.n.line})
		}
	}
	if len(e.n.children) > 0 {
		e.failf("element has child elements where text was expected")
		return ""
	}
	return e.n.text
}

// text returns the text of the child called name, "" when absent or nil.
func (e *el) text(name string) string {
	c := e.child(name)
	if c == nil {
		return ""
	}
	return c.leafText()
}

func (e *el) intText(name string) int {
	c := e.child(name)
	if c == nil {
		return 0
	}
	v := strings.TrimSpace(c.leafText())
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		c.failf("%q is not an integer", v)
	}
	return n
}

func (e *el) boolText(name string) bool {
	c := e.child(name)
	if c == nil {
		return false
	}
	return c.parseBool("value", c.leafText())
}

// extras returns the children not read, kept as Raw after the nearest read
// sibling before them.
func (e *el) extras() []Raw {
	var out []Raw
	after := ""
	for i, c := range e.n.children {
		if e.used[i] {
			after = c.name
			continue
		}
		out = append(out, Raw{After: after, XML: rawXML(c)})
	}
	return out
}

// extraAttrs returns the attributes not read, and marks them read: the
// caller keeps them. Namespace declarations are kept too: a kept attribute
// or element may use their prefix.
func (e *el) extraAttrs() []Attr {
	var out []Attr
	for i, a := range e.n.attrs {
		if !e.usedAttr[i] {
			e.usedAttr[i] = true
			out = append(out, a)
		}
	}
	return out
}

// ignore reports the children and attributes not read; for elements whose
// unknown content has nowhere to be kept. xsi:nil is understood
// everywhere.
func (e *el) ignore() {
	for i, a := range e.n.attrs {
		if !e.usedAttr[i] && a.Name != "xsi:nil" {
			e.usedAttr[i] = true
			e.r.ignored = append(e.r.ignored, Ignored{Path: e.path + "/@" + a.Name, Line: e.n.line})
		}
	}
	for i, c := range e.n.children {
		if !e.used[i] {
			e.used[i] = true
			e.r.ignored = append(e.r.ignored, Ignored{Path: e.path + "/" + c.name, Line: c.line})
		}
	}
}

// xw writes indented XML in the layout BizTalk's exports use: two spaces
// per level, one element per line.
type xw struct {
	b     bytes.Buffer
	depth int
}

func (w *xw) indent() {
	for range w.depth {
		w.b.WriteString("  ")
	}
}

func (w *xw) attrs(kv []string, extra []Attr) {
	for i := 0; i+1 < len(kv); i += 2 {
		w.b.WriteByte(' ')
		w.b.WriteString(kv[i])
		w.b.WriteString(`="`)
		w.b.WriteString(escapeAttr(kv[i+1]))
		w.b.WriteByte('"')
	}
	for _, a := range extra {
		w.b.WriteByte(' ')
		w.b.WriteString(a.Name)
		w.b.WriteString(`="`)
		w.b.WriteString(escapeAttr(a.Value))
		w.b.WriteByte('"')
	}
}

// open writes a start tag with attributes given as name, value pairs.
func (w *xw) open(name string, extra []Attr, kv ...string) {
	w.indent()
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.attrs(kv, extra)
	w.b.WriteString(">\n")
	w.depth++
}

func (w *xw) close(name string) {
	w.depth--
	w.indent()
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteString(">\n")
}

// empty writes <name attrs />.
func (w *xw) empty(name string, extra []Attr, kv ...string) {
	w.indent()
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.attrs(kv, extra)
	w.b.WriteString(" />\n")
}

// leaf writes <name>text</name>, or <name /> for empty text.
func (w *xw) leaf(name, text string) {
	if text == "" {
		w.empty(name, nil)
		return
	}
	w.indent()
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.b.WriteByte('>')
	w.b.WriteString(escapeText(text))
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteString(">\n")
}

// nilLeaf writes <name>text</name>, or <name xsi:nil="true" /> for empty
// text.
func (w *xw) nilLeaf(name, text string) {
	if text == "" {
		w.empty(name, nil, "xsi:nil", "true")
		return
	}
	w.leaf(name, text)
}

func (w *xw) boolLeaf(name string, v bool) { w.leaf(name, strconv.FormatBool(v)) }
func (w *xw) intLeaf(name string, v int)   { w.leaf(name, strconv.Itoa(v)) }

// raw writes a kept element (as rawXML rendered it), indented like the
// rest of the document.
func (w *xw) raw(s string) {
	n, err := parseTree(strings.NewReader(s), 0)
	if err != nil {
		// Not produced by rawXML: write it as it is.
		w.indent()
		w.b.WriteString(s)
		w.b.WriteByte('\n')
		return
	}
	w.node(n)
}

func (w *xw) node(n *node) {
	mixed := len(n.children) > 0 && strings.TrimSpace(n.text) != ""
	switch {
	case mixed:
		w.indent()
		w.b.WriteString(rawXML(n))
		w.b.WriteByte('\n')
	case len(n.children) == 0 && n.text == "":
		w.empty(n.name, n.attrs)
	case len(n.children) == 0:
		w.indent()
		w.b.WriteByte('<')
		w.b.WriteString(n.name)
		w.attrs(nil, n.attrs)
		w.b.WriteByte('>')
		w.b.WriteString(escapeText(n.text))
		w.b.WriteString("</")
		w.b.WriteString(n.name)
		w.b.WriteString(">\n")
	default:
		w.open(n.name, n.attrs)
		for _, c := range n.children {
			w.node(c)
		}
		w.close(n.name)
	}
}

// children writes known children of one element and puts the kept unknown
// ones back after the sibling they followed.
type children struct {
	w      *xw
	extras []Raw
	done   []bool
}

func (w *xw) children(extras []Raw) *children {
	c := &children{w: w, extras: extras, done: make([]bool, len(extras))}
	c.after("")
	return c
}

// after writes the extras that followed the element name.
func (c *children) after(name string) {
	for i, r := range c.extras {
		if !c.done[i] && r.After == name {
			c.done[i] = true
			c.w.raw(r.XML)
		}
	}
}

// rest writes the extras whose sibling was not written.
func (c *children) rest() {
	for i, r := range c.extras {
		if !c.done[i] {
			c.done[i] = true
			c.w.raw(r.XML)
		}
	}
}
