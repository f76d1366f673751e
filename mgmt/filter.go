package mgmt

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Operator is a filter statement's operator, with the codes binding files
// use.
type Operator uint8

// Filter operators.
const (
	OpEqual        Operator = 0
	OpLess         Operator = 1
	OpLessEqual    Operator = 2
	OpGreater      Operator = 3
	OpGreaterEqual Operator = 4
	OpNotEqual     Operator = 5
	OpExists       Operator = 6
)

var opSymbols = [...]string{"==", "<", "<=", ">", ">=", "!=", "exists"}

// Valid reports whether op is one of the seven operators.
func (op Operator) Valid() bool { return op <= OpExists }

// String returns the operator's symbol, such as "==" or "exists".
func (op Operator) String() string {
	if op.Valid() {
		return opSymbols[op]
	}
	return "Operator(" + strconv.Itoa(int(op)) + ")"
}

// Statement is one predicate: a promoted property compared with a value.
// Property is the name as binding files write it, such as
// "BTS.ReceivePortName" (property schema type and property name); Value is
// the text of the value, unused by OpExists.
type Statement struct {
	Property string
	Operator Operator
	Value    string
}

// String renders the statement as "Property op Value".
func (s Statement) String() string {
	if s.Operator == OpExists {
		return s.Property + " exists"
	}
	return s.Property + " " + s.Operator.String() + " " + strconv.Quote(s.Value)
}

// Group is an AND of statements.
type Group []Statement

// Filter is a subscription predicate in BizTalk's form: an OR of groups,
// each an AND of statements. The zero Filter (no groups) matches nothing
// and, on a send port, means "no filter".
type Filter []Group

// Clone returns a deep copy of f.
func (f Filter) Clone() Filter {
	if f == nil {
		return nil
	}
	c := make(Filter, len(f))
	for i, g := range f {
		c[i] = slices.Clone(g)
	}
	return c
}

// Equal reports whether f and g have the same groups and statements in the
// same order.
func (f Filter) Equal(g Filter) bool {
	return slices.EqualFunc(f, g, func(a, b Group) bool { return slices.Equal(a, b) })
}

// String renders f as "(a == "x" AND b exists) OR (...)".
func (f Filter) String() string {
	var sb strings.Builder
	for i, g := range f {
		if i > 0 {
			sb.WriteString(" OR ")
		}
		sb.WriteByte('(')
		for j, s := range g {
			if j > 0 {
				sb.WriteString(" AND ")
			}
			sb.WriteString(s.String())
		}
		sb.WriteByte(')')
	}
	return sb.String()
}

// Validate checks that every group has statements, every statement a
// property and a known operator.
func (f Filter) Validate() error {
	for i, g := range f {
		if len(g) == 0 {
			return fmt.Errorf("%w: filter group %d is empty", ErrInvalid, i+1)
		}
		for j, s := range g {
			if s.Property == "" {
				return fmt.Errorf("%w: filter group %d statement %d has no property", ErrInvalid, i+1, j+1)
			}
			if !s.Operator.Valid() {
				return fmt.Errorf("%w: filter group %d statement %d: unknown operator %d", ErrInvalid, i+1, j+1, s.Operator)
			}
		}
	}
	return nil
}

// And returns f with every group extended by the statements of extra. An
// empty f gives one group of extra alone.
func (f Filter) And(extra ...Statement) Filter {
	if len(f) == 0 {
		if len(extra) == 0 {
			return nil
		}
		return Filter{slices.Clone(Group(extra))}
	}
	out := make(Filter, len(f))
	for i, g := range f {
		out[i] = append(slices.Clone(extra), g...)
	}
	return out
}

// Match evaluates f against properties given as text, keyed as Statement
// Property is. Values compare as numbers when both sides parse as numbers
// and as strings otherwise. It is a plain reference evaluation for tests and
// tools; the MessageBox evaluates typed values itself.
func (f Filter) Match(props map[string]string) bool {
	for _, g := range f {
		ok := true
		for _, s := range g {
			if !s.Match(props) {
				ok = false
				break
			}
		}
		if ok && len(g) > 0 {
			return true
		}
	}
	return false
}

// Match evaluates one statement as Filter.Match does.
func (s Statement) Match(props map[string]string) bool {
	v, ok := props[s.Property]
	if !ok {
		return false
	}
	if s.Operator == OpExists {
		return true
	}
	var c int
	a, aerr := strconv.ParseFloat(v, 64)
	b, berr := strconv.ParseFloat(s.Value, 64)
	if aerr == nil && berr == nil {
		switch {
		case a < b:
			c = -1
		case a > b:
			c = 1
		}
	} else {
		c = strings.Compare(v, s.Value)
	}
	switch s.Operator {
	case OpEqual:
		return c == 0
	case OpLess:
		return c < 0
	case OpLessEqual:
		return c <= 0
	case OpGreater:
		return c > 0
	case OpGreaterEqual:
		return c >= 0
	case OpNotEqual:
		return c != 0
	}
	return false
}
