// Package predicate is the one vocabulary of BizTalk subscription
// predicates (filters) that the MessageBox, Management and binding files
// share: typed context property values, context properties and their
// canonical names, conditions grouped in disjunctive normal form, and their
// evaluation. Package messagebox and mgmt re-export its types under their
// own names (messagebox.Predicate and mgmt.Filter are the same type), so
// nothing translates between two copies. It imports nothing of the group:
// Management depends on it without depending on the MessageBox.
package predicate

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Type is the type of a context property value. Comparisons are typed: a
// condition only matches a property value of its own type.
type Type uint8

// Property value types. Their numbers are stored and never change.
const (
	// TypeString is a Unicode string, compared bytewise.
	TypeString Type = 1
	// TypeInt64 is a signed 64-bit integer.
	TypeInt64 Type = 2
	// TypeFloat64 is an IEEE 754 double. NaN equals nothing and orders
	// with nothing.
	TypeFloat64 Type = 3
	// TypeBool is a boolean; false orders before true.
	TypeBool Type = 4
	// TypeTime is an instant with nanosecond precision; the location is
	// not kept.
	TypeTime Type = 5
	// TypeDecimal is an exact decimal number written as text (xs:decimal),
	// compared by numeric value, so "1.50" equals "1.5".
	TypeDecimal Type = 6
	// TypeBytes is a byte string, compared bytewise.
	TypeBytes Type = 7
	// TypeText is a condition value as a binding file or an orchestration
	// filter writes it: text whose type is that of the property it meets.
	// A condition holding text is compared in the promoted value's type
	// (the text "100" against Int64(250) is 100 < 250; against String("99")
	// it is "100" < "99"), and Subscribe converts it to the property's type
	// at once when a property schema gives one. Message properties never
	// hold text values.
	TypeText Type = 8
)

func (t Type) valid() bool { return t >= TypeString && t <= TypeText }

// String returns the type's name, such as "int64".
func (t Type) String() string {
	switch t {
	case TypeString:
		return "string"
	case TypeInt64:
		return "int64"
	case TypeFloat64:
		return "float64"
	case TypeBool:
		return "bool"
	case TypeTime:
		return "time"
	case TypeDecimal:
		return "decimal"
	case TypeBytes:
		return "bytes"
	case TypeText:
		return "text"
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Value is a typed context property value. The zero Value is unset and is
// refused wherever a value is required. Values are immutable and
// comparable with ==, which is representation equality (use Compare for
// typed equality: Decimal("1.0") and Decimal("1") are equal by Compare).
type Value struct {
	typ Type
	s   string  // String, Decimal, Bytes, Text
	n   int64   // Int64, Bool (0 or 1), Time (UnixNano)
	f   float64 // Float64
}

// String returns a string value.
func String(s string) Value { return Value{typ: TypeString, s: s} }

// Int64 returns an integer value.
func Int64(n int64) Value { return Value{typ: TypeInt64, n: n} }

// Float64 returns a floating-point value.
func Float64(f float64) Value { return Value{typ: TypeFloat64, f: f} }

// Bool returns a boolean value.
func Bool(b bool) Value {
	var n int64
	if b {
		n = 1
	}
	return Value{typ: TypeBool, n: n}
}

// Time returns a time value. Only the instant is kept, to the nanosecond,
// clamped to the years 1678..2262.
func Time(t time.Time) Value { return Value{typ: TypeTime, n: clampNanos(t)} }

// Decimal returns a decimal value from its text, such as "-12.50". Text that
// is not a decimal number makes a value that Publish and Subscribe refuse.
func Decimal(s string) Value { return Value{typ: TypeDecimal, s: s} }

// Bytes returns a byte-string value holding a copy of b.
func Bytes(b []byte) Value { return Value{typ: TypeBytes, s: string(b)} }

// Text returns a condition value as written in a filter, typed by the
// property it is compared with (see TypeText).
func Text(s string) Value { return Value{typ: TypeText, s: s} }

// Type returns the value's type, 0 for the zero Value.
func (v Value) Type() Type { return v.typ }

// IsZero reports whether v is the unset zero Value.
func (v Value) IsZero() bool { return v.typ == 0 }

// Str returns the text of a string, decimal or text value, "" otherwise.
func (v Value) Str() string {
	if v.typ == TypeString || v.typ == TypeDecimal || v.typ == TypeText {
		return v.s
	}
	return ""
}

// Int64 returns an integer value's number, 0 otherwise.
func (v Value) Int64() int64 {
	if v.typ == TypeInt64 {
		return v.n
	}
	return 0
}

// Float64 returns a floating-point value's number, 0 otherwise.
func (v Value) Float64() float64 { return v.f }

// Bool returns a boolean value's truth, false otherwise.
func (v Value) Bool() bool { return v.typ == TypeBool && v.n == 1 }

// Time returns a time value's instant in UTC, the zero Time otherwise.
func (v Value) Time() time.Time {
	if v.typ != TypeTime {
		return time.Time{}
	}
	return time.Unix(0, v.n).UTC()
}

// Bytes returns a copy of a byte-string value, nil otherwise.
func (v Value) Bytes() []byte {
	if v.typ != TypeBytes {
		return nil
	}
	return []byte(v.s)
}

// String formats v for messages and diagnostics, such as `int64(42)`.
func (v Value) String() string {
	switch v.typ {
	case TypeString:
		return strconv.Quote(v.s)
	case TypeInt64:
		return "int64(" + strconv.FormatInt(v.n, 10) + ")"
	case TypeFloat64:
		return "float64(" + strconv.FormatFloat(v.f, 'g', -1, 64) + ")"
	case TypeBool:
		return "bool(" + strconv.FormatBool(v.n == 1) + ")"
	case TypeTime:
		return "time(" + v.Time().Format(time.RFC3339Nano) + ")"
	case TypeDecimal:
		return "decimal(" + v.s + ")"
	case TypeBytes:
		return fmt.Sprintf("bytes(%x)", v.s)
	case TypeText:
		// As a filter writes it: quoted, typed by the property it meets.
		return strconv.Quote(v.s)
	}
	return "unset"
}

// Length is the size that the promoted-property limit applies to:
// characters of text, bytes of a byte string.
func (v Value) Length() int {
	switch v.typ {
	case TypeString, TypeDecimal, TypeText:
		return len([]rune(v.s))
	case TypeBytes:
		return len(v.s)
	}
	return 0
}

// Check reports why v cannot be stored, or nil.
func (v Value) Check() error {
	switch {
	case !v.typ.valid():
		return fmt.Errorf("unset value")
	case v.typ == TypeDecimal:
		if _, ok := parseDecimal(v.s); !ok {
			return fmt.Errorf("decimal %q is not a number", v.s)
		}
	}
	return nil
}

func clampNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// parseDecimal parses xs:decimal-style text: an optional sign, digits and
// an optional fraction. No exponent, no fraction-slash (big.Rat's SetString
// accepts both, so they are refused here first).
func parseDecimal(s string) (*big.Rat, bool) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if t == "" || t == "." {
		return nil, false
	}
	dot := false
	for _, c := range t {
		switch {
		case c == '.' && !dot:
			dot = true
		case c >= '0' && c <= '9':
		default:
			return nil, false
		}
	}
	r, ok := new(big.Rat).SetString(s)
	return r, ok
}

// Compare compares two values of the same type. ok is false when the types
// differ, when either is unset or an invalid decimal, or when either is a
// NaN: such values are neither equal nor ordered. A text value compares
// with another text value as text; to compare it with a typed value, Coerce
// it first.
func Compare(a, b Value) (c int, ok bool) {
	if a.typ != b.typ || !a.typ.valid() {
		return 0, false
	}
	switch a.typ {
	case TypeString, TypeBytes, TypeText:
		return strings.Compare(a.s, b.s), true
	case TypeInt64, TypeBool, TypeTime:
		return cmp.Compare(a.n, b.n), true
	case TypeFloat64:
		if math.IsNaN(a.f) || math.IsNaN(b.f) {
			return 0, false
		}
		return cmp.Compare(a.f, b.f), true
	case TypeDecimal:
		x, ok1 := parseDecimal(a.s)
		y, ok2 := parseDecimal(b.s)
		if !ok1 || !ok2 {
			return 0, false
		}
		return x.Cmp(y), true
	}
	return 0, false
}

// IndexKey appends a canonical encoding of v to dst such that two values
// have equal keys exactly when Compare finds them equal. ok is false for
// values equal to nothing (NaN, invalid decimals) and for text, whose type
// is not known until it meets a property.
func (v Value) IndexKey(dst []byte) ([]byte, bool) {
	dst = append(dst, byte(v.typ))
	switch v.typ {
	case TypeString, TypeBytes:
		return append(dst, v.s...), true
	case TypeInt64, TypeBool, TypeTime:
		return binary.BigEndian.AppendUint64(dst, uint64(v.n)), true
	case TypeFloat64:
		if math.IsNaN(v.f) {
			return dst, false
		}
		f := v.f
		if f == 0 {
			f = 0 // -0 equals 0
		}
		return binary.BigEndian.AppendUint64(dst, math.Float64bits(f)), true
	case TypeDecimal:
		r, ok := parseDecimal(v.s)
		if !ok {
			return dst, false
		}
		return append(dst, r.RatString()...), true
	}
	return dst, false
}
