package rules

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"
)

// xmlPath is a compiled XPath selector or field. BizTalk's editors write
// almost every one as steps of the form *[local-name()='X' and
// namespace-uri()='Y'] (and @*[...] for attributes); those are walked
// directly over the tree, which is several times faster than running the
// general XPath machinery. Anything else goes to github.com/antchfx/xpath.
type xmlPath struct {
	text string
	expr *xpath.Expr
	// steps is the direct form, nil when the path has another shape.
	steps    []xmlStep
	absolute bool
}

type xmlStep struct {
	attr      bool
	local, ns string
}

var stepRE = regexp.MustCompile(`^(@?)\*\[local-name\(\)\s*=\s*'([^']*)'\s+and\s+namespace-uri\(\)\s*=\s*'([^']*)'\]$`)

func compileXMLPath(text string) (*xmlPath, error) {
	text = strings.TrimSpace(text)
	expr, err := xpath.Compile(text)
	if err != nil {
		return nil, err
	}
	p := &xmlPath{text: text, expr: expr}
	rest := text
	if strings.HasPrefix(rest, "/") && !strings.HasPrefix(rest, "//") {
		p.absolute, rest = true, rest[1:]
	}
	var steps []xmlStep
	for _, part := range splitSteps(rest) {
		m := stepRE.FindStringSubmatch(part)
		if m == nil {
			return p, nil
		}
		steps = append(steps, xmlStep{attr: m[1] == "@", local: m[2], ns: m[3]})
	}
	for i, s := range steps {
		if s.attr && i != len(steps)-1 {
			return p, nil
		}
	}
	if len(steps) > 0 {
		p.steps = steps
	}
	return p, nil
}

// splitSteps splits a path at the slashes outside brackets and quotes.
func splitSteps(s string) []string {
	var out []string
	depth, quote, start := 0, byte(0), 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == '/' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func (p *xmlPath) String() string { return p.text }

// hit is what a path found: an element, or an attribute of one.
type hit struct {
	node *xmlquery.Node
	attr int // index in node.Attr, or -1 for the element itself
}

func (h hit) text() string {
	if h.attr >= 0 {
		return h.node.Attr[h.attr].Value
	}
	return h.node.InnerText()
}

func (h hit) set(v string) {
	if h.attr >= 0 {
		h.node.Attr[h.attr].Value = v
		return
	}
	for ch := h.node.FirstChild; ch != nil; {
		next := ch.NextSibling
		xmlquery.RemoveFromTree(ch)
		ch = next
	}
	xmlquery.AddChild(h.node, &xmlquery.Node{Type: xmlquery.TextNode, Data: v})
}

// first returns the first node the path selects from n.
func (p *xmlPath) first(n *xmlquery.Node) (hit, bool) {
	var out hit
	found := false
	p.walk(n, func(h hit) bool { out, found = h, true; return false })
	return out, found
}

// all returns the elements the path selects from n (a selector).
func (p *xmlPath) all(n *xmlquery.Node) []*xmlquery.Node {
	var out []*xmlquery.Node
	p.walk(n, func(h hit) bool {
		if h.attr < 0 {
			out = append(out, h.node)
		}
		return true
	})
	return out
}

// walk calls fn for each node selected in document order until fn returns
// false.
func (p *xmlPath) walk(n *xmlquery.Node, fn func(hit) bool) {
	if p.steps == nil {
		it := p.expr.Select(xmlquery.CreateXPathNavigator(n))
		for it.MoveNext() {
			nav := it.Current().(*xmlquery.NodeNavigator)
			cur := nav.Current()
			h := hit{node: cur, attr: -1}
			if nav.NodeType() == xpath.AttributeNode {
				h.attr = attrIndex(cur, nav.LocalName(), nav.NamespaceURL())
				if h.attr < 0 {
					continue
				}
			}
			if !fn(h) {
				return
			}
		}
		return
	}
	// An absolute path starts at n, as the XPath library treats the node
	// it is given as the document: selectors are run on the document node.
	p.step(n, 0, fn)
}

func (p *xmlPath) step(n *xmlquery.Node, i int, fn func(hit) bool) bool {
	if i == len(p.steps) {
		return fn(hit{node: n, attr: -1})
	}
	s := p.steps[i]
	if s.attr {
		if a := attrIndex(n, s.local, s.ns); a >= 0 {
			return fn(hit{node: n, attr: a})
		}
		return true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == xmlquery.ElementNode && c.Data == s.local && c.NamespaceURI == s.ns {
			if !p.step(c, i+1, fn) {
				return false
			}
		}
	}
	return true
}

func attrIndex(n *xmlquery.Node, local, ns string) int {
	for i, a := range n.Attr {
		if a.Name.Local == local && a.NamespaceURI == ns && a.Name.Space != "xmlns" && !(a.Name.Space == "" && a.Name.Local == "xmlns") {
			return i
		}
	}
	return -1
}

func (p *xmlPath) setFirst(n *xmlquery.Node, v string) error {
	h, ok := p.first(n)
	if !ok {
		return fmt.Errorf("field %s selects no node", p.text)
	}
	h.set(v)
	return nil
}
