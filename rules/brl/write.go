package brl

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Write renders doc as BRL in the layout BizTalk's exports use: an XML
// declaration, two spaces per level, one element per line, LF line
// endings. Parse(Write(doc)) gives a Document equal to doc. It fails with
// ErrInvalid for a model that cannot be written, such as a Node without a
// name.
func Write(doc *Document) ([]byte, error) {
	if doc == nil {
		return nil, fmt.Errorf("%w: nil document", ErrInvalid)
	}
	w := &xw{}
	w.b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	w.open("brl", nil, "xmlns", Namespace)
	order := doc.Order
	if order == "" || strings.Count(order, "r") != len(doc.Rulesets) || strings.Count(order, "v") != len(doc.Vocabularies) {
		order = strings.Repeat("r", len(doc.Rulesets)) + strings.Repeat("v", len(doc.Vocabularies))
	}
	ri, vi := 0, 0
	for _, k := range order {
		if k == 'r' {
			w.ruleset(doc.Rulesets[ri])
			ri++
		} else {
			w.vocabulary(doc.Vocabularies[vi])
			vi++
		}
	}
	w.close("brl")
	if w.err != nil {
		return nil, w.err
	}
	return w.b.Bytes(), nil
}

// WriteRuleset renders one ruleset as a BRL document of its own.
func WriteRuleset(rs *Ruleset) ([]byte, error) {
	return Write(&Document{Rulesets: []*Ruleset{rs}})
}

// WriteVocabulary renders one vocabulary as a BRL document of its own.
func WriteVocabulary(v *Vocabulary) ([]byte, error) {
	return Write(&Document{Vocabularies: []*Vocabulary{v}})
}

type xw struct {
	b     bytes.Buffer
	depth int
	err   error
}

func (w *xw) indent() {
	for range w.depth {
		w.b.WriteString("  ")
	}
}

func (w *xw) attrs(kv []string, extra []Attr) {
	for i := 0; i+1 < len(kv); i += 2 {
		w.attr(kv[i], kv[i+1])
	}
	for _, a := range extra {
		w.attr(a.Name, a.Value)
	}
}

func (w *xw) attr(name, value string) {
	if !validName(name) {
		w.fail("attribute name %q", name)
	}
	w.b.WriteByte(' ')
	w.b.WriteString(name)
	w.b.WriteString(`="`)
	w.b.WriteString(attrEscaper.Replace(value))
	w.b.WriteByte('"')
}

func (w *xw) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
}

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
	w.b.WriteString("</" + name + ">\n")
}

func (w *xw) empty(name string, extra []Attr, kv ...string) {
	w.indent()
	w.b.WriteByte('<')
	w.b.WriteString(name)
	w.attrs(kv, extra)
	w.b.WriteString(" />\n")
}

func (w *xw) version(v Version) {
	w.empty("version", nil, "major", strconv.Itoa(v.Major), "minor", strconv.Itoa(v.Minor),
		"description", v.Description, "modifiedby", v.ModifiedBy, "date", v.Date)
}

func (w *xw) ruleset(rs *Ruleset) {
	if rs == nil {
		w.fail("nil ruleset")
		return
	}
	w.open("ruleset", nil, "name", rs.Name)
	w.version(rs.Version)
	for _, v := range rs.ExtraVersions {
		w.version(v)
	}
	if rs.Configuration != nil {
		w.node(rs.Configuration)
	}
	if len(rs.Bindings) == 0 {
		w.empty("bindings", nil)
	} else {
		w.open("bindings", nil)
		for _, b := range rs.Bindings {
			w.node(b)
		}
		w.close("bindings")
	}
	for _, r := range rs.Rules {
		w.rule(r)
	}
	for _, n := range rs.Extra {
		w.node(n)
	}
	w.close("ruleset")
}

func (w *xw) rule(r *Rule) {
	if r == nil {
		w.fail("nil rule")
		return
	}
	w.open("rule", r.Attrs, "name", r.Name, "priority", strconv.Itoa(r.Priority), "active", strconv.FormatBool(r.Active))
	if r.Condition == nil {
		w.empty("if", nil)
	} else {
		w.open("if", nil)
		w.node(r.Condition)
		w.close("if")
	}
	if len(r.Actions) == 0 {
		w.empty("then", nil)
	} else {
		w.open("then", nil)
		for _, a := range r.Actions {
			w.node(a)
		}
		w.close("then")
	}
	w.close("rule")
}

func (w *xw) vocabulary(v *Vocabulary) {
	if v == nil {
		w.fail("nil vocabulary")
		return
	}
	w.open("vocabulary", nil, "id", v.ID, "name", v.Name, "uri", v.URI, "description", v.Description)
	w.version(v.Version)
	for _, x := range v.ExtraVersions {
		w.version(x)
	}
	for _, d := range v.Definitions {
		if d == nil {
			w.fail("nil definition")
			continue
		}
		w.open("vocabularydefinition", nil, "id", d.ID, "name", d.Name, "description", d.Description)
		if d.Binding != nil {
			w.open("bindingdefinition", nil)
			w.node(d.Binding)
			w.close("bindingdefinition")
		}
		for _, f := range d.FormatStrings {
			w.node(f)
		}
		for _, n := range d.Extra {
			w.node(n)
		}
		w.close("vocabularydefinition")
	}
	for _, n := range v.Extra {
		w.node(n)
	}
	w.close("vocabulary")
}

// node writes a kept element. A leaf's text is written as it is, so
// whitespace inside literals survives.
func (w *xw) node(n *Node) {
	if n == nil || !validName(n.Name) {
		w.fail("element without a valid name")
		return
	}
	if len(n.Children) > 0 && n.Text != "" {
		w.fail("element <%s> has both text and children", n.Name)
		return
	}
	switch {
	case len(n.Children) == 0 && n.Text == "":
		w.empty(n.Name, n.Attrs)
	case len(n.Children) == 0:
		w.indent()
		w.b.WriteByte('<')
		w.b.WriteString(n.Name)
		w.attrs(nil, n.Attrs)
		w.b.WriteByte('>')
		w.b.WriteString(textEscaper.Replace(n.Text))
		w.b.WriteString("</" + n.Name + ">\n")
	default:
		w.open(n.Name, n.Attrs)
		for _, c := range n.Children {
			w.node(c)
		}
		w.close(n.Name)
	}
}

// validName accepts the element and attribute names Write may emit: an
// XML name with at most one prefix.
func validName(s string) bool {
	if s == "" || strings.Count(s, ":") > 1 || strings.HasPrefix(s, ":") || strings.HasSuffix(s, ":") {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7F && r != 0xFFFD:
		case i > 0 && (r == '-' || r == '.' || r >= '0' && r <= '9'):
		default:
			return false
		}
	}
	return true
}

var (
	// Carriage returns and tabs are escaped so that a parser's line-end
	// normalisation gives back the same text.
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#xD;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;",
		"\t", "&#x9;", "\n", "&#xA;", "\r", "&#xD;")
)

func writeCompact(b *strings.Builder, n *Node) {
	if n == nil {
		return
	}
	b.WriteByte('<')
	b.WriteString(n.Name)
	for _, a := range n.Attrs {
		b.WriteString(" " + a.Name + `="` + attrEscaper.Replace(a.Value) + `"`)
	}
	if len(n.Children) == 0 && n.Text == "" {
		b.WriteString(" />")
		return
	}
	b.WriteByte('>')
	b.WriteString(textEscaper.Replace(n.Text))
	for _, c := range n.Children {
		writeCompact(b, c)
	}
	b.WriteString("</" + n.Name + ">")
}
