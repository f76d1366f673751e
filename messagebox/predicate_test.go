package messagebox

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// typedValues holds, per type, three values in ascending order.
var typedValues = []struct {
	name        string
	lo, mid, hi Value
	unorderable bool
}{
	{"string", String("apple"), String("banana"), String("cherry"), false},
	{"int64", Int64(-5), Int64(0), Int64(7), false},
	{"float64", Float64(-1.5), Float64(0.25), Float64(math.Inf(1)), false},
	{"bool", Bool(false), Bool(true), Bool(true), true},
	{"time", Time(epoch.Add(-time.Hour)), Time(epoch), Time(epoch.Add(time.Nanosecond)), false},
	{"decimal", Decimal("-0.5"), Decimal("10.25"), Decimal("100"), false},
	{"bytes", Bytes([]byte{0}), Bytes([]byte{0, 1}), Bytes([]byte{1}), false},
}

func TestCondition_EveryOperatorOnEveryType(t *testing.T) {
	const prop = "ns#P"
	// want[op][i] is the outcome for the message value lo, mid, hi against
	// a condition value of mid.
	want := map[Op][3]bool{
		OpEqual:        {false, true, false},
		OpNotEqual:     {true, false, true},
		OpLess:         {true, false, false},
		OpLessEqual:    {true, true, false},
		OpGreater:      {false, false, true},
		OpGreaterEqual: {false, true, true},
		OpExists:       {true, true, true},
	}
	for _, tv := range typedValues {
		for op := OpEqual; op <= OpExists; op++ {
			t.Run(tv.name+"/"+op.String(), func(t *testing.T) {
				c := Cond(prop, op, tv.mid)
				if op == OpExists {
					c = Exists(prop)
				}
				err := Predicate{{c}}.Validate()
				if tv.unorderable && ordering(op) {
					require.ErrorIs(t, err, ErrInvalidPredicate)
					return
				}
				require.NoError(t, err)
				for i, v := range []Value{tv.lo, tv.mid, tv.hi} {
					w := want[op][i]
					if tv.name == "bool" && i == 2 { // hi == mid for bool
						w = want[op][1]
					}
					m := msg("x", Promoted(prop, v))
					require.Equal(t, w, Predicate{{c}}.Matches(m.Context), "%s %s %s", v, op, tv.mid)
					// Written, missing and mistyped properties never match.
					require.False(t, Predicate{{c}}.Matches(msg("x", Written(prop, v)).Context))
					require.False(t, Predicate{{c}}.Matches(msg("x", Promoted("ns#Other", v)).Context))
				}
				if op != OpExists {
					other := String("zzz")
					if tv.name == "string" {
						other = Int64(1)
					}
					require.Equal(t, TypeMismatch, c.Eval(msg("x", Promoted(prop, other)).Context))
				}
			})
		}
	}
}

func TestCondition_Outcomes(t *testing.T) {
	c := Cond("ns#A", OpGreater, Int64(5))
	for _, tc := range []struct {
		name string
		m    *Message
		want Outcome
	}{
		{"holds", msg("", Promoted("ns#A", Int64(6))), Holds},
		{"fails", msg("", Promoted("ns#A", Int64(5))), Fails},
		{"missing", msg(""), Missing},
		{"written", msg("", Written("ns#A", Int64(6))), NotPromoted},
		{"mistyped", msg("", Promoted("ns#A", String("6"))), TypeMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, c.Eval(tc.m.Context)) })
	}
}

func TestValue_SpecialEquality(t *testing.T) {
	for _, tc := range []struct {
		name  string
		a, b  Value
		equal bool
		ok    bool
	}{
		{"decimal scale", Decimal("1.50"), Decimal("1.5"), true, true},
		{"decimal sign", Decimal("+2"), Decimal("2.0"), true, true},
		{"float zero", Float64(math.Copysign(0, -1)), Float64(0), true, true},
		{"nan", Float64(math.NaN()), Float64(math.NaN()), false, false},
		{"types", Int64(1), Float64(1), false, false},
		{"time zones", Time(epoch), Time(epoch.In(time.FixedZone("x", 3600))), true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := Compare(tc.a, tc.b)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.equal, ok && r == 0)
			ka, oka := tc.a.IndexKey(nil)
			kb, okb := tc.b.IndexKey(nil)
			require.Equal(t, tc.equal, oka && okb && string(ka) == string(kb), "index keys must agree with Compare")
		})
	}
	// NaN is never equal but is "not equal".
	nan := msg("", Promoted("ns#F", Float64(math.NaN())))
	require.False(t, Predicate{{Eq("ns#F", Float64(1))}}.Matches(nan.Context))
	require.True(t, Predicate{{Cond("ns#F", OpNotEqual, Float64(1))}}.Matches(nan.Context))
	require.False(t, Predicate{{Cond("ns#F", OpLess, Float64(1))}}.Matches(nan.Context))
}

func TestPredicate_OrOfAndGroups(t *testing.T) {
	p := Or(
		And(Eq("ns#Type", String("order")), Cond("ns#Amount", OpGreaterEqual, Int64(100))),
		And(Eq("ns#Type", String("refund")), Exists("ns#Approver")),
	)
	require.NoError(t, p.Validate())
	for _, tc := range []struct {
		name string
		m    *Message
		want bool
	}{
		{"first group", msg("", Promoted("ns#Type", String("order")), Promoted("ns#Amount", Int64(100))), true},
		{"first group half", msg("", Promoted("ns#Type", String("order")), Promoted("ns#Amount", Int64(99))), false},
		{"second group", msg("", Promoted("ns#Type", String("refund")), Promoted("ns#Approver", String("x"))), true},
		{"second group written", msg("", Promoted("ns#Type", String("refund")), Written("ns#Approver", String("x"))), false},
		{"neither", msg("", Promoted("ns#Type", String("quote"))), false},
		{"empty", msg(""), false},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, p.Matches(tc.m.Context)) })
	}
}

func TestPredicate_Validate(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Predicate
	}{
		{"no groups", nil},
		{"empty group", Predicate{{}}},
		{"unknown operator", Predicate{{Cond("ns#A", Op(7), Int64(1))}}},
		{"unset value", Predicate{{Cond("ns#A", OpEqual, Value{})}}},
		{"exists with value", Predicate{{Cond("ns#A", OpExists, Int64(1))}}},
		{"empty property", Predicate{{Eq("", Int64(1))}}},
		{"ordered bool", Predicate{{Cond("ns#A", OpLess, Bool(true))}}},
		{"nan", Predicate{{Eq("ns#A", Float64(math.NaN()))}}},
		{"bad decimal", Predicate{{Eq("ns#A", Decimal("1e5"))}}},
		{"type mismatch", Predicate{{Eq("ns#A", Int64(1))}, {Eq("ns#A", String("1"))}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			require.True(t, errors.Is(err, ErrInvalidPredicate), "%v", err)
		})
	}
}

// ordering reports whether op orders values (<, <=, >, >=).
func ordering(op Op) bool { return op >= OpLess && op <= OpGreaterEqual }
