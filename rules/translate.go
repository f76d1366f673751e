package rules

import (
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/biztier/biztier/rules/brl"
)

// DefaultLoopLimit is BizTalk's default maximum execution loop depth.
const DefaultLoopLimit = 65536

// TranslateOptions tune Translate. A nil *TranslateOptions means defaults.
type TranslateOptions struct {
	// LoopLimit is the maximum number of rule firings in one execution.
	// Defaults to the ruleset's <configuration><maxexecutionloopdepth>
	// when it has one, else DefaultLoopLimit.
	LoopLimit int
}

// Policy is a translated ruleset: its bindings resolved against a Registry,
// its conditions compiled into a discrimination network (shared tests per
// fact type, equality tests answered by hash lookup) and its actions
// compiled. A Policy is immutable and safe for concurrent use; each
// execution has its own working memory (see Engine).
type Policy struct {
	name      string
	version   Version
	loopLimit int

	bindings []*binding
	rules    []*rule
	alphas   []*alpha

	// Per binding: equality index groups, tests evaluated one by one, and
	// the slots (rule, position) that take every fact of the binding.
	eqGroups  [][]*eqGroup
	alphasOf  [][]int // every test of the binding, for tracking
	plain     [][]int
	zeroSlots [][]int32
	// condSlots lists, per binding, every slot whose position is used by
	// the rule's condition: an Update re-matches the fact there only.
	allSlots [][]int32

	slots      []slotInfo
	alphaSlots [][]int32 // alpha id → slots that need it
	constRules []int     // rules that bind no fact: one activation each execution
	typeIndex  map[reflect.Type][]int
	xmlIndex   map[string][]int
	rowIndex   map[string][]int
	tables     []int // row bindings with a table source

	// engines pools Engines for Execute. It is the only part of a Policy
	// that changes after Translate, and sync.Pool is safe for concurrent
	// use.
	engines sync.Pool
}

// Name returns the policy's name.
func (p *Policy) Name() string { return p.name }

// Version returns the policy's version.
func (p *Policy) Version() Version { return p.version }

// Rules returns the number of rules translated (inactive ones excluded).
func (p *Policy) Rules() int { return len(p.rules) }

type bindKind uint8

const (
	bindXML bindKind = iota + 1
	bindClass
	bindRow
)

type binding struct {
	idx      int
	ref      string
	kind     bindKind
	doctype  string
	selector *xmlPath
	goType   reflect.Type
	dataset  string
	table    string
	src      TableSource
}

type slotInfo struct {
	rule, pos int32
	need      int32 // alpha tests the fact must pass
	cond      bool  // position used by the condition
}

type rule struct {
	idx      int
	name     string
	priority int
	refs     []int   // binding of each tuple position
	slot     []int32 // slot of each position
	cond     []bool  // position used by the condition
	beta     []condFn
	betaText []string
	actions  []actionFn
}

type alpha struct {
	binding int
	test    condFn // evaluated on a one-fact tuple
	text    string // for the Interceptor
}

type eqGroup struct {
	get termFn // on a one-fact tuple
	idx map[string][]int
}

type (
	termFn   func(x *exec, tup []*fact) value
	condFn   func(x *exec, tup []*fact) bool
	actionFn func(x *exec, tup []*fact)
)

// Translate compiles a ruleset for execution. Every binding a rule uses is
// resolved now: a class binding needs a type registered under its class
// name, a datarow binding a registered table, and every member must exist
// on its Go type; otherwise Translate fails with a *TranslateError wrapping
// ErrUnbound, not at first firing. Inactive rules are left out.
func Translate(rs *brl.Ruleset, reg *Registry, opts *TranslateOptions) (*Policy, error) {
	if rs == nil {
		return nil, fmt.Errorf("%w: nil ruleset", ErrInvalid)
	}
	if reg == nil {
		reg = NewRegistry()
	}
	p := &Policy{
		name:      rs.Name,
		version:   Version{rs.Version.Major, rs.Version.Minor},
		loopLimit: DefaultLoopLimit,
		typeIndex: map[reflect.Type][]int{},
		xmlIndex:  map[string][]int{},
		rowIndex:  map[string][]int{},
	}
	if rs.Configuration != nil {
		if n := rs.Configuration.Child("maxexecutionloopdepth"); n != nil {
			if v, err := strconv.Atoi(strings.TrimSpace(n.Text)); err == nil && v > 0 {
				p.loopLimit = v
			}
		}
	}
	if opts != nil && opts.LoopLimit > 0 {
		p.loopLimit = opts.LoopLimit
	}
	c := &compiler{p: p, reg: reg, rs: rs, refIdx: map[string]int{}, alphaKey: map[string]int{}, groupKey: map[string]*eqGroup{}}
	for _, b := range rs.Bindings {
		c.binding(b)
	}
	if c.err != nil {
		return nil, c.err
	}
	p.eqGroups = make([][]*eqGroup, len(p.bindings))
	p.plain = make([][]int, len(p.bindings))
	p.zeroSlots = make([][]int32, len(p.bindings))
	p.allSlots = make([][]int32, len(p.bindings))
	p.alphasOf = make([][]int, len(p.bindings))
	for _, r := range rs.Rules {
		if r.Active {
			c.rule(r)
		}
		if c.err != nil {
			return nil, c.err
		}
	}
	return p, nil
}

// compiler holds translation state.
type compiler struct {
	p        *Policy
	reg      *Registry
	rs       *brl.Ruleset
	refIdx   map[string]int
	alphaKey map[string]int
	groupKey map[string]*eqGroup
	ruleName string
	err      error
}

func (c *compiler) failf(n *brl.Node, cause error, format string, args ...any) {
	if c.err == nil {
		el := ""
		if n != nil {
			el = n.String()
			if len(el) > 200 {
				el = el[:200] + "…"
			}
		}
		c.err = &TranslateError{Policy: c.p.name, Rule: c.ruleName, Element: el, Err: fmt.Errorf("%w: %s", cause, fmt.Sprintf(format, args...))}
	}
}

func (c *compiler) binding(n *brl.Node) {
	ref, _ := n.Attr("ref")
	b := &binding{idx: len(c.p.bindings), ref: ref}
	switch n.Name {
	case "xmldocument":
		b.kind = bindXML
		b.doctype, _ = n.Attr("doctype")
		sel := n.Child("selector")
		expr, err := compileXMLPath(sel.Text)
		if err != nil {
			c.failf(n, ErrInvalid, "selector of %s: %v", ref, err)
			return
		}
		b.selector = expr
		c.p.xmlIndex[b.doctype] = append(c.p.xmlIndex[b.doctype], b.idx)
	case "class":
		b.kind = bindClass
		class, _ := n.Attr("class")
		ns, _ := n.Attr("namespace")
		names := []string{class}
		if ns != "" {
			names = []string{ns + "." + class, class}
		}
		t, ok := c.reg.lookupType(names...)
		if !ok {
			c.failf(n, ErrUnbound, "class %q of binding %s is not registered", names[0], ref)
			return
		}
		b.goType = t
		c.p.typeIndex[t] = append(c.p.typeIndex[t], b.idx)
	case "datarow":
		b.kind = bindRow
		b.dataset, _ = n.Attr("dataset")
		b.table, _ = n.Attr("table")
		src, ok := c.reg.lookupTable(b.dataset, b.table)
		if !ok {
			c.failf(n, ErrUnbound, "table %s.%s of binding %s is not registered", b.dataset, b.table, ref)
			return
		}
		b.src = src
		key := b.dataset + "." + b.table
		c.p.rowIndex[key] = append(c.p.rowIndex[key], b.idx)
		if src != nil {
			c.p.tables = append(c.p.tables, b.idx)
		}
	default:
		// Kept so rules that do not use it still translate; a rule that
		// uses it fails below.
	}
	c.refIdx[ref] = b.idx
	c.p.bindings = append(c.p.bindings, b)
}

// refsOf returns the bindings n uses, in order of first use.
func (c *compiler) refsOf(n *brl.Node, out []int) []int {
	if n == nil {
		return out
	}
	var ref string
	switch n.Name {
	case "xmldocumentmember":
		ref, _ = n.Attr("xmldocumentref")
	case "classmember":
		ref, _ = n.Attr("classref")
	case "datarowmember":
		ref, _ = n.Attr("datarowref")
	case "xmldocumentref", "classref", "datarowref", "dataconnectionref":
		ref, _ = n.Attr("ref")
	}
	if ref != "" {
		i, ok := c.refIdx[ref]
		if !ok {
			c.failf(n, ErrInvalid, "binding %q is not declared in the ruleset", ref)
			return out
		}
		if c.p.bindings[i].kind == 0 {
			c.failf(n, ErrUnbound, "binding %q is of a kind biztier cannot bind", ref)
			return out
		}
		found := false
		for _, x := range out {
			found = found || x == i
		}
		if !found {
			out = append(out, i)
		}
	}
	for _, ch := range n.Children {
		out = c.refsOf(ch, out)
	}
	return out
}

// conjuncts flattens nested <and> elements.
func conjuncts(n *brl.Node, out []*brl.Node) []*brl.Node {
	if n.Name == "and" {
		for _, ch := range n.Elements() {
			out = conjuncts(ch, out)
		}
		return out
	}
	return append(out, n)
}

// canon renders n without vocabulary links: two tests that differ only in
// where the editor took them from share one network node.
func canon(n *brl.Node) string {
	var b strings.Builder
	var walk func(*brl.Node)
	walk = func(x *brl.Node) {
		b.WriteString("<" + x.Name)
		for _, a := range x.Attrs {
			b.WriteString(" " + a.Name + "=" + strconv.Quote(a.Value))
		}
		b.WriteString(">" + strconv.Quote(x.Text))
		for _, ch := range x.Children {
			if ch.Name != "vocabularylink" {
				walk(ch)
			}
		}
		b.WriteString("</>")
	}
	walk(n)
	return b.String()
}

func (c *compiler) rule(br *brl.Rule) {
	c.ruleName = br.Name
	p := c.p
	r := &rule{idx: len(p.rules), name: br.Name, priority: br.Priority}
	var conds []*brl.Node
	if br.Condition != nil {
		conds = conjuncts(br.Condition, nil)
		r.refs = c.refsOf(br.Condition, nil)
	}
	nCond := len(r.refs)
	for _, a := range br.Actions {
		r.refs = c.refsOf(a, r.refs)
	}
	if c.err != nil {
		return
	}
	pos := map[int]int{}
	for i, b := range r.refs {
		pos[b] = i
	}
	r.cond = make([]bool, len(r.refs))
	for i := range nCond {
		r.cond[i] = true
	}
	alphasAt := make([][]int, len(r.refs))
	for _, cn := range conds {
		refs := c.refsOf(cn, nil)
		switch len(refs) {
		case 0:
			// A test of constants only holds or fails for every
			// execution: decide it now.
			f := c.cond(cn, nil)
			if c.err != nil {
				return
			}
			x := &exec{p: p}
			if !f(x, nil) || x.err != nil {
				return // never fires
			}
		case 1:
			id := c.alpha(cn, refs[0])
			if c.err != nil {
				return
			}
			at := pos[refs[0]]
			dup := false
			for _, x := range alphasAt[at] {
				dup = dup || x == id
			}
			if !dup {
				alphasAt[at] = append(alphasAt[at], id)
			}
		default:
			r.beta = append(r.beta, c.cond(cn, pos))
			r.betaText = append(r.betaText, describe(cn))
		}
	}
	for _, a := range br.Actions {
		r.actions = append(r.actions, c.action(a, pos))
	}
	if c.err != nil {
		return
	}
	r.slot = make([]int32, len(r.refs))
	for i, b := range r.refs {
		s := int32(len(p.slots))
		r.slot[i] = s
		p.slots = append(p.slots, slotInfo{rule: int32(r.idx), pos: int32(i), need: int32(len(alphasAt[i])), cond: r.cond[i]})
		p.allSlots[b] = append(p.allSlots[b], s)
		if len(alphasAt[i]) == 0 {
			p.zeroSlots[b] = append(p.zeroSlots[b], s)
		}
		for _, id := range alphasAt[i] {
			p.alphaSlots[id] = append(p.alphaSlots[id], s)
		}
	}
	if len(r.refs) == 0 {
		p.constRules = append(p.constRules, r.idx)
	}
	p.rules = append(p.rules, r)
}

// alpha returns the network node for a test of one binding, sharing it
// with every rule that has the same test.
func (c *compiler) alpha(n *brl.Node, b int) int {
	key := strconv.Itoa(b) + canon(n)
	if id, ok := c.alphaKey[key]; ok {
		return id
	}
	p := c.p
	id := len(p.alphas)
	one := map[int]int{b: 0}
	test := c.cond(n, one)
	p.alphas = append(p.alphas, &alpha{binding: b, test: test, text: describe(n)})
	p.alphasOf[b] = append(p.alphasOf[b], id)
	p.alphaSlots = append(p.alphaSlots, nil)
	c.alphaKey[key] = id
	if g, k, ok := c.indexable(n, b, one); ok {
		g.idx[k] = append(g.idx[k], id)
		return id
	}
	p.plain[b] = append(p.plain[b], id)
	return id
}

// indexable reports whether n is "member equal constant" with kinds the
// equality index can compare, and returns the member's index group and
// the constant's key.
func (c *compiler) indexable(n *brl.Node, b int, one map[int]int) (*eqGroup, string, bool) {
	if op, _ := n.Attr("operator"); n.Name != "compare" || op != "equal" {
		return nil, "", false
	}
	side := func(name string) *brl.Node {
		s := n.Child(name)
		if s == nil {
			return nil
		}
		e := s.Elements()
		if len(e) != 1 {
			return nil
		}
		return e[0]
	}
	lhs, rhs := side("lhs"), side("rhs")
	if lhs == nil || rhs == nil {
		return nil, "", false
	}
	if lhs.Name == "constant" {
		lhs, rhs = rhs, lhs
	}
	if lhs.Name != "function" || rhs.Name != "constant" {
		return nil, "", false
	}
	m := lhs.Elements()
	if len(m) != 1 || m[0].Child("argument") != nil {
		return nil, "", false
	}
	mk, ok := c.staticKind(m[0])
	if !ok {
		return nil, "", false
	}
	lit := rhs.Elements()
	if len(lit) != 1 {
		return nil, "", false
	}
	v, err := literal(lit[0].Name, lit[0].Text)
	if err != nil || !(mk == v.k || numeric(mk) && numeric(v.k)) {
		return nil, "", false
	}
	k, ok := indexKey(v)
	if !ok {
		return nil, "", false
	}
	gk := strconv.Itoa(b) + canon(lhs)
	g := c.groupKey[gk]
	if g == nil {
		g = &eqGroup{get: c.term(lhs, one), idx: map[string][]int{}}
		c.groupKey[gk] = g
		c.p.eqGroups[b] = append(c.p.eqGroups[b], g)
	}
	return g, k, true
}

// staticKind is the kind a member's values always have.
func (c *compiler) staticKind(m *brl.Node) (kind, bool) {
	if m.Name == "classmember" {
		ref, _ := m.Attr("classref")
		name, _ := m.Attr("member")
		b, ok := c.refIdx[ref]
		if !ok || c.p.bindings[b].goType == nil {
			return 0, false
		}
		return goKind(c.p.bindings[b].goType, name)
	}
	switch m.Name {
	case "xmldocumentmember", "datarowmember":
		typ, _ := m.Attr("type")
		switch strings.ToLower(typ) {
		case "string", "":
			if m.Name == "datarowmember" {
				return 0, false // columns hold whatever the source put there
			}
			return kString, true
		case "int", "long", "short", "decimal", "double", "float":
			if m.Name == "datarowmember" {
				return 0, false
			}
			return kInt, true
		case "boolean":
			if m.Name == "datarowmember" {
				return 0, false
			}
			return kBool, true
		}
	}
	return 0, false
}

// goKind is the kind a Go getter's result always has, when it is a
// scalar.
func goKind(t reflect.Type, name string) (kind, bool) {
	var rt reflect.Type
	base := strings.TrimPrefix(name, "get_")
	for _, mn := range []string{base, "Get" + base} {
		if m, ok := t.MethodByName(mn); ok && m.Type.NumIn() == 1 && m.Type.NumOut() >= 1 {
			rt = m.Type.Out(0)
			break
		}
	}
	if rt == nil {
		st := t
		if st.Kind() == reflect.Pointer {
			st = st.Elem()
		}
		if st.Kind() != reflect.Struct {
			return 0, false
		}
		f, ok := st.FieldByName(base)
		if !ok {
			return 0, false
		}
		rt = f.Type
	}
	if rt == reflect.TypeFor[time.Duration]() {
		return 0, false
	}
	switch rt.Kind() {
	case reflect.String:
		return kString, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Float32, reflect.Float64:
		return kInt, true
	case reflect.Bool:
		return kBool, true
	}
	return 0, false
}

// cond compiles a condition. pos maps bindings to tuple positions; nil for
// a test of constants.
func (c *compiler) cond(n *brl.Node, pos map[int]int) condFn {
	kids := n.Elements()
	switch n.Name {
	case "and", "or":
		fs := make([]condFn, len(kids))
		for i, k := range kids {
			fs[i] = c.cond(k, pos)
		}
		if n.Name == "and" {
			return func(x *exec, t []*fact) bool {
				for _, f := range fs {
					if !f(x, t) {
						return false
					}
				}
				return true
			}
		}
		return func(x *exec, t []*fact) bool {
			for _, f := range fs {
				if f(x, t) {
					return true
				}
			}
			return false
		}
	case "not":
		f := c.cond(kids[0], pos)
		return func(x *exec, t []*fact) bool { return !f(x, t) }
	case "compare":
		op, _ := n.Attr("operator")
		l, r := c.side(n, "lhs", pos), c.side(n, "rhs", pos)
		var ok func(int) bool
		switch op {
		case "equal":
			ok = func(r int) bool { return r == 0 }
		case "not equal":
			ok = func(r int) bool { return r != 0 }
		case "less than", "before":
			ok = func(r int) bool { return r < 0 }
		case "less than equal":
			ok = func(r int) bool { return r <= 0 }
		case "greater than", "after":
			ok = func(r int) bool { return r > 0 }
		case "greater than equal":
			ok = func(r int) bool { return r >= 0 }
		default:
			c.failf(n, ErrInvalid, "unknown operator %q", op)
			return nil
		}
		return func(x *exec, t []*fact) bool {
			r, cmpOK := compare(l(x, t), r(x, t))
			return cmpOK && ok(r)
		}
	case "between", "range":
		v, lo, hi := c.side(n, "lhs", pos), c.side(n, "lower", pos), c.side(n, "upper", pos)
		upperIncl := n.Name == "between"
		return func(x *exec, t []*fact) bool {
			val := v(x, t)
			a, ok1 := compare(val, lo(x, t))
			b, ok2 := compare(val, hi(x, t))
			return ok1 && ok2 && a >= 0 && (b < 0 || upperIncl && b == 0)
		}
	case "match":
		v := c.side(n, "lhs", pos)
		pat := n.Child("rhs").Elements()[0]
		if pat.Name == "constant" {
			re, err := regexp.Compile(pat.Elements()[0].Text)
			if err != nil {
				c.failf(n, ErrInvalid, "pattern: %v", err)
				return nil
			}
			return func(x *exec, t []*fact) bool {
				val := v(x, t)
				return val.k != kNull && re.MatchString(val.String())
			}
		}
		pf := c.term(pat, pos)
		return func(x *exec, t []*fact) bool {
			val := v(x, t)
			re, err := regexp.Compile(pf(x, t).String())
			if err != nil {
				x.fail(fmt.Errorf("%w: match pattern: %w", ErrFact, err))
				return false
			}
			return val.k != kNull && re.MatchString(val.String())
		}
	case "exists":
		fn := n.Child("lhs").Elements()[0]
		m := fn.Elements()[0]
		if m.Name != "xmldocumentmember" {
			v := c.term(fn, pos)
			return func(x *exec, t []*fact) bool { return v(x, t).k != kNull }
		}
		ref, _ := m.Attr("xmldocumentref")
		p := c.position(m, ref, pos)
		field := c.xpath(m)
		return func(x *exec, t []*fact) bool {
			if field == nil {
				return false
			}
			_, ok := field.first(t[p].node)
			return ok
		}
	case "function":
		v := c.term(n, pos)
		return func(x *exec, t []*fact) bool {
			r := v(x, t)
			return r.k == kBool && r.b
		}
	}
	c.failf(n, ErrInvalid, "unknown condition <%s>", n.Name)
	return func(*exec, []*fact) bool { return false }
}

func (c *compiler) side(n *brl.Node, name string, pos map[int]int) termFn {
	s := n.Child(name)
	if s == nil || len(s.Elements()) != 1 {
		c.failf(n, ErrInvalid, "<%s> missing", name)
		return func(*exec, []*fact) value { return value{} }
	}
	return c.term(s.Elements()[0], pos)
}

func (c *compiler) position(n *brl.Node, ref string, pos map[int]int) int {
	b, ok := c.refIdx[ref]
	if !ok {
		c.failf(n, ErrInvalid, "binding %q is not declared", ref)
		return 0
	}
	p, ok := pos[b]
	if !ok {
		c.failf(n, ErrInvalid, "binding %q is not part of this test", ref)
	}
	return p
}

func (c *compiler) xpath(m *brl.Node) *xmlPath {
	f := m.Child("field")
	if f == nil {
		c.failf(m, ErrInvalid, "member without a field")
		return nil
	}
	e, err := compileXMLPath(f.Text)
	if err != nil {
		c.failf(m, ErrInvalid, "field XPath: %v", err)
		return nil
	}
	return e
}

// term compiles a value: a constant, a member (read or, with an argument
// and side effects, written) or a reference to a bound fact.
func (c *compiler) term(n *brl.Node, pos map[int]int) termFn {
	kids := n.Elements()
	nothing := func(*exec, []*fact) value { return value{} }
	switch n.Name {
	case "constant":
		v, err := literal(kids[0].Name, kids[0].Text)
		if err != nil {
			c.failf(n, ErrInvalid, "%v", err)
			return nothing
		}
		return func(*exec, []*fact) value { return v }
	case "reference":
		r := kids[0]
		ref, _ := r.Attr("ref")
		p := c.position(r, ref, pos)
		return func(x *exec, t []*fact) value { return value{k: kObject, o: t[p]} }
	case "function":
		if len(kids) != 1 {
			c.failf(n, ErrInvalid, "<function> without a member")
			return nothing
		}
		return c.member(kids[0], pos)
	}
	c.failf(n, ErrInvalid, "unknown term <%s>", n.Name)
	return nothing
}

func (c *compiler) args(m *brl.Node, pos map[int]int) []termFn {
	var out []termFn
	for _, a := range m.Children {
		if a.Name == "argument" {
			out = append(out, c.term(a.Elements()[0], pos))
		}
	}
	return out
}

func (c *compiler) member(m *brl.Node, pos map[int]int) termFn {
	nothing := func(*exec, []*fact) value { return value{} }
	args := c.args(m, pos)
	typ, _ := m.Attr("type")
	switch m.Name {
	case "xmldocumentmember":
		ref, _ := m.Attr("xmldocumentref")
		p := c.position(m, ref, pos)
		field := c.xpath(m)
		if field == nil {
			return nothing
		}
		if len(args) > 1 {
			c.failf(m, ErrInvalid, "XML setter with %d arguments", len(args))
			return nothing
		}
		if len(args) == 1 {
			arg := args[0]
			return func(x *exec, t []*fact) value {
				v := arg(x, t)
				if err := field.setFirst(t[p].node, v.String()); err != nil {
					x.fail(fmt.Errorf("%w: %s: %w", ErrFact, ref, err))
				}
				return value{}
			}
		}
		return func(x *exec, t []*fact) value {
			h, ok := field.first(t[p].node)
			if !ok {
				return value{}
			}
			v, err := convert(typ, h.text())
			if err != nil {
				x.fail(fmt.Errorf("%w: %s field %s: %w", ErrFact, ref, field.String(), err))
				return value{}
			}
			return v
		}
	case "datarowmember":
		ref, _ := m.Attr("datarowref")
		col, _ := m.Attr("column")
		p := c.position(m, ref, pos)
		if len(args) == 1 {
			arg := args[0]
			return func(x *exec, t []*fact) value {
				t[p].obj.(*Row).Set(col, arg(x, t).goValue())
				return value{}
			}
		}
		return func(x *exec, t []*fact) value {
			v, ok := t[p].obj.(*Row).Get(col)
			if !ok {
				return value{}
			}
			return fromGo(reflect.ValueOf(v))
		}
	case "classmember":
		ref, _ := m.Attr("classref")
		name, _ := m.Attr("member")
		p := c.position(m, ref, pos)
		b := c.p.bindings[c.refIdx[ref]]
		call, err := goMember(b.goType, name, len(args))
		if err != nil {
			c.failf(m, ErrUnbound, "%v", err)
			return nothing
		}
		return func(x *exec, t []*fact) value {
			in := make([]value, len(args))
			for i, a := range args {
				in[i] = a(x, t)
			}
			v, err := call(reflect.ValueOf(t[p].obj), in)
			if err != nil {
				x.fail(fmt.Errorf("%w: %s.%s: %w", ErrFact, ref, name, err))
			}
			return v
		}
	}
	c.failf(m, ErrInvalid, "unknown member <%s>", m.Name)
	return nothing
}

// goMember resolves a BRL class member on a registered Go type.
func goMember(t reflect.Type, name string, nargs int) (func(obj reflect.Value, args []value) (value, error), error) {
	try := func(methods []string, field string, set bool) (func(reflect.Value, []value) (value, error), bool) {
		for _, mn := range methods {
			m, ok := t.MethodByName(mn)
			if !ok || m.Type.NumIn()-1 != nargs {
				continue
			}
			mt := m.Type
			idx := m.Index
			return func(obj reflect.Value, args []value) (value, error) {
				in := make([]reflect.Value, nargs)
				for i, a := range args {
					v, err := toGo(a, mt.In(i+1))
					if err != nil {
						return value{}, err
					}
					in[i] = v
				}
				out := obj.Method(idx).Call(in)
				if n := len(out); n > 0 && mt.Out(n-1) == reflect.TypeFor[error]() {
					if err, _ := out[n-1].Interface().(error); err != nil {
						return value{}, err
					}
					out = out[:n-1]
				}
				if len(out) == 0 {
					return value{}, nil
				}
				return fromGo(out[0]), nil
			}, true
		}
		st := t
		if st.Kind() == reflect.Pointer {
			st = st.Elem()
		}
		if field == "" || st.Kind() != reflect.Struct {
			return nil, false
		}
		f, ok := st.FieldByName(field)
		if !ok || !f.IsExported() {
			return nil, false
		}
		idx := f.Index
		if set {
			if t.Kind() != reflect.Pointer || nargs != 1 {
				return nil, false
			}
			ft := f.Type
			return func(obj reflect.Value, args []value) (value, error) {
				v, err := toGo(args[0], ft)
				if err != nil {
					return value{}, err
				}
				obj.Elem().FieldByIndex(idx).Set(v)
				return value{}, nil
			}, true
		}
		if nargs != 0 {
			return nil, false
		}
		return func(obj reflect.Value, _ []value) (value, error) {
			return fromGo(reflect.Indirect(obj).FieldByIndex(idx)), nil
		}, true
	}
	var fn func(reflect.Value, []value) (value, error)
	var ok bool
	switch {
	case strings.HasPrefix(name, "get_"):
		base := name[4:]
		fn, ok = try([]string{base, "Get" + base}, base, false)
	case strings.HasPrefix(name, "set_"):
		base := name[4:]
		fn, ok = try([]string{"Set" + base}, base, true)
	default:
		fn, ok = try([]string{name}, name, nargs == 1)
	}
	if !ok {
		return nil, fmt.Errorf("type %s has no member %s taking %d arguments", t, name, nargs)
	}
	return fn, nil
}

// action compiles one element of <then>.
func (c *compiler) action(n *brl.Node, pos map[int]int) actionFn {
	switch n.Name {
	case "function":
		f := c.term(n, pos)
		return func(x *exec, t []*fact) { f(x, t) }
	case "assert", "retract", "update", "retractbytype":
		obj := n.Child("object").Elements()[0]
		if obj.Name == "reference" {
			r := obj.Elements()[0]
			ref, _ := r.Attr("ref")
			p := c.position(r, ref, pos)
			b := c.refIdx[ref]
			switch n.Name {
			case "update", "assert":
				// Asserting a fact already in working memory re-asserts
				// it: an update.
				return func(x *exec, t []*fact) { x.pend(opUpdate, t[p], nil, -1) }
			case "retract":
				return func(x *exec, t []*fact) { x.pend(opRetract, t[p], nil, -1) }
			default:
				return func(x *exec, t []*fact) { x.pend(opRetractBinding, nil, nil, b) }
			}
		}
		f := c.term(obj, pos)
		kind := map[string]opKind{"assert": opAssert, "retract": opRetractObject, "update": opUpdateObject, "retractbytype": opRetractType}[n.Name]
		return func(x *exec, t []*fact) {
			v := f(x, t)
			if v.k != kObject {
				x.fail(fmt.Errorf("%w: %s of a %s value, not an object", ErrFact, n.Name, v.String()))
				return
			}
			x.pend(kind, nil, v.o, -1)
		}
	case "halt":
		var clear termFn
		if a := n.Child("argument"); a != nil {
			clear = c.term(a.Elements()[0], pos)
		}
		return func(x *exec, t []*fact) {
			x.halted = true
			if clear != nil {
				if v := clear(x, t); v.k == kBool && v.b {
					x.clearAgenda = true
				}
			}
		}
	}
	c.failf(n, ErrInvalid, "unknown action <%s>", n.Name)
	return func(*exec, []*fact) {}
}

// describe renders a condition for tracking: "xml_31.TotalSum less than
// 100", with logical operators in parentheses.
func describe(n *brl.Node) string {
	kids := n.Elements()
	switch n.Name {
	case "and", "or":
		parts := make([]string, len(kids))
		for i, k := range kids {
			parts[i] = describe(k)
		}
		return "(" + strings.Join(parts, " "+n.Name+" ") + ")"
	case "not":
		if len(kids) == 1 {
			return "not " + describe(kids[0])
		}
	case "compare":
		op, _ := n.Attr("operator")
		return describeSide(n, "lhs") + " " + op + " " + describeSide(n, "rhs")
	case "between", "range":
		return describeSide(n, "lhs") + " " + n.Name + " " + describeSide(n, "lower") + " and " + describeSide(n, "upper")
	case "match":
		return describeSide(n, "lhs") + " match " + describeSide(n, "rhs")
	case "exists":
		return "exists " + describeSide(n, "lhs")
	case "function", "constant", "reference":
		return describeTerm(n)
	}
	return n.Name
}

func describeSide(n *brl.Node, name string) string {
	s := n.Child(name)
	if s == nil || len(s.Elements()) != 1 {
		return "?"
	}
	return describeTerm(s.Elements()[0])
}

func describeTerm(n *brl.Node) string {
	kids := n.Elements()
	if len(kids) != 1 {
		return n.Name
	}
	k := kids[0]
	switch n.Name {
	case "constant":
		if k.Name == "string" {
			return strconv.Quote(k.Text)
		}
		return strings.TrimSpace(k.Text)
	case "reference":
		r, _ := k.Attr("ref")
		return r
	}
	switch k.Name {
	case "xmldocumentmember":
		ref, _ := k.Attr("xmldocumentref")
		field := ""
		if a := k.Child("fieldalias"); a != nil && a.Text != "" {
			field = a.Text
		} else if f := k.Child("field"); f != nil {
			field = strings.TrimSpace(f.Text)
		}
		return ref + "." + field
	case "classmember":
		ref, _ := k.Attr("classref")
		m, _ := k.Attr("member")
		return ref + "." + m
	case "datarowmember":
		ref, _ := k.Attr("datarowref")
		col, _ := k.Attr("column")
		return ref + "." + col
	}
	return k.Name
}
