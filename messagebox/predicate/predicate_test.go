package predicate

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const sys = "http://schemas.microsoft.com/BizTalk/2003/system-properties#"

func TestCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"BTS.MessageType", sys + "MessageType"},
		{sys + "MessageType", sys + "MessageType"},
		{"FILE.ReceivedFileName", "http://schemas.microsoft.com/BizTalk/2003/file-properties#ReceivedFileName"},
		{"ErrorReport.FailureCode", "http://schemas.microsoft.com/BizTalk/2005/error-report#FailureCode"},
		{"Orders.Total", "Orders.Total"}, // not a built-in prefix
		{"BTS.", "BTS."},                 // no local name
		{"BTS", "BTS"},                   // no dot
		{"urn:x#BTS.MessageType", "urn:x#BTS.MessageType"}, // already canonical
	} {
		require.Equal(t, tc.want, Canonical(tc.in), tc.in)
	}
}

func TestCoerce(t *testing.T) {
	at := time.Date(2026, 5, 1, 10, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		text string
		t    Type
		want Value
		ok   bool
	}{
		{"42", TypeInt64, Int64(42), true},
		{" -7 ", TypeInt64, Int64(-7), true},
		{"9.5", TypeInt64, Int64(10), true}, // BizTalk rounds decimals entered for integers
		{"9.4", TypeInt64, Int64(9), true},
		{"-9.5", TypeInt64, Int64(-10), true},
		{"1e3", TypeInt64, Value{}, false},
		{"abc", TypeInt64, Value{}, false},
		{"99999999999999999999", TypeInt64, Value{}, false},
		{"2.5", TypeFloat64, Float64(2.5), true},
		{"x", TypeFloat64, Value{}, false},
		{"1.50", TypeDecimal, Decimal("1.50"), true},
		{"1/2", TypeDecimal, Value{}, false},
		{"True", TypeBool, Bool(true), true},
		{"false", TypeBool, Bool(false), true},
		{"1", TypeBool, Bool(true), true},
		{"yes", TypeBool, Value{}, false},
		{"2026-05-01T10:30:00Z", TypeTime, Time(at), true},
		{"2026-05-01T10:30:00", TypeTime, Time(at), true},
		{"2026-05-01", TypeTime, Time(at.Truncate(24 * time.Hour)), true},
		{"May 1", TypeTime, Value{}, false},
		{" padded ", TypeString, String(" padded "), true},
	} {
		got, ok := Coerce(tc.text, tc.t)
		require.Equal(t, tc.ok, ok, "%q as %s", tc.text, tc.t)
		if ok {
			c, cok := Compare(got, tc.want)
			require.True(t, cok && c == 0, "%q as %s: got %s want %s", tc.text, tc.t, got, tc.want)
		}
	}
}

// TestEval_TextTakesThePropertysType compares a filter's text with message
// values of every type and every operator, against an expectation written
// out by hand for each case.
func TestEval_TextTakesThePropertysType(t *testing.T) {
	ops := []Op{OpEqual, OpLess, OpLessEqual, OpGreater, OpGreaterEqual, OpNotEqual}
	for _, tc := range []struct {
		name  string
		value Value
		text  string
		// want per op: ==, <, <=, >, >=, !=  (message value op text)
		want [6]Outcome
	}{
		{"int above", Int64(250), "100", [6]Outcome{Fails, Fails, Fails, Holds, Holds, Holds}},
		{"int below", Int64(99), "100", [6]Outcome{Fails, Holds, Holds, Fails, Fails, Holds}},
		{"int equal", Int64(100), "100", [6]Outcome{Holds, Fails, Holds, Fails, Holds, Fails}},
		{"string is text order", String("99"), "100", [6]Outcome{Fails, Fails, Fails, Holds, Holds, Holds}},
		{"decimal by value", Decimal("1.50"), "1.5", [6]Outcome{Holds, Fails, Holds, Fails, Holds, Fails}},
		{"float", Float64(0.25), "0.5", [6]Outcome{Fails, Holds, Holds, Fails, Fails, Holds}},
		{"bool", Bool(true), "True", [6]Outcome{Holds, TypeMismatch, TypeMismatch, TypeMismatch, TypeMismatch, Fails}},
		{"time", Time(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)), "2026-01-01T00:00:00Z", [6]Outcome{Fails, Fails, Fails, Holds, Holds, Holds}},
		{"not a number", Int64(5), "five", [6]Outcome{TypeMismatch, TypeMismatch, TypeMismatch, TypeMismatch, TypeMismatch, TypeMismatch}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := []Property{{Name: "ns#P", Value: tc.value, Promoted: true}}
			for i, op := range ops {
				c := Cond("ns#P", op, Text(tc.text))
				got := c.Eval(ctx)
				require.Equal(t, tc.want[i], got, "%s %s %q", tc.value, op, tc.text)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	var s Schemas
	s.Register(Schema{Name: "Orders.Total", Type: TypeInt64})
	p := Predicate{{
		Cond("BTS.MessageType", OpEqual, Text("urn:a#Order")),
		Cond("Orders.Total", OpGreater, Text("99.5")),
		Cond("Orders.Region", OpEqual, Text("north")),
	}}
	got, err := p.Resolve(&s)
	require.NoError(t, err)
	require.Equal(t, Predicate{{
		Cond(sys+"MessageType", OpEqual, String("urn:a#Order")),
		Cond("Orders.Total", OpGreater, Int64(100)),
		Cond("Orders.Region", OpEqual, Text("north")),
	}}, got)
	require.Equal(t, "BTS.MessageType", p[0][0].Property, "Resolve does not change its receiver")

	_, err = Predicate{{Cond("Orders.Total", OpEqual, Text("lots"))}}.Resolve(&s)
	require.True(t, errors.Is(err, ErrInvalid), "%v", err)
	require.Contains(t, err.Error(), "Orders.Total")
}

func TestValue_LiteralReadsBack(t *testing.T) {
	for _, v := range []Value{String("a b"), Int64(-3), Float64(2.25), Bool(true), Bool(false), Decimal("10.50"),
		Time(time.Date(2026, 1, 1, 1, 2, 3, 4, time.UTC)), Text("x")} {
		back, ok := Coerce(v.Literal(), v.Type())
		require.True(t, ok, "%s", v)
		c, cok := Compare(back, v)
		require.True(t, cok && c == 0, "%s read back as %s", v, back)
	}
}

// TestCanonical_NoAllocation: the names the hot path canonicalizes on
// every message (canonical ones, and the built-in short ones) cost no
// allocation.
func TestCanonical_NoAllocation(t *testing.T) {
	for _, name := range []string{sys + "MessageType", "BTS.MessageType", "BTS.ReceivePortName", "Orders.Total"} {
		if n := testing.AllocsPerRun(100, func() { _ = Canonical(name) }); n != 0 {
			t.Fatalf("Canonical(%q) allocates %.0f times", name, n)
		}
	}
}
