package bam

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// definitionNS is the namespace of BAM definitions.
const definitionNS = "http://schemas.microsoft.com/BizTalkServer/2004/10/BAM"

// ParseDefinition reads a BAM definition document, UTF-8 or UTF-16 (with or
// without a byte-order mark), and checks it against BizTalk's schema and
// limits. A failure is a *DefinitionError naming the element and its line;
// it wraps ErrMalformed, ErrLimit or ErrReference.
func ParseDefinition(r io.Reader) (*Definition, error) {
	root, err := parseXML(r, "BAMDefinition")
	if err != nil {
		return nil, err
	}
	if root.local() != "BAMDefinition" {
		return nil, &DefinitionError{Element: root.name, Line: root.line, Err: fmt.Errorf("%w: the root element is <%s>, not <BAMDefinition>", ErrMalformed, root.name)}
	}
	p := &defParser{ids: map[string]idInfo{}}
	d, err := p.definition(root)
	if err != nil {
		return nil, err
	}
	if err := p.resolve(); err != nil {
		return nil, err
	}
	return d, nil
}

// ParseDefinitionBytes is ParseDefinition of a byte slice.
func ParseDefinitionBytes(b []byte) (*Definition, error) {
	return ParseDefinition(bytes.NewReader(b))
}

// defParser carries what a document's elements share: the IDs seen and
// the references to check once every ID is known.
type defParser struct {
	ids     map[string]idInfo
	pending []pendingRef
}

// idInfo is what an ID names: the element kind and its owner (the
// activity of a checkpoint, the activity view of an alias, the cube of a
// measure).
type idInfo struct {
	at
	kind, owner string
}

// pendingRef is a reference to check: ref must name an element of one of
// kinds owned by owner ("" for top-level elements).
type pendingRef struct {
	at
	ref, owner string
	kinds      []string
}

// want records a reference to check in resolve.
func (p *defParser) want(a at, ref, owner string, kinds ...string) {
	p.pending = append(p.pending, pendingRef{at: a, ref: ref, owner: owner, kinds: kinds})
}

// resolve checks every reference.
func (p *defParser) resolve() error {
	for _, r := range p.pending {
		info, ok := p.ids[r.ref]
		if !ok {
			return r.errf(ErrReference, "%s names no %s", r.ref, strings.Join(r.kinds, " or "))
		}
		kindOK := false
		for _, k := range r.kinds {
			kindOK = kindOK || info.kind == k
		}
		if !kindOK {
			return r.errf(ErrReference, "%s names a %s, not a %s", r.ref, info.kind, strings.Join(r.kinds, " or "))
		}
		if info.owner != r.owner {
			return r.errf(ErrReference, "%s is a %s of %s, not of %s", r.ref, info.kind, info.owner, r.owner)
		}
	}
	return nil
}

// id reads and registers an element's ID: IDs are unique in a document.
func (p *defParser) id(n *xnode, a at, kind, owner string) (string, error) {
	v, err := n.required(a, "ID")
	if err != nil {
		return "", err
	}
	if v == "" {
		return "", a.errf(ErrMalformed, "empty ID")
	}
	if prev, dup := p.ids[v]; dup {
		return "", a.errf(ErrReference, "ID %s already used by %s (line %d)", v, prev.path, prev.line)
	}
	p.ids[v] = idInfo{at: a, kind: kind, owner: owner}
	return v, nil
}

// name reads a Name attribute: a BAM token of at most max characters.
func name(n *xnode, a at, max int) (string, error) {
	v, err := n.required(a, "Name")
	if err != nil {
		return "", err
	}
	if err := checkToken(v); err != nil {
		return "", a.errf(ErrMalformed, "name %q: %v", v, err)
	}
	if l := utf8.RuneCountInString(v); l > max {
		return "", a.errf(ErrLimit, "name %q has %d characters, at most %d allowed", v, l, max)
	}
	return v, nil
}

// checkToken checks the schema's BAMToken: a letter or underscore, then
// letters, digits and underscores, single spaces allowed between them.
func checkToken(s string) error {
	if s == "" {
		return fmt.Errorf("empty")
	}
	prevSpace := false
	for i, r := range s {
		switch {
		case i == 0 && !(unicode.IsLetter(r) || r == '_' || unicode.Is(unicode.Nl, r)):
			return fmt.Errorf("must start with a letter or an underscore")
		case r == ' ':
			if prevSpace || i == len(s)-1 {
				return fmt.Errorf("spaces only single and between words")
			}
			prevSpace = true
			continue
		case !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || unicode.Is(unicode.Nl, r)):
			return fmt.Errorf("character %q not allowed", r)
		}
		prevSpace = false
	}
	return nil
}

// refs reads the text of each child named child, all required non-empty.
func refs(n *xnode, a at, child string) ([]string, error) {
	var out []string
	for _, c := range n.kids(child) {
		v, err := c.textOnly(c.at(a.path))
		if err != nil {
			return nil, err
		}
		if v == "" {
			return nil, c.at(a.path).errf(ErrMalformed, "empty <%s>", child)
		}
		out = append(out, v)
	}
	return out, nil
}

func (p *defParser) definition(root *xnode) (*Definition, error) {
	a := root.at("")
	d := &Definition{}
	for _, n := range root.kids("Activity") {
		act, err := p.activity(n, a.path)
		if err != nil {
			return nil, err
		}
		d.Activities = append(d.Activities, act)
	}
	if len(d.Activities) == 0 {
		return nil, a.errf(ErrMalformed, "a definition needs at least one <Activity>")
	}
	for _, n := range root.kids("View") {
		v, err := p.view(n, a.path)
		if err != nil {
			return nil, err
		}
		d.Views = append(d.Views, v)
	}
	for _, n := range root.kids("Cube") {
		c, err := p.cube(n, a.path)
		if err != nil {
			return nil, err
		}
		d.Cubes = append(d.Cubes, c)
	}
	alerts := root.kids("Alerts")
	if len(alerts) > 1 {
		return nil, alerts[1].at(a.path).errf(ErrMalformed, "more than one <Alerts>")
	}
	if len(alerts) == 1 {
		var b strings.Builder
		writeXML(&b, alerts[0])
		d.Alerts = b.String()
	}
	for _, n := range root.kids("Extension") {
		var b strings.Builder
		writeXML(&b, n)
		d.Extensions = append(d.Extensions, b.String())
	}
	if err := root.leftover(a); err != nil {
		return nil, err
	}
	return d, nil
}

func (p *defParser) activity(n *xnode, parent string) (Activity, error) {
	a := n.at(parent)
	var act Activity
	var err error
	if act.Name, err = name(n, a, maxActivityName); err != nil {
		return act, err
	}
	if act.ID, err = p.id(n, a, "Activity", ""); err != nil {
		return act, err
	}
	cps := n.kids("Checkpoint")
	if len(cps) == 0 {
		return act, a.errf(ErrMalformed, "an activity needs at least one <Checkpoint>")
	}
	if len(cps) > MaxCheckpoints {
		return act, a.errf(ErrLimit, "%d checkpoints, at most %d allowed", len(cps), MaxCheckpoints)
	}
	names := map[string]bool{}
	for _, c := range cps {
		cp, err := p.checkpoint(c, a.path, act.ID)
		if err != nil {
			return act, err
		}
		if names[strings.ToLower(cp.Name)] {
			return act, c.at(a.path).errf(ErrReference, "checkpoint name %s used twice", cp.Name)
		}
		names[strings.ToLower(cp.Name)] = true
		act.Checkpoints = append(act.Checkpoints, cp)
	}
	idx := n.kids("Index")
	if len(idx) > MaxIndexes {
		return act, a.errf(ErrLimit, "%d indexes, at most %d allowed", len(idx), MaxIndexes)
	}
	for _, x := range idx {
		xa := x.at(a.path)
		var ix Index
		if ix.Name, err = name(x, xa, maxSQLName); err != nil {
			return act, err
		}
		if ix.ID, err = p.id(x, xa, "Index", act.ID); err != nil {
			return act, err
		}
		if ix.CheckpointRefs, err = refs(x, xa, "CheckpointRef"); err != nil {
			return act, err
		}
		for _, r := range ix.CheckpointRefs {
			p.want(xa, r, act.ID, "Checkpoint")
		}
		if len(ix.CheckpointRefs) == 0 || len(ix.CheckpointRefs) > 16 {
			return act, xa.errf(ErrLimit, "an index spans 1 to 16 checkpoints, not %d", len(ix.CheckpointRefs))
		}
		if err := x.leftover(xa); err != nil {
			return act, err
		}
		act.Indexes = append(act.Indexes, ix)
	}
	return act, n.leftover(a)
}

func (p *defParser) checkpoint(n *xnode, parent, activity string) (Checkpoint, error) {
	a := n.at(parent)
	var cp Checkpoint
	var err error
	if cp.Name, err = name(n, a, maxSQLName); err != nil {
		return cp, err
	}
	if cp.ID, err = p.id(n, a, "Checkpoint", activity); err != nil {
		return cp, err
	}
	t, err := n.required(a, "DataType")
	if err != nil {
		return cp, err
	}
	cp.Type = DataType(t)
	switch cp.Type {
	case DateTime, NVarChar, Int, Float, Decimal:
	default:
		return cp, a.errf(ErrMalformed, "DataType %q is not DATETIME, NVARCHAR, INT, FLOAT or DECIMAL", t)
	}
	if l, ok := n.attr("DataLength"); ok {
		v, err := strconv.Atoi(l)
		if err != nil || v <= 0 {
			return cp, a.errf(ErrMalformed, "DataLength %q is not a positive integer", l)
		}
		if cp.Type != NVarChar {
			return cp, a.errf(ErrMalformed, "DataLength on a %s checkpoint", cp.Type)
		}
		if v > MaxDataLength {
			return cp, a.errf(ErrLimit, "DataLength %d, at most %d allowed", v, MaxDataLength)
		}
		cp.Length = v
	} else if cp.Type == NVarChar {
		cp.Length = defaultNVarChar
	}
	return cp, n.leftover(a)
}

func (p *defParser) view(n *xnode, parent string) (View, error) {
	a := n.at(parent)
	var v View
	var err error
	if v.Name, err = name(n, a, maxActivityName); err != nil {
		return v, err
	}
	if v.ID, err = p.id(n, a, "View", ""); err != nil {
		return v, err
	}
	avs := n.kids("ActivityView")
	if len(avs) == 0 {
		return v, a.errf(ErrMalformed, "a view needs at least one <ActivityView>")
	}
	if len(avs) > MaxActivityRefs {
		return v, a.errf(ErrLimit, "%d activity references, at most %d allowed", len(avs), MaxActivityRefs)
	}
	for _, x := range avs {
		av, err := p.activityView(x, a.path, v.ID)
		if err != nil {
			return v, err
		}
		v.ActivityViews = append(v.ActivityViews, av)
	}
	return v, n.leftover(a)
}

func (p *defParser) activityView(n *xnode, parent, view string) (ActivityView, error) {
	a := n.at(parent)
	var av ActivityView
	var err error
	if av.Name, err = name(n, a, maxActViewName); err != nil {
		return av, err
	}
	if av.ID, err = p.id(n, a, "ActivityView", view); err != nil {
		return av, err
	}
	if av.ActivityRef, err = n.required(a, "ActivityRef"); err != nil {
		return av, err
	}
	p.want(a, av.ActivityRef, "", "Activity")
	names := map[string]bool{}
	for _, x := range n.kids("Alias") {
		xa := x.at(a.path)
		var al Alias
		if al.Name, err = name(x, xa, maxAliasName); err != nil {
			return av, err
		}
		if al.ID, err = p.id(x, xa, "Alias", av.ID); err != nil {
			return av, err
		}
		if al.CheckpointRefs, err = refs(x, xa, "CheckpointRef"); err != nil {
			return av, err
		}
		for _, r := range al.CheckpointRefs {
			p.want(xa, r, av.ActivityRef, "Checkpoint")
		}
		if len(al.CheckpointRefs) == 0 {
			return av, xa.errf(ErrMalformed, "an alias needs at least one <CheckpointRef>")
		}
		if names[al.Name] {
			return av, xa.errf(ErrReference, "name %s used twice", al.Name)
		}
		names[al.Name] = true
		if err := x.leftover(xa); err != nil {
			return av, err
		}
		av.Aliases = append(av.Aliases, al)
	}
	if len(av.Aliases) == 0 {
		return av, a.errf(ErrMalformed, "an activity view needs at least one <Alias>")
	}
	for _, x := range n.kids("Duration") {
		xa := x.at(a.path)
		var du Duration
		if du.Name, err = name(x, xa, maxSQLName); err != nil {
			return av, err
		}
		if du.ID, err = p.id(x, xa, "Duration", av.ID); err != nil {
			return av, err
		}
		if du.TimeResolution, err = x.required(xa, "TimeResolution"); err != nil {
			return av, err
		}
		if _, ok := resolutions[du.TimeResolution]; !ok {
			return av, xa.errf(ErrMalformed, "TimeResolution %q is not Day, Hour, Minute or Second", du.TimeResolution)
		}
		from, err := refs(x, xa, "FromAliasRef")
		if err != nil {
			return av, err
		}
		to, err := refs(x, xa, "ToAliasRef")
		if err != nil {
			return av, err
		}
		if len(from) != 1 || len(to) != 1 {
			return av, xa.errf(ErrMalformed, "a duration needs one <FromAliasRef> and one <ToAliasRef>")
		}
		du.FromAliasRef, du.ToAliasRef = from[0], to[0]
		p.want(xa, du.FromAliasRef, av.ID, "Alias")
		p.want(xa, du.ToAliasRef, av.ID, "Alias")
		if names[du.Name] {
			return av, xa.errf(ErrReference, "name %s used twice", du.Name)
		}
		names[du.Name] = true
		if err := x.leftover(xa); err != nil {
			return av, err
		}
		av.Durations = append(av.Durations, du)
	}
	if len(av.Aliases)+len(av.Durations) > 1000 {
		return av, a.errf(ErrLimit, "%d aliases and durations, at most 1000 allowed", len(av.Aliases)+len(av.Durations))
	}
	return av, n.leftover(a)
}

func parseXSBool(v string) (bool, error) {
	switch strings.TrimSpace(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("not an xs:boolean")
}

// resolutions are the duration units, in seconds.
var resolutions = map[string]float64{"Day": 86400, "Hour": 3600, "Minute": 60, "Second": 1}

var timeParts = map[string]bool{"Year": true, "Quarter": true, "Month": true, "Week": true, "Day": true, "Hour": true, "Minute": true}
