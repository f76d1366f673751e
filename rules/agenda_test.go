package rules

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAgendaHeap_order: interleaved pushes and pops come out in the
// agenda's order (priority, rule, sequence), checked against a sorted
// slice.
func TestAgendaHeap_order(t *testing.T) {
	seed := uint64(11)
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	p := &Policy{}
	for i := range 20 {
		p.rules = append(p.rules, &rule{idx: i, priority: rng.IntN(5) - 2})
	}
	h := &agendaHeap{p: p}
	var model []activation
	var seq uint64
	for range 5000 {
		if rng.IntN(3) > 0 || len(model) == 0 {
			seq++
			a := activation{rule: int32(rng.IntN(len(p.rules))), seq: seq}
			h.push(a)
			model = append(model, a)
			continue
		}
		slices.SortFunc(model, func(a, b activation) int {
			switch {
			case h.less(a, b):
				return -1
			case h.less(b, a):
				return 1
			}
			return 0
		})
		want := model[0]
		model = model[1:]
		if got := h.pop(); got != want {
			t.Fatalf("popped %+v, want %+v", got, want)
		}
		if h.Len() != len(model) {
			t.Fatalf("len %d, want %d", h.Len(), len(model))
		}
	}
}
