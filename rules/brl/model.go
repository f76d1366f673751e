package brl

import (
	"strings"
	"time"
)

// Namespace is the BRL namespace every document's root declares.
const Namespace = "http://schemas.microsoft.com/businessruleslanguage/2002"

// Document is one BRL file: any number of rulesets (policy versions) and
// vocabularies, in the order the file lists them. Parse and Write are
// inverses on it: writing a Document and parsing the result gives an equal
// Document.
type Document struct {
	// Rulesets are the policy versions, in file order.
	Rulesets []*Ruleset
	// Vocabularies are the vocabulary versions, in file order.
	Vocabularies []*Vocabulary
	// Order lists the kind of each root child in file order ('r' for a
	// ruleset, 'v' for a vocabulary), so Write keeps a mixed file's order.
	// Empty means rulesets first.
	Order string
}

// Attr is one attribute as written.
type Attr struct {
	Name  string
	Value string
}

// Version is a <version> element: a major.minor number and who saved it.
type Version struct {
	Major, Minor int
	Description  string
	ModifiedBy   string
	// Date is the save time as written. Some exports carry dates that do
	// not parse (Parse warns); it is kept as text so Write reproduces it.
	Date string
}

// Time parses Date. It reports false for a date that does not parse.
func (v Version) Time() (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v.Date); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// Ruleset is one version of a policy.
type Ruleset struct {
	Name    string
	Version Version
	// ExtraVersions are further <version> elements after the first; some
	// exports write two (Parse warns). The first one is the ruleset's
	// version; the rest are kept so Write reproduces the file.
	ExtraVersions []Version
	// Configuration is the <configuration> element (maximum execution loop
	// depth, translation duration, fact retriever), kept as written; nil
	// when the file has none.
	Configuration *Node
	// Bindings are the fact bindings (<xmldocument>, <class>, <datarow>,
	// <dataconnection>, ...), in file order. Each has a "ref" attribute
	// that rule terms use.
	Bindings []*Node
	Rules    []*Rule
	// Extra holds child elements Parse does not know, kept in order after
	// the rules (Parse warns).
	Extra []*Node
}

// Binding returns the binding whose ref attribute is ref, or nil.
func (r *Ruleset) Binding(ref string) *Node {
	for _, b := range r.Bindings {
		if v, _ := b.Attr("ref"); v == ref {
			return b
		}
	}
	return nil
}

// Rule is one rule: a condition and actions, with a priority.
type Rule struct {
	Name string
	// Priority orders the agenda: higher fires first; 0 is the default
	// and negative values are allowed.
	Priority int
	// Active is false for a rule the policy keeps but never fires.
	Active bool
	// Attrs are further attributes of <rule>, kept as written.
	Attrs []Attr
	// Condition is the single element inside <if>: a logical operator
	// (<and>, <or>, <not>) or a predicate (<compare>, ...). nil for a
	// rule with an empty <if>, which always holds.
	Condition *Node
	// Actions are the elements inside <then>, run top to bottom.
	Actions []*Node
}

// Vocabulary is one version of a vocabulary: friendly names bound to
// constants, ranges, sets, XML document members, database columns and
// class members.
type Vocabulary struct {
	ID          string
	Name        string
	URI         string
	Description string
	Version     Version
	// ExtraVersions: as Ruleset.ExtraVersions.
	ExtraVersions []Version
	Definitions   []*Definition
	// Extra: as Ruleset.Extra.
	Extra []*Node
}

// Definition is one <vocabularydefinition>.
type Definition struct {
	ID          string
	Name        string
	Description string
	// Binding is the element inside <bindingdefinition> (such as
	// <classmemberbindingdefinition>, <xmldocumentmemberbindingdefinition>,
	// <databasecolumnbindingdefinition>, <valuedefinitionliteral>,
	// <rangedefinition>, <setdefinition>), kept as written.
	Binding *Node
	// FormatStrings are the <formatstring> elements, kept as written.
	FormatStrings []*Node
	// Extra: unknown children, kept in order (Parse warns).
	Extra []*Node
}

// Kind names what the definition binds: "class member", "XML document
// member", "database column", "constant", "range", "set", or the element
// name for anything else.
func (d *Definition) Kind() string {
	if d.Binding == nil {
		return ""
	}
	switch d.Binding.Name {
	case "classmemberbindingdefinition":
		return "class member"
	case "xmldocumentmemberbindingdefinition", "xmldocumentfieldbindingdefinition":
		return "XML document member"
	case "databasecolumnbindingdefinition":
		return "database column"
	case "valuedefinitionliteral", "literaldefinition":
		return "constant"
	case "rangedefinition", "valuedefinitionrange":
		return "range"
	case "setdefinition", "valuedefinitionset":
		return "set"
	}
	return d.Binding.Name
}

// Node is one element of a condition, an action, a binding or a definition,
// as written: its name, attributes in order, text (for leaves) and
// children. Comments are not kept.
type Node struct {
	Name     string
	Attrs    []Attr
	Text     string
	Children []*Node
}

// Attr returns the attribute called name.
func (n *Node) Attr(name string) (string, bool) {
	if n == nil {
		return "", false
	}
	for _, a := range n.Attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// Child returns the first child called name, or nil.
func (n *Node) Child(name string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Elements returns the children, leaving out <vocabularylink> elements,
// which only tie a term to the vocabulary the editor took it from.
func (n *Node) Elements() []*Node {
	if n == nil {
		return nil
	}
	out := make([]*Node, 0, len(n.Children))
	for _, c := range n.Children {
		if c.Name != "vocabularylink" {
			out = append(out, c)
		}
	}
	return out
}

// VocabularyLinks returns every vocabulary id (the uri attribute of a
// <vocabularylink>) used under n, including n itself, without duplicates.
func (n *Node) VocabularyLinks() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(*Node)
	walk = func(x *Node) {
		if x == nil {
			return
		}
		if x.Name == "vocabularylink" {
			if u, _ := x.Attr("uri"); u != "" && !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
		for _, c := range x.Children {
			walk(c)
		}
	}
	walk(n)
	return out
}

// VocabularyLinks returns every vocabulary id the ruleset's rules use.
func (r *Ruleset) VocabularyLinks() []string {
	root := &Node{}
	for _, rule := range r.Rules {
		if rule.Condition != nil {
			root.Children = append(root.Children, rule.Condition)
		}
		root.Children = append(root.Children, rule.Actions...)
	}
	return root.VocabularyLinks()
}

// String renders n as compact XML, for messages and tests.
func (n *Node) String() string {
	var b strings.Builder
	writeCompact(&b, n)
	return b.String()
}
