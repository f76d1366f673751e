package brl

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseResult is what Parse read: the document and the quirks it accepted.
type ParseResult struct {
	Document *Document
	// Warnings lists the quirks accepted, in file order.
	Warnings []Warning
}

// Parse reads a BRL file: UTF-8 (with or without a byte-order mark) or
// UTF-16 with a byte-order mark, LF or CRLF line endings. A file Parse
// cannot read fails with an *Error (wrapping ErrMalformed) naming the
// element and line; nothing of it is returned. Quirks real exports carry
// (two <version> elements, comments outside the root, a date that does not
// parse, elements biztier does not know) are accepted with a Warning, and
// what they hold is kept so Write reproduces it.
//
// Parse checks what can be checked without the facts: the root, required
// attributes, the shape of conditions and actions, operators and the
// literals of typed constants. Whether every binding a rule uses exists and
// can be bound to a Go type, an XML document or a table is checked when the
// policy is translated.
func Parse(b []byte) (*ParseResult, error) {
	root, warns, err := readTree(b)
	if err != nil {
		return nil, err
	}
	r := &reader{warns: warns}
	doc := r.document(root)
	if r.err != nil {
		return nil, r.err
	}
	return &ParseResult{Document: doc, Warnings: r.warns}, nil
}

// reader keeps the first error and the warnings.
type reader struct {
	err   error
	warns []Warning
}

func (r *reader) failf(x *xnode, path, format string, args ...any) {
	if r.err == nil {
		r.err = &Error{Path: path, Line: x.line, Err: fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))}
	}
}

func (r *reader) warnf(x *xnode, path, format string, args ...any) {
	r.warns = append(r.warns, Warning{Path: path, Line: x.line, Message: fmt.Sprintf(format, args...)})
}

func attr(x *xnode, name string) (string, bool) {
	for _, a := range x.attrs {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

func attrStr(x *xnode, name string) string {
	v, _ := attr(x, name)
	return v
}

// otherAttrs returns the attributes not in known, in order.
func otherAttrs(x *xnode, known ...string) []Attr {
	var out []Attr
outer:
	for _, a := range x.attrs {
		for _, k := range known {
			if a.Name == k {
				continue outer
			}
		}
		out = append(out, a)
	}
	return out
}

// childPath names the k-th (1-based) child called name when there are
// several, else just the name.
func childPaths(parent string, xs []*xnode) []string {
	count := map[string]int{}
	for _, c := range xs {
		count[c.name]++
	}
	seen := map[string]int{}
	out := make([]string, len(xs))
	for i, c := range xs {
		seen[c.name]++
		if count[c.name] > 1 {
			out[i] = fmt.Sprintf("%s/%s[%d]", parent, c.name, seen[c.name])
		} else {
			out[i] = parent + "/" + c.name
		}
	}
	return out
}

// toNode returns the model's copy of x, built while reading. Each subtree
// is handed to the model once.
func toNode(x *xnode) *Node { return x.node }

func (r *reader) noMixed(x *xnode, path string) {
	if len(x.children) > 0 && strings.TrimSpace(x.text) != "" {
		r.failf(x, path, "text mixed with elements")
	}
}

func (r *reader) document(root *xnode) *Document {
	if root.name != "brl" {
		r.failf(root, root.name, "root element is <%s>, want <brl>", root.name)
		return nil
	}
	if ns, _ := attr(root, "xmlns"); ns != Namespace {
		r.failf(root, "brl", "namespace is %q, want %q", ns, Namespace)
		return nil
	}
	if extra := otherAttrs(root, "xmlns"); len(extra) > 0 {
		r.warnf(root, "brl", "attribute %s ignored", extra[0].Name)
	}
	r.noMixed(root, "brl")
	doc := &Document{}
	var order strings.Builder
	paths := childPaths("brl", root.children)
	for i, c := range root.children {
		switch c.name {
		case "ruleset":
			doc.Rulesets = append(doc.Rulesets, r.ruleset(c, paths[i]))
			order.WriteByte('r')
		case "vocabulary":
			doc.Vocabularies = append(doc.Vocabularies, r.vocabulary(c, paths[i]))
			order.WriteByte('v')
		default:
			r.failf(c, paths[i], "unknown element <%s> in <brl>", c.name)
		}
	}
	if o := order.String(); strings.Contains(o, "vr") {
		doc.Order = o
	}
	return doc
}

func (r *reader) version(x *xnode, path string) Version {
	v := Version{Description: attrStr(x, "description"), ModifiedBy: attrStr(x, "modifiedby"), Date: attrStr(x, "date")}
	v.Major = r.intAttr(x, path, "major", true)
	v.Minor = r.intAttr(x, path, "minor", true)
	if v.Date != "" {
		if _, ok := v.Time(); !ok {
			r.warnf(x, path, "date %q does not parse; kept as text", v.Date)
		}
	}
	if extra := otherAttrs(x, "major", "minor", "description", "modifiedby", "date"); len(extra) > 0 {
		r.warnf(x, path, "attribute %s ignored", extra[0].Name)
	}
	return v
}

func (r *reader) intAttr(x *xnode, path, name string, required bool) int {
	v, ok := attr(x, name)
	if !ok {
		if required {
			r.failf(x, path, "attribute %s missing", name)
		}
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < math.MinInt32 || n > math.MaxInt32 {
		r.failf(x, path, "attribute %s: %q is not an integer", name, v)
	}
	return n
}

// versions reads the <version> children: the first is the version, any
// further ones are kept with a warning.
func (r *reader) versions(x *xnode, path string) (Version, []Version) {
	var first Version
	var extra []Version
	n := 0
	paths := childPaths(path, x.children)
	for i, c := range x.children {
		if c.name != "version" {
			continue
		}
		v := r.version(c, paths[i])
		if n == 0 {
			first = v
		} else {
			r.warnf(c, paths[i], "a second <version> (%d.%d); the first (%d.%d) is the version, this one is kept as written",
				v.Major, v.Minor, first.Major, first.Minor)
			extra = append(extra, v)
		}
		n++
	}
	if n == 0 {
		r.failf(x, path, "no <version> element")
	}
	return first, extra
}

func (r *reader) ruleset(x *xnode, path string) *Ruleset {
	r.noMixed(x, path)
	rs := &Ruleset{Name: attrStr(x, "name")}
	if strings.TrimSpace(rs.Name) == "" {
		r.failf(x, path, "ruleset without a name")
	}
	if extra := otherAttrs(x, "name"); len(extra) > 0 {
		r.warnf(x, path, "attribute %s ignored", extra[0].Name)
	}
	rs.Version, rs.ExtraVersions = r.versions(x, path)
	refs := map[string]bool{}
	ruleNames := map[string]bool{}
	paths := childPaths(path, x.children)
	for i, c := range x.children {
		p := paths[i]
		switch c.name {
		case "version":
		case "configuration":
			if rs.Configuration != nil {
				r.failf(c, p, "a second <configuration>")
			}
			rs.Configuration = toNode(c)
		case "bindings":
			r.noMixed(c, p)
			bp := childPaths(p, c.children)
			for j, b := range c.children {
				ref, ok := attr(b, "ref")
				if !ok || ref == "" {
					r.failf(b, bp[j], "binding <%s> without a ref", b.name)
				}
				if refs[ref] {
					r.failf(b, bp[j], "binding ref %q used twice", ref)
				}
				refs[ref] = true
				switch b.name {
				case "xmldocument":
					if sel := childText(b, "selector"); strings.TrimSpace(sel) == "" {
						r.failf(b, bp[j], "XML document binding %q without a selector", ref)
					}
				case "class":
					if attrStr(b, "class") == "" {
						r.failf(b, bp[j], "class binding %q without a class", ref)
					}
				case "datarow", "dataconnection", "datatable":
				default:
					r.warnf(b, bp[j], "unknown binding <%s> kept; rules using it cannot be translated", b.name)
				}
				rs.Bindings = append(rs.Bindings, toNode(b))
			}
		case "rule":
			rule := r.rule(c, p)
			if ruleNames[rule.Name] {
				r.failf(c, p, "rule name %q used twice", rule.Name)
			}
			ruleNames[rule.Name] = true
			rs.Rules = append(rs.Rules, rule)
		default:
			r.warnf(c, p, "unknown element <%s> kept as written", c.name)
			rs.Extra = append(rs.Extra, toNode(c))
		}
	}
	return rs
}

func childText(x *xnode, name string) string {
	for _, c := range x.children {
		if c.name == name {
			return c.text
		}
	}
	return ""
}

func (r *reader) rule(x *xnode, path string) *Rule {
	r.noMixed(x, path)
	rule := &Rule{Name: attrStr(x, "name"), Active: true}
	if strings.TrimSpace(rule.Name) == "" {
		r.failf(x, path, "rule without a name")
	}
	rule.Priority = r.intAttr(x, path, "priority", false)
	if v, ok := attr(x, "active"); ok {
		switch strings.TrimSpace(v) {
		case "true", "True", "1":
		case "false", "False", "0":
			rule.Active = false
		default:
			r.failf(x, path, "attribute active: %q is not a boolean", v)
		}
	}
	rule.Attrs = otherAttrs(x, "name", "priority", "active")
	var sawIf, sawThen bool
	paths := childPaths(path, x.children)
	for i, c := range x.children {
		p := paths[i]
		switch c.name {
		case "if":
			if sawIf {
				r.failf(c, p, "a second <if>")
			}
			sawIf = true
			r.noMixed(c, p)
			switch len(c.children) {
			case 0:
			case 1:
				r.condition(c.children[0], p+"/"+c.children[0].name)
				rule.Condition = toNode(c.children[0])
			default:
				r.failf(c.children[1], p, "<if> holds %d elements; join them with <and> or <or>", len(c.children))
			}
		case "then":
			if sawThen {
				r.failf(c, p, "a second <then>")
			}
			sawThen = true
			r.noMixed(c, p)
			ap := childPaths(p, c.children)
			for j, a := range c.children {
				r.action(a, ap[j])
				rule.Actions = append(rule.Actions, toNode(a))
			}
		default:
			r.failf(c, p, "unknown element <%s> in <rule>", c.name)
		}
	}
	return rule
}

// Operators are the <compare> operators BRL writes, mapped to the names
// the engine uses.
var compareOps = map[string]bool{
	"equal": true, "not equal": true,
	"less than": true, "less than equal": true,
	"greater than": true, "greater than equal": true,
	"after": true, "before": true,
}

// split returns the vocabulary links and the other children.
func split(x *xnode) (links, rest []*xnode) {
	for _, c := range x.children {
		if c.name == "vocabularylink" {
			links = append(links, c)
		} else {
			rest = append(rest, c)
		}
	}
	return links, rest
}

// want checks that x's children (less vocabulary links) are exactly the
// names given, in order, and returns them.
func (r *reader) want(x *xnode, path string, names ...string) []*xnode {
	_, rest := split(x)
	if len(rest) != len(names) {
		got := make([]string, len(rest))
		for i, c := range rest {
			got[i] = "<" + c.name + ">"
		}
		r.failf(x, path, "<%s> holds %s, want %s", x.name, strings.Join(got, ""), "<"+strings.Join(names, "><")+">")
		return nil
	}
	for i, c := range rest {
		if c.name != names[i] {
			r.failf(c, path+"/"+c.name, "<%s> where <%s> was expected", c.name, names[i])
			return nil
		}
	}
	return rest
}

// condition checks a logical expression or predicate.
func (r *reader) condition(x *xnode, path string) {
	r.noMixed(x, path)
	_, rest := split(x)
	ps := childPaths(path, rest)
	switch x.name {
	case "and", "or":
		if len(rest) == 0 {
			r.failf(x, path, "empty <%s>", x.name)
		}
		for i, c := range rest {
			r.condition(c, ps[i])
		}
	case "not":
		if len(rest) != 1 {
			r.failf(x, path, "<not> holds %d elements, want 1", len(rest))
			return
		}
		r.condition(rest[0], ps[0])
	case "compare":
		op, ok := attr(x, "operator")
		if !compareOps[op] {
			if !ok {
				r.failf(x, path, "<compare> without an operator")
			} else {
				r.failf(x, path, "unknown operator %q", op)
			}
			return
		}
		r.sides(x, path, "lhs", "rhs")
	case "between", "range":
		r.sides(x, path, "lhs", "lower", "upper")
	case "match":
		r.sides(x, path, "lhs", "rhs")
	case "exists":
		if kids := r.sides(x, path, "lhs"); kids != nil {
			t := onlyTerm(kids[0])
			if t == nil || t.name != "function" {
				r.failf(kids[0], path+"/lhs", "<exists> needs a member <function>")
			}
		}
	case "function":
		r.term(x, path)
	default:
		r.failf(x, path, "unknown condition <%s>", x.name)
	}
}

// sides checks that x holds the named side elements, each with one term.
func (r *reader) sides(x *xnode, path string, names ...string) []*xnode {
	kids := r.want(x, path, names...)
	for _, k := range kids {
		p := path + "/" + k.name
		_, rest := split(k)
		if len(rest) != 1 {
			r.failf(k, p, "<%s> holds %d terms, want 1", k.name, len(rest))
			continue
		}
		r.term(rest[0], p+"/"+rest[0].name)
	}
	return kids
}

func onlyTerm(x *xnode) *xnode {
	_, rest := split(x)
	if len(rest) != 1 {
		return nil
	}
	return rest[0]
}

// term checks a value: a constant, a member function or a reference.
func (r *reader) term(x *xnode, path string) {
	r.noMixed(x, path)
	switch x.name {
	case "constant":
		_, rest := split(x)
		if len(rest) != 1 {
			r.failf(x, path, "<constant> holds %d values, want 1", len(rest))
			return
		}
		r.literal(rest[0], path+"/"+rest[0].name)
	case "function":
		_, rest := split(x)
		if len(rest) != 1 {
			r.failf(x, path, "<function> holds %d members, want 1", len(rest))
			return
		}
		r.member(rest[0], path+"/"+rest[0].name)
	case "reference":
		_, rest := split(x)
		if len(rest) != 1 {
			r.failf(x, path, "<reference> holds %d elements, want 1", len(rest))
			return
		}
		r.ref(rest[0], path+"/"+rest[0].name)
	default:
		r.failf(x, path, "unknown term <%s>", x.name)
	}
}

func (r *reader) ref(x *xnode, path string) {
	switch x.name {
	case "xmldocumentref", "classref", "datarowref", "dataconnectionref":
		if attrStr(x, "ref") == "" {
			r.failf(x, path, "<%s> without a ref", x.name)
		}
	default:
		r.failf(x, path, "unknown reference <%s>", x.name)
	}
}

// member checks a member access: an XML field, a class member or a column.
func (r *reader) member(x *xnode, path string) {
	var refAttr string
	switch x.name {
	case "xmldocumentmember":
		refAttr = "xmldocumentref"
		if strings.TrimSpace(childText(x, "field")) == "" {
			r.failf(x, path, "<xmldocumentmember> without a <field>")
		}
	case "classmember":
		refAttr = "classref"
		if attrStr(x, "member") == "" {
			r.failf(x, path, "<classmember> without a member")
		}
	case "datarowmember":
		refAttr = "datarowref"
		if attrStr(x, "column") == "" {
			r.failf(x, path, "<datarowmember> without a column")
		}
	default:
		r.failf(x, path, "unknown member <%s>", x.name)
		return
	}
	if attrStr(x, refAttr) == "" {
		r.failf(x, path, "<%s> without a %s", x.name, refAttr)
	}
	if v, ok := attr(x, "sideeffects"); ok && v != "true" && v != "false" {
		r.failf(x, path, "attribute sideeffects: %q is not a boolean", v)
	}
	ps := childPaths(path, x.children)
	for i, c := range x.children {
		switch c.name {
		case "field", "fieldalias", "vocabularylink":
		case "argument":
			t := onlyTerm(c)
			if t == nil {
				r.failf(c, ps[i], "<argument> holds no single term")
				continue
			}
			r.term(t, ps[i]+"/"+t.name)
		default:
			r.failf(c, ps[i], "unknown element <%s> in <%s>", c.name, x.name)
		}
	}
}

// action checks one element of <then>.
func (r *reader) action(x *xnode, path string) {
	r.noMixed(x, path)
	switch x.name {
	case "function":
		r.term(x, path)
	case "assert", "retract", "update", "retractbytype":
		kids := r.want(x, path, "object")
		if kids == nil {
			return
		}
		t := onlyTerm(kids[0])
		if t == nil {
			r.failf(kids[0], path+"/object", "<object> holds no single term")
			return
		}
		r.term(t, path+"/object/"+t.name)
	case "halt":
		_, rest := split(x)
		switch len(rest) {
		case 0:
		case 1:
			if rest[0].name != "argument" || onlyTerm(rest[0]) == nil {
				r.failf(rest[0], path+"/"+rest[0].name, "<halt> takes one <argument> (clear the agenda)")
				return
			}
			t := onlyTerm(rest[0])
			r.term(t, path+"/argument/"+t.name)
		default:
			r.failf(x, path, "<halt> holds %d elements, want at most 1", len(rest))
		}
	default:
		r.failf(x, path, "unknown action <%s>", x.name)
	}
}

// literal checks a typed constant's text.
func (r *reader) literal(x *xnode, path string) {
	if len(x.children) > 0 {
		r.failf(x, path, "literal <%s> has child elements", x.name)
		return
	}
	if err := CheckLiteral(x.name, x.text); err != nil {
		r.failf(x, path, "%v", err)
	}
}

// CheckLiteral reports whether text is a valid literal of the BRL constant
// type typ (the element name inside <constant>: string, int, long, short,
// byte, sbyte, uint, ulong, ushort, decimal, double, float, boolean,
// datetime, timespan, char or null).
func CheckLiteral(typ, text string) error {
	t := strings.TrimSpace(text)
	bad := func() error { return fmt.Errorf("%q is not a valid %s", text, typ) }
	var err error
	switch typ {
	case "string":
		return nil
	case "null":
		if t != "" {
			return bad()
		}
		return nil
	case "int":
		_, err = strconv.ParseInt(t, 10, 32)
	case "long":
		_, err = strconv.ParseInt(t, 10, 64)
	case "short":
		_, err = strconv.ParseInt(t, 10, 16)
	case "sbyte":
		_, err = strconv.ParseInt(t, 10, 8)
	case "uint":
		_, err = strconv.ParseUint(t, 10, 32)
	case "ulong":
		_, err = strconv.ParseUint(t, 10, 64)
	case "ushort":
		_, err = strconv.ParseUint(t, 10, 16)
	case "byte":
		_, err = strconv.ParseUint(t, 10, 8)
	case "decimal", "double", "float":
		var f float64
		f, err = strconv.ParseFloat(t, 64)
		if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) && typ == "decimal" {
			return bad()
		}
	case "boolean":
		switch strings.ToLower(t) {
		case "true", "false":
		default:
			return bad()
		}
	case "datetime":
		if _, ok := ParseTime(t); !ok {
			return bad()
		}
	case "timespan":
		if _, ok := ParseTimeSpan(t); !ok {
			return bad()
		}
	case "char":
		if len([]rune(text)) != 1 {
			return bad()
		}
	default:
		return fmt.Errorf("unknown constant type <%s>", typ)
	}
	if err != nil {
		return bad()
	}
	return nil
}

func knownLiteral(typ string) bool {
	switch typ {
	case "string", "null", "int", "long", "short", "sbyte", "uint", "ulong", "ushort", "byte",
		"decimal", "double", "float", "boolean", "datetime", "timespan", "char":
		return true
	}
	return false
}

// ParseTime parses a BRL datetime literal (.NET's round-trip format, with
// or without a zone, or a date alone).
func ParseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ParseTimeSpan parses a .NET TimeSpan literal: [-][d.]hh:mm:ss[.fffffff].
func ParseTimeSpan(s string) (time.Duration, bool) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var days int64
	if i := strings.IndexByte(s, '.'); i >= 0 && i < strings.IndexByte(s+":", ':') {
		d, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil {
			return 0, false
		}
		days, s = d, s[i+1:]
	}
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return 0, false
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 32)
	m, err2 := strconv.ParseInt(parts[1], 10, 32)
	sec, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || h > 23 || m > 59 || sec >= 60 || h < 0 || m < 0 || sec < 0 {
		return 0, false
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec*float64(time.Second))
	if neg {
		d = -d
	}
	return d, true
}

func (r *reader) vocabulary(x *xnode, path string) *Vocabulary {
	r.noMixed(x, path)
	v := &Vocabulary{ID: attrStr(x, "id"), Name: attrStr(x, "name"), URI: attrStr(x, "uri"), Description: attrStr(x, "description")}
	if strings.TrimSpace(v.Name) == "" {
		r.failf(x, path, "vocabulary without a name")
	}
	if v.ID == "" {
		r.failf(x, path, "vocabulary %q without an id", v.Name)
	}
	if extra := otherAttrs(x, "id", "name", "uri", "description"); len(extra) > 0 {
		r.warnf(x, path, "attribute %s ignored", extra[0].Name)
	}
	v.Version, v.ExtraVersions = r.versions(x, path)
	ids := map[string]bool{}
	paths := childPaths(path, x.children)
	for i, c := range x.children {
		p := paths[i]
		switch c.name {
		case "version":
		case "vocabularydefinition":
			d := r.definition(c, p)
			if ids[d.ID] {
				r.failf(c, p, "definition id %q used twice", d.ID)
			}
			ids[d.ID] = true
			v.Definitions = append(v.Definitions, d)
		default:
			r.warnf(c, p, "unknown element <%s> kept as written", c.name)
			v.Extra = append(v.Extra, toNode(c))
		}
	}
	return v
}

func (r *reader) definition(x *xnode, path string) *Definition {
	r.noMixed(x, path)
	d := &Definition{ID: attrStr(x, "id"), Name: attrStr(x, "name"), Description: attrStr(x, "description")}
	if d.ID == "" {
		r.failf(x, path, "definition without an id")
	}
	if extra := otherAttrs(x, "id", "name", "description"); len(extra) > 0 {
		r.warnf(x, path, "attribute %s ignored", extra[0].Name)
	}
	paths := childPaths(path, x.children)
	for i, c := range x.children {
		p := paths[i]
		switch c.name {
		case "bindingdefinition":
			if d.Binding != nil {
				r.failf(c, p, "a second <bindingdefinition>")
			}
			if len(c.children) != 1 {
				r.failf(c, p, "<bindingdefinition> holds %d elements, want 1", len(c.children))
				continue
			}
			r.literals(c.children[0], p+"/"+c.children[0].name)
			d.Binding = toNode(c.children[0])
		case "formatstring":
			r.literals(c, p)
			d.FormatStrings = append(d.FormatStrings, toNode(c))
		default:
			r.warnf(c, p, "unknown element <%s> kept as written", c.name)
			d.Extra = append(d.Extra, toNode(c))
		}
	}
	if d.Binding == nil {
		r.failf(x, path, "definition %q without a <bindingdefinition>", d.Name)
	}
	return d
}

// literals checks the typed literals inside a vocabulary definition: the
// children of <valuedefinitionliteral> and <constant> elements.
func (r *reader) literals(x *xnode, path string) {
	r.noMixed(x, path)
	ps := childPaths(path, x.children)
	for i, c := range x.children {
		if (x.name == "valuedefinitionliteral" || x.name == "constant") && len(c.children) == 0 {
			// Definitions leave placeholders empty and may name types
			// (enums) that only the .NET side knows: check what is there.
			if strings.TrimSpace(c.text) == "" || CheckLiteral(c.name, "") != nil && !knownLiteral(c.name) {
				continue
			}
			if err := CheckLiteral(c.name, c.text); err != nil {
				r.failf(c, ps[i], "%v", err)
			}
			continue
		}
		r.literals(c, ps[i])
	}
}
