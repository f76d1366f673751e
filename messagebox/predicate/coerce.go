package predicate

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Coerce converts text, as a filter writes it, to a value of type t, the
// way BizTalk converts a filter value to its property's type: integers
// accept a decimal and round it half away from zero ("9.5" is 10),
// booleans accept true/false in any case and 1/0, times accept
// xs:dateTime (without a zone it is UTC) and xs:date. ok is false when
// text is not a value of t.
func Coerce(text string, t Type) (Value, bool) {
	s := strings.TrimSpace(text)
	switch t {
	case TypeString:
		return String(text), true
	case TypeText:
		return Text(text), true
	case TypeBytes:
		return Bytes([]byte(text)), true
	case TypeInt64:
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return Int64(n), true
		}
		r, ok := parseDecimal(s)
		if !ok {
			return Value{}, false
		}
		return roundToInt64(r)
	case TypeFloat64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return Value{}, false
		}
		return Float64(f), true
	case TypeDecimal:
		if _, ok := parseDecimal(s); !ok {
			return Value{}, false
		}
		return Decimal(s), true
	case TypeBool:
		switch strings.ToLower(s) {
		case "true", "1":
			return Bool(true), true
		case "false", "0":
			return Bool(false), true
		}
		return Value{}, false
	case TypeTime:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"} {
			if tm, err := time.Parse(layout, s); err == nil {
				return Time(tm), true
			}
		}
		return Value{}, false
	}
	return Value{}, false
}

// roundToInt64 rounds r half away from zero; ok is false out of range.
func roundToInt64(r *big.Rat) (Value, bool) {
	half := big.NewRat(1, 2)
	if r.Sign() < 0 {
		half.Neg(half)
	}
	x := new(big.Rat).Add(r, half)
	q := new(big.Int).Quo(x.Num(), x.Denom()) // truncates toward zero
	if !q.IsInt64() {
		return Value{}, false
	}
	return Int64(q.Int64()), true
}

// Literal returns v as a filter writes it: the text of a string, decimal
// or text value, an integer's digits, a float in the shortest form that
// reads back equal, "True"/"False" as BizTalk writes booleans, an instant
// in RFC 3339 (UTC), a byte string's bytes. The zero Value is "".
func (v Value) Literal() string {
	switch v.typ {
	case TypeString, TypeDecimal, TypeText, TypeBytes:
		return v.s
	case TypeInt64:
		return strconv.FormatInt(v.n, 10)
	case TypeFloat64:
		if math.IsInf(v.f, 0) || math.IsNaN(v.f) {
			return strconv.FormatFloat(v.f, 'g', -1, 64)
		}
		return strconv.FormatFloat(v.f, 'f', -1, 64)
	case TypeBool:
		if v.n == 1 {
			return "True"
		}
		return "False"
	case TypeTime:
		return v.Time().Format(time.RFC3339Nano)
	}
	return ""
}
