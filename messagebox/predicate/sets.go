package predicate

import (
	"fmt"
	"slices"
	"strings"
)

// String formats p as BizTalk's filter editor shows it:
// `(A == "x" AND B exists) OR (C > "5")`.
func (p Predicate) String() string {
	var sb strings.Builder
	for i, g := range p {
		if i > 0 {
			sb.WriteString(" OR ")
		}
		sb.WriteByte('(')
		for j, c := range g {
			if j > 0 {
				sb.WriteString(" AND ")
			}
			sb.WriteString(c.String())
		}
		sb.WriteByte(')')
	}
	return sb.String()
}

// Clone returns a deep copy of p (nil for nil).
func (p Predicate) Clone() Predicate {
	if p == nil {
		return nil
	}
	c := make(Predicate, len(p))
	for i, g := range p {
		c[i] = slices.Clone(g)
	}
	return c
}

// Equal reports whether p and q have the same groups and conditions in the
// same order, values compared by representation (Text("5") is not
// Int64(5)).
func (p Predicate) Equal(q Predicate) bool {
	return slices.EqualFunc(p, q, func(a, b Group) bool { return slices.Equal(a, b) })
}

// And returns p with extra added to every group (extra alone when p is
// empty): the subscription of a port bound to an orchestration is the
// orchestration's filter and the port's own condition.
func (p Predicate) And(extra ...Condition) Predicate {
	if len(p) == 0 {
		if len(extra) == 0 {
			return nil
		}
		return Predicate{slices.Clone(Group(extra))}
	}
	out := make(Predicate, len(p))
	for i, g := range p {
		out[i] = append(slices.Clone(extra), g...)
	}
	return out
}

// Resolve returns p as the MessageBox evaluates it: every property name in
// its canonical form, and every text value whose property has a type in
// schemas converted to that type (BizTalk converts a filter's values when
// it creates the subscription, so "9.5" on an integer property is 10).
// Text on a property with no known type stays text, compared in the type
// each message's value has. The error, which matches ErrInvalid, names a
// text value that is not a value of its property's type.
func (p Predicate) Resolve(schemas *Schemas) (Predicate, error) {
	out := p.Clone()
	for gi, g := range out {
		for ci := range g {
			c := &g[ci]
			c.Property = Canonical(c.Property)
			if c.Value.typ != TypeText {
				continue
			}
			t, ok := schemas.Type(c.Property)
			if !ok {
				continue
			}
			v, ok := Coerce(c.Value.s, t)
			if !ok {
				return nil, fmt.Errorf("%w: group %d, condition %d (%s): %s is not a %s, the type of %s",
					ErrInvalid, gi, ci, c, c.Value, t, c.Property)
			}
			c.Value = v
		}
	}
	return out, nil
}
