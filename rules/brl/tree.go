package brl

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file reads XML into a small element tree that keeps attribute order
// and line numbers: encoding/xml's struct mapping drops unknown elements
// silently, which a BRL import must not do.

// maxDepth bounds element nesting. Real BRL nests about fifteen deep;
// the bound keeps a hostile file from exhausting the stack.
const maxDepth = 200

// maxSize bounds the input Parse accepts.
const maxSize = 64 << 20

// xnode is one element as read, with the line it starts on. node is the
// same element as the model keeps it, built alongside so that handing a
// subtree to the model copies nothing.
type xnode struct {
	name     string
	attrs    []Attr
	children []*xnode
	text     string
	line     int
	node     *Node
	// mixed records non-space text beside child elements; such text is
	// not kept (Parse refuses it).
	mixed bool
}

// decodeText returns the document as UTF-8: a UTF-8 byte-order mark is
// dropped and UTF-16 (either byte order, with a mark) is converted.
func decodeText(b []byte) ([]byte, error) {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return b[3:], nil
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}), bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		le := b[0] == 0xFF
		b = b[2:]
		if len(b)%2 != 0 {
			return nil, fmt.Errorf("%w: UTF-16 text of odd length", ErrMalformed)
		}
		u := make([]uint16, len(b)/2)
		for i := range u {
			if le {
				u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
			} else {
				u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
			}
		}
		return []byte(string(utf16.Decode(u))), nil
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: text is neither UTF-8 nor UTF-16 with a byte-order mark", ErrMalformed)
	}
	return b, nil
}

// readTree parses one XML document into a tree. Comments outside the root
// become warnings; comments inside are dropped.
func readTree(b []byte) (*xnode, []Warning, error) {
	if len(b) > maxSize {
		return nil, nil, &Error{Line: 1, Err: fmt.Errorf("%w: file larger than %d bytes", ErrMalformed, maxSize)}
	}
	text, err := decodeText(b)
	if err != nil {
		return nil, nil, &Error{Line: 1, Err: err}
	}
	d := xml.NewDecoder(bytes.NewReader(text))
	d.Strict = true
	// The text is UTF-8 by now, whatever the declaration says (an export
	// saved as UTF-16 keeps encoding="utf-16").
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "utf-16", "utf16", "unicode", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	var (
		root  *xnode
		stack []*xnode
		texts [][]byte
		warns []Warning
	)
	line := func() int { l, _ := d.InputPos(); return l }
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, nil, &Error{Path: stackPath(stack), Line: se.Line, Err: fmt.Errorf("%w: %s", ErrMalformed, se.Msg)}
			}
			return nil, nil, &Error{Path: stackPath(stack), Line: line(), Err: fmt.Errorf("%w: %w", ErrMalformed, err)}
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, nil, &Error{Path: t.Name.Local, Line: line(), Err: fmt.Errorf("%w: a second root element", ErrMalformed)}
			}
			if len(stack) >= maxDepth {
				return nil, nil, &Error{Path: stackPath(stack), Line: line(), Err: fmt.Errorf("%w: elements nested deeper than %d", ErrMalformed, maxDepth)}
			}
			n := &xnode{name: qname(t.Name), line: line()}
			if len(t.Attr) > 0 {
				n.attrs = make([]Attr, 0, len(t.Attr))
			}
			for _, a := range t.Attr {
				n.attrs = append(n.attrs, Attr{Name: qname(a.Name), Value: a.Value})
			}
			n.node = &Node{Name: n.name, Attrs: n.attrs}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				if len(p.children) == 0 {
					// The parent is no leaf: its text so far only
					// matters if it is not white space.
					last := len(texts) - 1
					p.mixed = p.mixed || len(bytes.TrimSpace(texts[last])) > 0
					texts[last] = nil
				}
				p.children = append(p.children, n)
				p.node.Children = append(p.node.Children, n.node)
			} else {
				root = n
			}
			stack = append(stack, n)
			texts = append(texts, nil)
		case xml.EndElement:
			// RawToken does not match end tags to start tags; do it here.
			if len(stack) == 0 || stack[len(stack)-1].name != qname(t.Name) {
				return nil, nil, &Error{Path: stackPath(stack), Line: line(), Err: fmt.Errorf("%w: unexpected end tag </%s>", ErrMalformed, qname(t.Name))}
			}
			n := stack[len(stack)-1]
			if len(n.children) == 0 {
				n.text = string(texts[len(texts)-1])
				n.node.Text = n.text
			} else if n.mixed {
				n.text = "#text" // what noMixed looks for
			}
			stack = stack[:len(stack)-1]
			texts = texts[:len(texts)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) > 0 {
					return nil, nil, &Error{Line: line(), Err: fmt.Errorf("%w: text outside the root element", ErrMalformed)}
				}
				continue
			}
			if top := stack[len(stack)-1]; len(top.children) > 0 {
				top.mixed = top.mixed || len(bytes.TrimSpace(t)) > 0
				continue
			}
			texts[len(texts)-1] = append(texts[len(texts)-1], t...)
		case xml.Comment:
			if len(stack) == 0 {
				where := "before the root element"
				if root != nil {
					where = "after the root element"
				}
				warns = append(warns, Warning{Line: line(), Message: "comment " + where + " dropped"})
			}
		case xml.Directive:
			return nil, nil, &Error{Path: stackPath(stack), Line: line(), Err: fmt.Errorf("%w: DTD or other directive not allowed", ErrMalformed)}
		}
	}
	if len(stack) > 0 {
		return nil, nil, &Error{Path: stackPath(stack), Line: line(), Err: fmt.Errorf("%w: unexpected end of file", ErrMalformed)}
	}
	if root == nil {
		return nil, nil, &Error{Line: line(), Err: fmt.Errorf("%w: no root element", ErrMalformed)}
	}
	return root, warns, nil
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

func stackPath(stack []*xnode) string {
	names := make([]string, len(stack))
	for i, n := range stack {
		names[i] = n.name
	}
	return strings.Join(names, "/")
}
