package rules

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/biztier/biztier/rules/brl"
)

// kind is the type of a value as the engine compares it. BRL's integer
// types (int, long, short, byte, ...) are kInt; decimal, double and float
// are kFloat.
type kind uint8

const (
	kNull kind = iota
	kString
	kInt
	kFloat
	kBool
	kTime
	kDuration
	kObject // any other Go value: a fact object, an enum, a struct
)

// value is one term's result. Only the field of its kind is meaningful.
type value struct {
	k kind
	s string
	i int64
	f float64
	b bool
	t time.Time
	o any
}

func (v value) String() string {
	switch v.k {
	case kString:
		return v.s
	case kInt:
		return strconv.FormatInt(v.i, 10)
	case kFloat:
		return strconv.FormatFloat(v.f, 'f', -1, 64)
	case kBool:
		return strconv.FormatBool(v.b)
	case kTime:
		return v.t.Format(time.RFC3339Nano)
	case kDuration:
		return v.t.Sub(time.Time{}).String()
	case kObject:
		return fmt.Sprint(v.o)
	}
	return ""
}

// literal converts a checked BRL literal of type typ.
func literal(typ, text string) (value, error) {
	if err := brl.CheckLiteral(typ, text); err != nil {
		return value{}, err
	}
	t := strings.TrimSpace(text)
	switch typ {
	case "string":
		return value{k: kString, s: text}, nil
	case "char":
		return value{k: kString, s: text}, nil
	case "null":
		return value{}, nil
	case "int", "long", "short", "sbyte":
		n, _ := strconv.ParseInt(t, 10, 64)
		return value{k: kInt, i: n}, nil
	case "uint", "ulong", "ushort", "byte":
		n, _ := strconv.ParseUint(t, 10, 64)
		if n > math.MaxInt64 {
			return value{k: kFloat, f: float64(n)}, nil
		}
		return value{k: kInt, i: int64(n)}, nil
	case "decimal", "double", "float":
		f, _ := strconv.ParseFloat(t, 64)
		return value{k: kFloat, f: f}, nil
	case "boolean":
		return value{k: kBool, b: strings.EqualFold(t, "true")}, nil
	case "datetime":
		tm, _ := brl.ParseTime(t)
		return value{k: kTime, t: tm}, nil
	case "timespan":
		d, _ := brl.ParseTimeSpan(t)
		return value{k: kDuration, t: time.Time{}.Add(d)}, nil
	}
	return value{}, fmt.Errorf("unknown constant type %q", typ)
}

// convert turns text read from an XML field or a column into the member's
// declared BRL type. An empty type keeps the text.
func convert(typ, text string) (value, error) {
	switch strings.ToLower(typ) {
	case "", "string", "char", "system.string":
		return value{k: kString, s: text}, nil
	case "int", "long", "short", "sbyte", "uint", "ulong", "ushort", "byte",
		"system.int32", "system.int64", "system.int16":
		n, err := strconv.ParseInt(strings.TrimSpace(text), 10, 64)
		if err != nil {
			// XML integers may be written with a fraction of zero.
			f, ferr := strconv.ParseFloat(strings.TrimSpace(text), 64)
			if ferr != nil || f != math.Trunc(f) {
				return value{}, fmt.Errorf("%q is not an integer", text)
			}
			return value{k: kInt, i: int64(f)}, nil
		}
		return value{k: kInt, i: n}, nil
	case "decimal", "double", "float", "single", "system.decimal", "system.double":
		f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
		if err != nil {
			return value{}, fmt.Errorf("%q is not a number", text)
		}
		return value{k: kFloat, f: f}, nil
	case "boolean", "bool", "system.boolean":
		switch strings.TrimSpace(text) {
		case "true", "True", "1":
			return value{k: kBool, b: true}, nil
		case "false", "False", "0":
			return value{k: kBool, b: false}, nil
		}
		return value{}, fmt.Errorf("%q is not a boolean", text)
	case "datetime", "system.datetime":
		tm, ok := brl.ParseTime(strings.TrimSpace(text))
		if !ok {
			return value{}, fmt.Errorf("%q is not a date and time", text)
		}
		return value{k: kTime, t: tm}, nil
	}
	return value{k: kString, s: text}, nil
}

// fromGo converts a Go value read from a fact.
func fromGo(v reflect.Value) value {
	if !v.IsValid() {
		return value{}
	}
	switch v.Kind() {
	case reflect.String:
		return value{k: kString, s: v.String()}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if v.Type() == reflect.TypeFor[time.Duration]() {
			return value{k: kDuration, t: time.Time{}.Add(time.Duration(v.Int()))}
		}
		return value{k: kInt, i: v.Int()}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := v.Uint()
		if u > math.MaxInt64 {
			return value{k: kFloat, f: float64(u)}
		}
		return value{k: kInt, i: int64(u)}
	case reflect.Float32, reflect.Float64:
		return value{k: kFloat, f: v.Float()}
	case reflect.Bool:
		return value{k: kBool, b: v.Bool()}
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		if v.IsNil() {
			return value{}
		}
	}
	if t, ok := v.Interface().(time.Time); ok {
		return value{k: kTime, t: t}
	}
	return value{k: kObject, o: v.Interface()}
}

// toGo converts v for a parameter or field of type t.
func toGo(v value, t reflect.Type) (reflect.Value, error) {
	bad := func() (reflect.Value, error) {
		return reflect.Value{}, fmt.Errorf("cannot use %q as %s", v.String(), t)
	}
	if v.k == kNull {
		switch t.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
			return reflect.Zero(t), nil
		}
		return bad()
	}
	if v.k == kObject {
		rv := reflect.ValueOf(v.o)
		if rv.Type().AssignableTo(t) {
			return rv, nil
		}
		if rv.Type().ConvertibleTo(t) {
			return rv.Convert(t), nil
		}
		return bad()
	}
	if t == reflect.TypeFor[time.Time]() && v.k == kTime {
		return reflect.ValueOf(v.t), nil
	}
	if t == reflect.TypeFor[time.Duration]() && v.k == kDuration {
		return reflect.ValueOf(v.t.Sub(time.Time{})), nil
	}
	out := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.String:
		out.SetString(v.String())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.asInt()
		if !ok || out.OverflowInt(n) {
			return bad()
		}
		out.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.asInt()
		if !ok || n < 0 || out.OverflowUint(uint64(n)) {
			return bad()
		}
		out.SetUint(uint64(n))
	case reflect.Float32, reflect.Float64:
		f, ok := v.asFloat()
		if !ok {
			return bad()
		}
		out.SetFloat(f)
	case reflect.Bool:
		if v.k != kBool {
			return bad()
		}
		out.SetBool(v.b)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return bad()
		}
		out.Set(reflect.ValueOf(v.goValue()))
	default:
		return bad()
	}
	return out, nil
}

func (v value) goValue() any {
	switch v.k {
	case kString:
		return v.s
	case kInt:
		return v.i
	case kFloat:
		return v.f
	case kBool:
		return v.b
	case kTime:
		return v.t
	case kDuration:
		return v.t.Sub(time.Time{})
	case kObject:
		return v.o
	}
	return nil
}

func (v value) asInt() (int64, bool) {
	switch v.k {
	case kInt:
		return v.i, true
	case kFloat:
		if v.f == math.Trunc(v.f) && math.Abs(v.f) < 1<<63 {
			return int64(v.f), true
		}
	case kString:
		n, err := strconv.ParseInt(strings.TrimSpace(v.s), 10, 64)
		return n, err == nil
	}
	return 0, false
}

func (v value) asFloat() (float64, bool) {
	switch v.k {
	case kInt:
		return float64(v.i), true
	case kFloat:
		return v.f, true
	case kString:
		f, err := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
		return f, err == nil
	}
	return 0, false
}

func numeric(k kind) bool { return k == kInt || k == kFloat }

// compare orders a and b: -1, 0 or 1, and false when they cannot be
// compared (different kinds that do not convert, or a null). Numbers
// compare by value whatever their BRL type; a string compared with a
// number is read as a number; strings compare ordinally, as .NET's
// String.CompareOrdinal.
func compare(a, b value) (int, bool) {
	if a.k == kNull || b.k == kNull {
		return 0, false
	}
	if a.k == kInt && b.k == kInt {
		return cmp3(a.i < b.i, a.i > b.i), true
	}
	if numeric(a.k) || numeric(b.k) {
		x, ok1 := a.asFloat()
		y, ok2 := b.asFloat()
		if !ok1 || !ok2 || math.IsNaN(x) || math.IsNaN(y) {
			return 0, false
		}
		return cmp3(x < y, x > y), true
	}
	if a.k != b.k {
		if a.k == kString && b.k == kBool || a.k == kBool && b.k == kString {
			s, bv := a, b
			if a.k == kBool {
				s, bv = b, a
			}
			c, err := convert("boolean", s.s)
			if err != nil {
				return 0, false
			}
			if c.b == bv.b {
				return 0, true
			}
			return 1, true
		}
		return 0, false
	}
	switch a.k {
	case kString:
		return strings.Compare(a.s, b.s), true
	case kBool:
		if a.b == b.b {
			return 0, true
		}
		return cmp3(!a.b, a.b), true
	case kTime, kDuration:
		return a.t.Compare(b.t), true
	case kObject:
		if reflect.TypeOf(a.o) == reflect.TypeOf(b.o) && reflect.TypeOf(a.o).Comparable() && a.o == b.o {
			return 0, true
		}
		if fmt.Sprint(a.o) == fmt.Sprint(b.o) {
			return 0, true
		}
		return 1, true
	}
	return 0, false
}

func cmp3(less, greater bool) int {
	switch {
	case less:
		return -1
	case greater:
		return 1
	}
	return 0
}

// indexKey is the key the equality index files a value under: values that
// compare equal have equal keys. ok is false for values the index cannot
// file (objects).
func indexKey(v value) (string, bool) {
	switch v.k {
	case kInt:
		return "n" + strconv.FormatInt(v.i, 10), true
	case kFloat:
		if v.f == math.Trunc(v.f) && math.Abs(v.f) < 1<<53 {
			return "n" + strconv.FormatInt(int64(v.f), 10), true
		}
		return "n" + strconv.FormatFloat(v.f, 'g', -1, 64), true
	case kString:
		return "s" + v.s, true
	case kBool:
		if v.b {
			return "b1", true
		}
		return "b0", true
	case kTime:
		return "t" + strconv.FormatInt(v.t.UnixNano(), 10), true
	}
	return "", false
}
