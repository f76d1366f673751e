package bam

import (
	"fmt"
	"strings"
)

// This file is the reading side of the element tree: lookups that mark
// what they understood, and a final check that refuses whatever is left.

func (n *xnode) init() {
	if n.usedAttr == nil {
		n.usedAttr = make([]bool, len(n.attrs))
		n.usedChild = make([]bool, len(n.children))
	}
}

// attr returns the attribute's value and marks it understood.
func (n *xnode) attr(name string) (string, bool) {
	n.init()
	for i, a := range n.attrs {
		if a.name == name {
			n.usedAttr[i] = true
			return a.value, true
		}
	}
	return "", false
}

// kids returns the children with local name name and marks them
// understood.
func (n *xnode) kids(name string) []*xnode {
	n.init()
	var out []*xnode
	for i, c := range n.children {
		if c.local() == name {
			n.usedChild[i] = true
			out = append(out, c)
		}
	}
	return out
}

// at is where n is, for errors: its parent's path and its own label.
type at struct {
	path string
	line int
}

func (n *xnode) at(parent string) at {
	if parent == "" {
		return at{n.label(), n.line}
	}
	return at{parent + "/" + n.label(), n.line}
}

func (a at) errf(kind error, format string, args ...any) error {
	return &DefinitionError{Element: a.path, Line: a.line, Err: fmt.Errorf("%w: "+format, append([]any{kind}, args...)...)}
}

// required returns a required attribute.
func (n *xnode) required(a at, name string) (string, error) {
	v, ok := n.attr(name)
	if !ok {
		return "", a.errf(ErrMalformed, "attribute %s is required", name)
	}
	return v, nil
}

// leftover refuses the first attribute or child no reader understood.
// Namespace declarations are always understood.
func (n *xnode) leftover(a at) error {
	n.init()
	for i, x := range n.attrs {
		if !n.usedAttr[i] && x.name != "xmlns" && !strings.HasPrefix(x.name, "xmlns:") {
			return a.errf(ErrMalformed, "unknown attribute %s", x.name)
		}
	}
	for i, c := range n.children {
		if !n.usedChild[i] {
			return &DefinitionError{Element: a.path + "/" + c.label(), Line: c.line, Err: fmt.Errorf("%w: unknown element <%s>", ErrMalformed, c.name)}
		}
	}
	if len(n.children) > 0 && strings.TrimSpace(n.text) != "" {
		return a.errf(ErrMalformed, "text beside child elements")
	}
	return nil
}

// textOnly returns the element's text, refusing children and attributes.
func (n *xnode) textOnly(a at) (string, error) {
	if err := n.leftover(a); err != nil {
		return "", err
	}
	if len(n.children) > 0 {
		return "", a.errf(ErrMalformed, "child elements where text is expected")
	}
	return strings.TrimSpace(n.text), nil
}
