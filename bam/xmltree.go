package bam

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// This file reads BAM documents into a small element tree that keeps
// prefixes, attribute order and line numbers. encoding/xml's struct mapping
// would drop unknown elements and attributes without a word; definition
// import must refuse them, naming the element and the line.

// maxNesting bounds element depth; BAM definitions nest about eight deep
// (progress stages nest as deep as the stages do).
const maxNesting = 64

// maxDocument bounds a document's decoded size: the largest real
// definitions are a few hundred kilobytes.
const maxDocument = 64 << 20

// xnode is one element.
type xnode struct {
	name     string // with its prefix, as written
	attrs    []xattr
	children []*xnode
	text     string // character data directly inside the element
	line     int
	// used marks attributes and children that a reader understood, so
	// that what remains can be refused by name.
	usedAttr  []bool
	usedChild []bool
}

type xattr struct{ name, value string }

// local is the element name without its prefix.
func (n *xnode) local() string {
	if i := strings.IndexByte(n.name, ':'); i >= 0 {
		return n.name[i+1:]
	}
	return n.name
}

// utf8Reader returns r as UTF-8: UTF-16 with a byte-order mark (what
// Excel's BAM add-in and the Tracking Profile Editor write), UTF-16 without
// one (recognised by the NUL of its "<"), and UTF-8 with or without a mark.
// The declaration's encoding attribute is then ignored (see parseXML).
func utf8Reader(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return transform.NewReader(br, unicode.BOMOverride(unicode.UTF8.NewDecoder()))
	case len(head) >= 2 && head[0] == '<' && head[1] == 0:
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder())
	case len(head) >= 2 && head[0] == 0 && head[1] == '<':
		return transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder())
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3) // encoding/xml refuses a UTF-8 mark
	}
	return br
}

// parseXML reads one document into a tree. root names the document kind in
// errors.
func parseXML(r io.Reader, root string) (*xnode, error) {
	d := xml.NewDecoder(io.LimitReader(utf8Reader(r), maxDocument))
	d.Strict = true
	// The text is UTF-8 by now whatever the declaration says.
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf-16", "utf16", "unicode", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	var top *xnode
	var stack []*xnode
	var text []*strings.Builder
	line := func() int { l, _ := d.InputPos(); return l }
	fail := func(l int, format string, args ...any) error {
		return &DefinitionError{Element: pathOf(stack, root), Line: l, Err: fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)}
	}
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fail(se.Line, "%s", se.Msg)
			}
			return nil, fail(line(), "%v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if top != nil && len(stack) == 0 {
				return nil, fail(line(), "a second root element <%s>", qualified(t.Name))
			}
			if len(stack) >= maxNesting {
				return nil, fail(line(), "elements nested deeper than %d", maxNesting)
			}
			n := &xnode{name: qualified(t.Name), line: line()}
			for _, a := range t.Attr {
				n.attrs = append(n.attrs, xattr{qualified(a.Name), a.Value})
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else {
				top = n
			}
			stack = append(stack, n)
			text = append(text, &strings.Builder{})
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1].name != qualified(t.Name) {
				return nil, fail(line(), "unexpected end tag </%s>", qualified(t.Name))
			}
			stack[len(stack)-1].text = text[len(text)-1].String()
			stack, text = stack[:len(stack)-1], text[:len(text)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, fail(line(), "text outside the root element")
				}
				continue
			}
			text[len(text)-1].Write(t)
		}
	}
	if top == nil {
		return nil, &DefinitionError{Element: root, Err: fmt.Errorf("%w: no root element", ErrMalformed)}
	}
	if len(stack) > 0 {
		return nil, fail(line(), "unexpected end of document")
	}
	return top, nil
}

func qualified(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func pathOf(stack []*xnode, root string) string {
	if len(stack) == 0 {
		return root
	}
	parts := make([]string, len(stack))
	for i, n := range stack {
		parts[i] = n.label()
	}
	return strings.Join(parts, "/")
}

// label is the element's name with its Name attribute, if any.
func (n *xnode) label() string {
	for _, a := range n.attrs {
		if a.name == "Name" {
			return n.local() + "[" + a.value + "]"
		}
	}
	return n.local()
}

// writeXML writes n and its subtree compactly: no indentation, attributes
// in their order, text escaped. It is the canonical form of the parts of a
// document that are kept as written (Extension, Alerts).
func writeXML(w *strings.Builder, n *xnode) {
	w.WriteByte('<')
	w.WriteString(n.name)
	for _, a := range n.attrs {
		w.WriteByte(' ')
		w.WriteString(a.name)
		w.WriteString(`="`)
		escapeAttr(w, a.value)
		w.WriteByte('"')
	}
	text := strings.TrimSpace(n.text)
	if len(n.children) == 0 && text == "" {
		w.WriteString("/>")
		return
	}
	w.WriteByte('>')
	if len(n.children) == 0 {
		escapeText(w, n.text)
	}
	for _, c := range n.children {
		writeXML(w, c)
	}
	w.WriteString("</")
	w.WriteString(n.name)
	w.WriteByte('>')
}

func escapeAttr(w *strings.Builder, s string) {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	// EscapeText leaves quotes alone only for ' ; attributes here use ".
	w.WriteString(strings.ReplaceAll(b.String(), `"`, "&quot;"))
}

func escapeText(w *strings.Builder, s string) {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	w.WriteString(b.String())
}
