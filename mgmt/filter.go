package mgmt

import (
	"fmt"

	"github.com/biztier/biztier/messagebox/predicate"
)

// Operator is a filter statement's operator, with the codes binding files
// use. It is the MessageBox's messagebox.Op.
type Operator = predicate.Op

// Filter operators.
const (
	OpEqual        = predicate.OpEqual
	OpLess         = predicate.OpLess
	OpLessEqual    = predicate.OpLessEqual
	OpGreater      = predicate.OpGreater
	OpGreaterEqual = predicate.OpGreaterEqual
	OpNotEqual     = predicate.OpNotEqual
	OpExists       = predicate.OpExists
)

// Value is a filter statement's value: the MessageBox's messagebox.Value.
// Filters read from binding files hold text (see Text); a typed value (for
// example messagebox.Int64) is kept as its literal text when stored.
type Value = predicate.Value

// Text returns a value as a binding file writes it: compared in the type of
// the property it meets, converted when the subscription is made if a
// property schema types the property.
func Text(s string) Value { return predicate.Text(s) }

// Statement is one predicate: a promoted property compared with a value.
// Property is the name as binding files write it, such as
// "BTS.ReceivePortName" (kept as written; the MessageBox resolves it to
// its canonical form); Value is unset for OpExists. It is the MessageBox's
// messagebox.Condition, so a filter needs no translation to become a
// subscription's predicate.
type Statement = predicate.Condition

// Group is an AND of statements.
type Group = predicate.Group

// Filter is a subscription predicate in BizTalk's form: an OR of groups,
// each an AND of statements. It is the MessageBox's messagebox.Predicate,
// with its Matches as the one evaluation (there is no second reference
// implementation to disagree with it). The zero Filter (no groups)
// matches nothing and, on a send port, means "no filter".
type Filter = predicate.Predicate

// validateFilter checks f as the MessageBox would when it becomes a
// subscription, allowing the empty filter ("no filter").
func validateFilter(f Filter) error {
	if len(f) == 0 {
		return nil
	}
	if err := f.Validate(); err != nil {
		return fmt.Errorf("%w: filter: %w", ErrInvalid, err)
	}
	return nil
}
