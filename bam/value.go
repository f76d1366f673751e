package bam

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Value is a checkpoint's value in an activity instance: a time for a
// milestone, a string, an integer or a number. The zero Value is unset.
type Value struct {
	typ DataType
	t   time.Time
	s   string // NVARCHAR, and DECIMAL in its canonical decimal text
	i   int64
	f   float64
}

// Type is the value's checkpoint type; "" for an unset Value.
func (v Value) Type() DataType { return v.typ }

// IsSet reports whether the value is set.
func (v Value) IsSet() bool { return v.typ != "" }

// Time is a DATETIME value (UTC); the zero time otherwise.
func (v Value) Time() time.Time { return v.t }

// Int is an INT value; 0 otherwise.
func (v Value) Int() int64 { return v.i }

// Float is the value as a number: a FLOAT, an INT, a DECIMAL; NaN for
// others.
func (v Value) Float() float64 {
	switch v.typ {
	case Float:
		return v.f
	case Int:
		return float64(v.i)
	case Decimal:
		f, _ := strconv.ParseFloat(v.s, 64)
		return f
	}
	return math.NaN()
}

// String is the value as text: the NVARCHAR itself, a DECIMAL's digits,
// a number in Go's shortest form, a time in RFC 3339 with nanoseconds.
func (v Value) String() string {
	switch v.typ {
	case NVarChar, Decimal:
		return v.s
	case Int:
		return strconv.FormatInt(v.i, 10)
	case Float:
		return strconv.FormatFloat(v.f, 'g', -1, 64)
	case DateTime:
		return v.t.Format(time.RFC3339Nano)
	}
	return ""
}

// Any is the value as a Go value: time.Time, string, int64 or float64
// (a DECIMAL as its text); nil when unset.
func (v Value) Any() any {
	switch v.typ {
	case DateTime:
		return v.t
	case NVarChar, Decimal:
		return v.s
	case Int:
		return v.i
	case Float:
		return v.f
	}
	return nil
}

// Equal reports whether two values are the same.
func (v Value) Equal(o Value) bool {
	return v.typ == o.typ && v.t.Equal(o.t) && v.s == o.s && v.i == o.i &&
		(v.f == o.f || (math.IsNaN(v.f) && math.IsNaN(o.f)))
}

// TimeValue, StringValue, IntValue, FloatValue and DecimalValue make
// Values, for queries and tests.
func TimeValue(t time.Time) Value { return Value{typ: DateTime, t: t.UTC()} }

// StringValue is an NVARCHAR Value.
func StringValue(s string) Value { return Value{typ: NVarChar, s: s} }

// IntValue is an INT Value.
func IntValue(i int64) Value { return Value{typ: Int, i: i} }

// FloatValue is a FLOAT Value.
func FloatValue(f float64) Value { return Value{typ: Float, f: f} }

// DecimalValue is a DECIMAL Value from its text; an error unless s is a
// decimal number.
func DecimalValue(s string) (Value, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok || strings.ContainsAny(s, "/eE") {
		return Value{}, fmt.Errorf("%q is not a decimal number", s)
	}
	return Value{typ: Decimal, s: ratText(r)}, nil
}

func ratText(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	// Shortest exact text: a decimal always has a finite expansion when
	// it came from decimal text.
	for p := 1; p <= 64; p++ {
		s := r.FloatString(p)
		if back, ok := new(big.Rat).SetString(s); ok && back.Cmp(r) == 0 {
			return s
		}
	}
	return r.FloatString(64)
}

// coerce turns a Go value given for checkpoint cp into a Value, as
// UpdateActivity's parameters: DATETIME takes time.Time; NVARCHAR a string
// (or fmt.Stringer) of at most Length characters; INT any Go integer in
// the INT range; FLOAT any Go number; DECIMAL a decimal string or any Go
// number. A Value of the checkpoint's type is taken as is.
func coerce(cp *Checkpoint, x any) (Value, error) {
	if v, ok := x.(Value); ok {
		if v.typ != cp.Type {
			return Value{}, fmt.Errorf("%w: a %s value given for a checkpoint of type %s", ErrType, v.typ, cp.Type)
		}
		if cp.Type == NVarChar && utf8.RuneCountInString(v.s) > cp.Length {
			return Value{}, fmt.Errorf("%w: %d characters, at most %d", ErrType, utf8.RuneCountInString(v.s), cp.Length)
		}
		return v, nil
	}
	wrong := func() (Value, error) {
		return Value{}, fmt.Errorf("%w: %T given for a checkpoint of type %s", ErrType, x, cp.Type)
	}
	switch cp.Type {
	case DateTime:
		t, ok := x.(time.Time)
		if !ok {
			return wrong()
		}
		return TimeValue(t), nil
	case NVarChar:
		var s string
		switch v := x.(type) {
		case string:
			s = v
		case fmt.Stringer:
			s = v.String()
		default:
			return wrong()
		}
		if n := utf8.RuneCountInString(s); n > cp.Length {
			return Value{}, fmt.Errorf("%w: %d characters, at most %d", ErrType, n, cp.Length)
		}
		return StringValue(s), nil
	case Int:
		i, ok := asInt(x)
		if !ok {
			return wrong()
		}
		if i < math.MinInt32 || i > math.MaxInt32 {
			return Value{}, fmt.Errorf("%w: %d is outside INT's range", ErrType, i)
		}
		return IntValue(i), nil
	case Float:
		if f, ok := asFloat(x); ok {
			return FloatValue(f), nil
		}
		return wrong()
	case Decimal:
		switch v := x.(type) {
		case string:
			d, err := DecimalValue(v)
			if err != nil {
				return Value{}, fmt.Errorf("%w: %v", ErrType, err)
			}
			return d, nil
		}
		if i, ok := asInt(x); ok {
			return Value{typ: Decimal, s: strconv.FormatInt(i, 10)}, nil
		}
		if f, ok := asFloat(x); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
			return DecimalValue(strconv.FormatFloat(f, 'f', -1, 64))
		}
		return wrong()
	}
	return wrong()
}

func asInt(x any) (int64, bool) {
	switch v := x.(type) {
	case int:
		return int64(v), true
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint:
		if uint64(v) <= math.MaxInt64 {
			return int64(v), true
		}
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
	}
	return 0, false
}

func asFloat(x any) (float64, bool) {
	switch v := x.(type) {
	case float64:
		return v, true
	case float32:
		return float64(v), true
	}
	if i, ok := asInt(x); ok {
		return float64(i), true
	}
	return 0, false
}

// compare orders two values of one type: -1, 0 or 1.
func compare(a, b Value) int {
	switch a.typ {
	case DateTime:
		return a.t.Compare(b.t)
	case NVarChar:
		return strings.Compare(a.s, b.s)
	case Int:
		return cmpNum(float64(a.i), float64(b.i))
	}
	return cmpNum(a.Float(), b.Float())
}

func cmpNum(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
