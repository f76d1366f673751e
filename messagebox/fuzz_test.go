package messagebox

import (
	"bytes"
	"math"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The brute-force evaluator: the predicate semantics written out
// independently of predicate.go and of the index.

func bruteCompare(a, b Value) (int, bool) {
	switch a.Type() {
	case TypeString:
		return strings.Compare(a.Str(), b.Str()), true
	case TypeInt64:
		x, y := a.Int64(), b.Int64()
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case TypeFloat64:
		x, y := a.Float64(), b.Float64()
		switch {
		case math.IsNaN(x) || math.IsNaN(y):
			return 0, false
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case TypeBool:
		x, y := a.Bool(), b.Bool()
		switch {
		case x == y:
			return 0, true
		case !x:
			return -1, true
		}
		return 1, true
	case TypeTime:
		return a.Time().Compare(b.Time()), true
	case TypeDecimal:
		x, ok1 := new(big.Rat).SetString(a.Str())
		y, ok2 := new(big.Rat).SetString(b.Str())
		if !ok1 || !ok2 {
			return 0, false
		}
		return x.Cmp(y), true
	case TypeBytes:
		return bytes.Compare(a.Bytes(), b.Bytes()), true
	}
	return 0, false
}

func bruteCond(c Condition, m *Message) bool {
	var v Value
	found := false
	for _, p := range m.Context {
		if p.Name == c.Property && p.Promoted {
			v, found = p.Value, true
		}
	}
	if !found {
		return false
	}
	if c.Op == OpExists {
		return true
	}
	if v.Type() != c.Value.Type() {
		return false
	}
	r, ok := bruteCompare(v, c.Value)
	eq := ok && r == 0
	switch c.Op {
	case OpEqual:
		return eq
	case OpNotEqual:
		return !eq
	case OpLess:
		return ok && r < 0
	case OpLessEqual:
		return ok && r <= 0
	case OpGreater:
		return ok && r > 0
	case OpGreaterEqual:
		return ok && r >= 0
	}
	return false
}

func bruteMatch(p Predicate, m *Message) bool {
	for _, g := range p {
		all := true
		for _, c := range g {
			all = all && bruteCond(c, m)
		}
		if all {
			return true
		}
	}
	return false
}

// fuzzReader turns fuzz bytes into small choices; it reads zeros once the
// input runs out.
type fuzzReader struct{ b []byte }

func (r *fuzzReader) next(n int) int {
	if len(r.b) == 0 {
		return 0
	}
	v := int(r.b[0]) % n
	r.b = r.b[1:]
	return v
}

var fuzzNames = []string{"ns#p0", "ns#p1", "ns#p2"}

// fuzzValue draws a value from small per-type domains, so that equal
// values (including equal decimals written differently) are common.
func (r *fuzzReader) value(t Type) Value {
	i := r.next(4)
	switch t {
	case TypeString:
		return String([]string{"", "a", "ab", "b"}[i])
	case TypeInt64:
		return Int64([]int64{math.MinInt64, -1, 0, 1}[i])
	case TypeFloat64:
		return Float64([]float64{math.Copysign(0, -1), 0, 1.5, math.NaN()}[i])
	case TypeBool:
		return Bool(i%2 == 1)
	case TypeTime:
		return Time(epoch.Add(time.Duration(i-1) * time.Nanosecond))
	case TypeDecimal:
		return Decimal([]string{"1", "1.00", "-2.5", "+0"}[i])
	default:
		return Bytes([][]byte{nil, {0}, {0, 0}, {1}}[i])
	}
}

func (r *fuzzReader) typ() Type { return Type(1 + r.next(7)) }

func FuzzPredicate(f *testing.F) {
	f.Add([]byte{3, 0, 1, 2, 1, 0, 2, 1, 0, 1, 0, 0, 1})
	f.Add([]byte{6, 1, 1, 3, 2, 2, 2, 5, 0, 3, 1, 6, 1, 2, 3, 0, 0, 0, 4})
	f.Add([]byte{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2})
	f.Add(bytes.Repeat([]byte{5, 6, 7, 1}, 10))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{b: data}
		// A message: each name absent, written or promoted, with a type.
		m := NewMessage([]byte{})
		types := make(map[string]Type)
		for _, n := range fuzzNames {
			typ := r.typ()
			types[n] = typ
			switch r.next(3) {
			case 1:
				m.Context = append(m.Context, Written(n, r.value(typ)))
			case 2:
				m.Context = append(m.Context, Promoted(n, r.value(typ)))
			}
		}
		// A predicate over the same names; the condition's type is usually
		// the property's, sometimes another (a mismatch the message makes).
		var p Predicate
		for range 1 + r.next(3) {
			var g Group
			for range 1 + r.next(3) {
				n := fuzzNames[r.next(len(fuzzNames))]
				op := Op(r.next(7))
				typ := types[n]
				if r.next(4) == 0 {
					typ = r.typ()
				}
				if op == OpExists {
					g = append(g, Exists(n))
				} else {
					g = append(g, Cond(n, op, r.value(typ)))
				}
			}
			p = append(p, g)
		}
		want := bruteMatch(p, m)
		if got := p.Matches(m.Context); got != want {
			t.Fatalf("Matches = %v, brute force = %v\npredicate %v\ncontext %v", got, want, p, m.Context)
		}
		if p.Validate() != nil {
			return // Subscribe would refuse it; the index never sees it.
		}
		x := newSubIndex()
		x.add(&subState{Subscription: Subscription{ID: uuid.New(), Predicate: p}})
		if got := len(x.match(m, nil)) == 1; got != want {
			t.Fatalf("index match = %v, brute force = %v\npredicate %v\ncontext %v", got, want, p, m.Context)
		}
	})
}
