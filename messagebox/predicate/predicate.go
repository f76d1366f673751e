package predicate

import (
	"fmt"
	"math"
	"strconv"
)

// Op is a comparison operator of a subscription condition. The values are
// the operator codes of BizTalk binding files (<Statement Operator="n">).
type Op uint8

// Operators. A condition on a property missing from the message's
// promoted context is false for every operator, OpExists included.
const (
	OpEqual        Op = 0 // ==
	OpLess         Op = 1 // <
	OpLessEqual    Op = 2 // <=
	OpGreater      Op = 3 // >
	OpGreaterEqual Op = 4 // >=
	OpNotEqual     Op = 5 // != : the property is present, of the condition's type, and not equal
	OpExists       Op = 6 // exists: the property is promoted; the condition has no value
)

// String returns the operator's symbol, such as "<=".
func (o Op) String() string {
	switch o {
	case OpEqual:
		return "=="
	case OpLess:
		return "<"
	case OpLessEqual:
		return "<="
	case OpGreater:
		return ">"
	case OpGreaterEqual:
		return ">="
	case OpNotEqual:
		return "!="
	case OpExists:
		return "exists"
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

func (o Op) ordering() bool { return o >= OpLess && o <= OpGreaterEqual }

// Condition is one `property op value` test of a subscription.
type Condition struct {
	// Property is the promoted property's name, "namespace#name".
	Property string
	// Op is the operator.
	Op Op
	// Value is compared with the property's value; it must be unset for
	// OpExists.
	Value Value
}

// String formats c, such as `ns#Amount > int64(5)`.
func (c Condition) String() string {
	if c.Op == OpExists {
		return c.Property + " exists"
	}
	return c.Property + " " + c.Op.String() + " " + c.Value.String()
}

// Group is an AND of conditions.
type Group []Condition

// Predicate is an OR of AND-groups (disjunctive normal form, as BizTalk
// filters are written).
type Predicate []Group

// Cond returns the condition `property op value`.
func Cond(property string, op Op, v Value) Condition {
	return Condition{Property: property, Op: op, Value: v}
}

// Eq returns the condition `property == v`.
func Eq(property string, v Value) Condition { return Cond(property, OpEqual, v) }

// Exists returns the condition `property exists`.
func Exists(property string) Condition { return Condition{Property: property, Op: OpExists} }

// And returns a group of conditions that must all hold.
func And(conds ...Condition) Group { return Group(conds) }

// Or returns a predicate that holds when any group holds.
func Or(groups ...Group) Predicate { return Predicate(groups) }

// Validate reports why p cannot be used in a subscription; the error
// matches ErrInvalid.
func (p Predicate) Validate() error {
	if len(p) == 0 {
		return fmt.Errorf("%w: no groups", ErrInvalid)
	}
	types := make(map[string]Type)
	for gi, g := range p {
		if len(g) == 0 {
			return fmt.Errorf("%w: group %d is empty", ErrInvalid, gi)
		}
		for ci, c := range g {
			if err := c.validate(types); err != nil {
				return fmt.Errorf("%w: group %d, condition %d (%s): %s", ErrInvalid, gi, ci, c, err)
			}
		}
	}
	return nil
}

// validate checks one condition; types records the type each property is
// used with, since one property used with two types is a mistake.
func (c Condition) validate(types map[string]Type) error {
	if c.Property == "" {
		return fmt.Errorf("empty property name")
	}
	if c.Op > OpExists {
		return fmt.Errorf("unknown operator %d", uint8(c.Op))
	}
	if c.Op == OpExists {
		// Binding files sometimes keep a value on an exists statement; as
		// text it is carried (so the file exports as it was) and ignored.
		if !c.Value.IsZero() && c.Value.typ != TypeText {
			return fmt.Errorf("exists takes no value")
		}
		return nil
	}
	if err := c.Value.Check(); err != nil {
		return err
	}
	t := c.Value.typ
	if t == TypeText {
		// Typed by the property it meets: nothing to check against.
		return nil
	}
	if c.Op.ordering() && (t == TypeBool) {
		return fmt.Errorf("type mismatch: %s values have no order", t)
	}
	if t == TypeFloat64 && math.IsNaN(c.Value.f) {
		return fmt.Errorf("NaN compares with nothing")
	}
	if prev, ok := types[c.Property]; ok && prev != t {
		return fmt.Errorf("type mismatch: property used as %s and %s", prev, t)
	}
	types[c.Property] = t
	return nil
}

// Outcome is the result of evaluating one condition on a message.
type Outcome uint8

// Outcomes of a condition.
const (
	// Holds: the condition is true.
	Holds Outcome = iota
	// Missing: the property is not in the message's context.
	Missing
	// NotPromoted: the property is in the context but only written.
	NotPromoted
	// TypeMismatch: the property's value has another type than the
	// condition's.
	TypeMismatch
	// Fails: the comparison is false.
	Fails
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Holds:
		return "holds"
	case Missing:
		return "property missing"
	case NotPromoted:
		return "property not promoted"
	case TypeMismatch:
		return "type mismatch"
	case Fails:
		return "comparison false"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Eval evaluates c against a message's context.
func (c *Condition) Eval(context []Property) Outcome {
	var (
		v     Value
		found bool
	)
	for i := range context {
		if p := &context[i]; p.Name == c.Property {
			if !p.Promoted {
				return NotPromoted
			}
			v, found = p.Value, true
			break
		}
	}
	if !found {
		return Missing
	}
	if c.Op == OpExists {
		return Holds
	}
	want := c.Value
	if want.typ == TypeText && v.typ != TypeText {
		var ok bool
		if want, ok = Coerce(want.s, v.typ); !ok || (want.typ == TypeBool && c.Op.ordering()) {
			// Not a value of the property's type, or an order asked of
			// booleans (which Validate refuses for typed conditions).
			return TypeMismatch
		}
	}
	if v.typ != want.typ {
		return TypeMismatch
	}
	r, ok := Compare(v, want)
	var hold bool
	switch c.Op {
	case OpEqual:
		hold = ok && r == 0
	case OpNotEqual:
		hold = !ok || r != 0
	case OpLess:
		hold = ok && r < 0
	case OpLessEqual:
		hold = ok && r <= 0
	case OpGreater:
		hold = ok && r > 0
	case OpGreaterEqual:
		hold = ok && r >= 0
	}
	if hold {
		return Holds
	}
	return Fails
}

// Matches reports whether a message's context (its promoted properties)
// satisfies p.
func (p Predicate) Matches(context []Property) bool {
	for _, g := range p {
		if g.Matches(context) {
			return true
		}
	}
	return false
}

// Matches reports whether every condition of g holds on context.
func (g Group) Matches(context []Property) bool {
	for i := range g {
		if g[i].Eval(context) != Holds {
			return false
		}
	}
	return true
}
