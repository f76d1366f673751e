package rules

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/antchfx/xmlquery"
)

// TestXMLPath_directMatchesXPath: the direct walk of BizTalk-style paths
// selects exactly what the XPath library selects, on random documents with
// namespaces, prefixes, repeated names and attributes.
func TestXMLPath_directMatchesXPath(t *testing.T) {
	paths := []string{
		"/*[local-name()='Root' and namespace-uri()='urn:a']",
		"/*[local-name()='Root' and namespace-uri()='urn:a']/*[local-name()='Item' and namespace-uri()='']",
		"/*[local-name()='Root' and namespace-uri()='urn:a']/*[local-name()='Item' and namespace-uri()='urn:a']",
		"/*[local-name()='Root' and namespace-uri()='urn:a']/*[local-name()='Item' and namespace-uri()='']/*[local-name()='Sub' and namespace-uri()='urn:b']",
		"*[local-name()='Item' and namespace-uri()='']",
		"*[local-name()='Sub' and namespace-uri()='urn:b']",
		"@*[local-name()='id' and namespace-uri()='']",
		"@*[local-name()='id' and namespace-uri()='urn:b']",
		"*[local-name()='Item' and namespace-uri()='']/@*[local-name()='id' and namespace-uri()='']",
	}
	seed := uint64(7)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	names := []string{"Item", "Sub", "Other"}
	var gen func(b *strings.Builder, depth int)
	gen = func(b *strings.Builder, depth int) {
		for range rng.IntN(4) {
			name := names[rng.IntN(len(names))]
			prefix := []string{"", "a:", "b:"}[rng.IntN(3)]
			attrs := ""
			if rng.IntN(2) == 0 {
				attrs += fmt.Sprintf(` id="%d"`, rng.IntN(100))
			}
			if rng.IntN(3) == 0 {
				attrs += fmt.Sprintf(` b:id="%d"`, rng.IntN(100))
			}
			fmt.Fprintf(b, "<%s%s%s>t%d", prefix, name, attrs, rng.IntN(100))
			if depth < 3 {
				gen(b, depth+1)
			}
			fmt.Fprintf(b, "</%s%s>", prefix, name)
		}
	}
	for doc := range 200 {
		var b strings.Builder
		b.WriteString(`<a:Root xmlns:a="urn:a" xmlns:b="urn:b" id="r">`)
		gen(&b, 0)
		b.WriteString(`</a:Root>`)
		root, err := xmlquery.Parse(strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		var starts []*xmlquery.Node
		var walk func(n *xmlquery.Node)
		walk = func(n *xmlquery.Node) {
			if n.Type == xmlquery.ElementNode || n.Type == xmlquery.DocumentNode {
				starts = append(starts, n)
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				walk(c)
			}
		}
		walk(root)
		for _, text := range paths {
			direct, err := compileXMLPath(text)
			if err != nil || direct.steps == nil {
				t.Fatalf("%s: not compiled to direct steps (%v)", text, err)
			}
			general := *direct
			general.steps = nil
			for _, n := range starts {
				got, want := render(direct, n), render(&general, n)
				if got != want {
					t.Fatalf("doc %d %s from <%s>:\ndirect  %s\nxpath   %s\n%s", doc, text, n.Data, got, want, b.String())
				}
			}
		}
	}
}

func render(p *xmlPath, n *xmlquery.Node) string {
	var out []string
	p.walk(n, func(h hit) bool {
		out = append(out, fmt.Sprintf("%p:%d=%s", h.node, h.attr, h.text()))
		return true
	})
	return strings.Join(out, " ")
}

func TestXMLPath_otherShapesUseXPath(t *testing.T) {
	for _, text := range []string{"Total", "/Order/Total", "//Item", "*[1]", "@id", "*[local-name()='A']"} {
		p, err := compileXMLPath(text)
		if err != nil {
			t.Fatal(err)
		}
		if p.steps != nil {
			t.Errorf("%s compiled to direct steps", text)
		}
	}
	if _, err := compileXMLPath("/*["); err == nil {
		t.Error("bad XPath accepted")
	}
}
