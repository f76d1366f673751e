package messagebox

import (
	"time"

	"github.com/biztier/biztier/messagebox/predicate"
)

// Type is the type of a context property value. Comparisons are typed: a
// condition only matches a property value of its own type, except a text
// value (TypeText), which takes the type of the property it meets.
type Type = predicate.Type

// Property value types. Their numbers are stored and never change.
const (
	TypeString  = predicate.TypeString  // Unicode string, compared bytewise
	TypeInt64   = predicate.TypeInt64   // signed 64-bit integer
	TypeFloat64 = predicate.TypeFloat64 // IEEE 754 double; NaN equals and orders with nothing
	TypeBool    = predicate.TypeBool    // false orders before true
	TypeTime    = predicate.TypeTime    // instant, nanosecond precision, no location
	TypeDecimal = predicate.TypeDecimal // exact decimal written as text; "1.50" equals "1.5"
	TypeBytes   = predicate.TypeBytes   // byte string, compared bytewise
	TypeText    = predicate.TypeText    // a filter's value as written, typed by its property
)

// Value is a typed context property value. The zero Value is unset and is
// refused wherever a value is required. Values are immutable and
// comparable with ==, which is representation equality (use Compare for
// typed equality: Decimal("1.0") and Decimal("1") are equal by Compare).
type Value = predicate.Value

// String returns a string value.
func String(s string) Value { return predicate.String(s) }

// Int64 returns an integer value.
func Int64(n int64) Value { return predicate.Int64(n) }

// Float64 returns a floating-point value.
func Float64(f float64) Value { return predicate.Float64(f) }

// Bool returns a boolean value.
func Bool(b bool) Value { return predicate.Bool(b) }

// Time returns a time value. Only the instant is kept, to the nanosecond,
// clamped to the years 1678..2262.
func Time(t time.Time) Value { return predicate.Time(t) }

// Decimal returns a decimal value from its text, such as "-12.50". Text that
// is not a decimal number makes a value that Publish and Subscribe refuse.
func Decimal(s string) Value { return predicate.Decimal(s) }

// Bytes returns a byte-string value holding a copy of b.
func Bytes(b []byte) Value { return predicate.Bytes(b) }

// Text returns a condition value as a binding file writes it: compared in
// the type of the property it meets (converted when the subscription is
// made if a property schema gives the type, else in the type of each
// message's value). Only conditions hold text; a message property cannot.
func Text(s string) Value { return predicate.Text(s) }

// Compare compares two values of the same type. ok is false when the types
// differ, when either is unset or an invalid decimal, or when either is a
// NaN: such values are neither equal nor ordered.
func Compare(a, b Value) (c int, ok bool) { return predicate.Compare(a, b) }

// Property is a context property, named "namespace#name" (see
// CanonicalName for the short "BTS.MessageType" form). Only promoted
// properties are seen by subscriptions.
type Property = predicate.Property

// CanonicalName returns the canonical "namespace#name" form of a property
// name: the short prefix of a BizTalk built-in property schema ("BTS.",
// "FILE.", "ErrorReport.", ...) becomes its namespace; other names are
// unchanged. The MessageBox stores and matches canonical names, so
// "BTS.MessageType" and
// "http://schemas.microsoft.com/BizTalk/2003/system-properties#MessageType"
// are one property in messages, subscriptions, Explain and tracking.
func CanonicalName(name string) string { return predicate.Canonical(name) }

// PropertySchema declares a context property's type, as a deployed
// property schema does. A filter's text values on that property are
// converted to the type when the subscription is made.
type PropertySchema = predicate.Schema

// Op is a comparison operator of a subscription condition. The values are
// the operator codes of BizTalk binding files (<Statement Operator="n">).
type Op = predicate.Op

// Operators. A condition on a property missing from the message's
// promoted context is false for every operator, OpExists included.
const (
	OpEqual        = predicate.OpEqual        // ==
	OpLess         = predicate.OpLess         // <
	OpLessEqual    = predicate.OpLessEqual    // <=
	OpGreater      = predicate.OpGreater      // >
	OpGreaterEqual = predicate.OpGreaterEqual // >=
	OpNotEqual     = predicate.OpNotEqual     // != : the property is present, of the condition's type, and not equal
	OpExists       = predicate.OpExists       // exists: the property is promoted; the condition has no value
)

// Condition is one `property op value` test of a subscription.
type Condition = predicate.Condition

// Group is an AND of conditions.
type Group = predicate.Group

// Predicate is an OR of AND-groups (disjunctive normal form, as BizTalk
// filters are written). It is the same type as mgmt.Filter.
type Predicate = predicate.Predicate

// Cond returns the condition `property op value`.
func Cond(property string, op Op, v Value) Condition { return predicate.Cond(property, op, v) }

// Eq returns the condition `property == v`.
func Eq(property string, v Value) Condition { return predicate.Eq(property, v) }

// Exists returns the condition `property exists`.
func Exists(property string) Condition { return predicate.Exists(property) }

// And returns a group of conditions that must all hold.
func And(conds ...Condition) Group { return predicate.And(conds...) }

// Or returns a predicate that holds when any group holds.
func Or(groups ...Group) Predicate { return predicate.Or(groups...) }

// Outcome is the result of evaluating one condition on a message.
type Outcome = predicate.Outcome

// Outcomes of a condition.
const (
	Holds        = predicate.Holds        // the condition is true
	Missing      = predicate.Missing      // the property is not in the message's context
	NotPromoted  = predicate.NotPromoted  // the property is in the context but only written
	TypeMismatch = predicate.TypeMismatch // the value's type is not the condition's (or its text does not convert)
	Fails        = predicate.Fails        // the comparison is false
)
