package bam

import (
	"fmt"
	"slices"

	"github.com/biztier/biztier/internal/keys"
	"github.com/stretchr/testify/require"
)

// checkConsistent verifies the store's invariants: the Completed table and
// its by-ID index agree; no instance is both active and completed; every
// instance's open continuations are among its tokens and every token's
// record names it, ended exactly when its segment is not open; and, unless
// rta is false (maintenance has moved instances out), every real-time
// aggregation cell holds what the instances contribute.
func checkConsistent(t require.TestingT, s *Store, rta bool) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	cat := s.cat.Load()
	// Cells older than the window may have been aged out by maintenance.
	cutoff := s.now().Add(-s.opts.RTAWindow).Truncate(s.opts.RTATimeSlice)
	want := map[string]*cell{}
	for name, act := range cat.acts {
		ids := map[string]string{}
		check := func(where string, k, v []byte) error {
			in, err := decodeInstance(v)
			require.NoError(t, err)
			require.NotContains(t, ids, in.id, "%s/%s is %s and %s", name, in.id, ids[in.id], where)
			ids[in.id] = where
			for _, p := range in.pending {
				require.Contains(t, in.tokens, p)
			}
			for _, tok := range in.tokens {
				cv, err := get(s.r, contKey(name, tok))
				require.NoError(t, err, "%s/%s: token %s has no record", name, in.id, tok)
				c, err := decodeCont(cv)
				require.NoError(t, err)
				require.Equal(t, in.id, c.parent, "%s: token %s", name, tok)
				require.Equal(t, !slices.Contains(in.pending, tok), c.ended, "%s: token %s", name, tok)
			}
			if where == "completed" {
				bv, err := get(s.r, byIDKey(name, in.id))
				require.NoError(t, err, "%s/%s: not indexed", name, in.id)
				require.Equal(t, string(k), string(append(completedPrefix(name), bv...)))
				require.False(t, in.completed.IsZero())
			} else {
				require.True(t, in.completed.IsZero())
			}
			slice := in.modified.Truncate(s.opts.RTATimeSlice)
			for _, r := range act.rtas {
				if slice.Before(cutoff) {
					break
				}
				dims, c := r.contribution(in)
				key := string(cellKey(r.name, slice, dims))
				if want[key] == nil {
					want[key] = &cell{}
				}
				want[key].add(c, 1)
			}
			return nil
		}
		for where, p := range map[string][]byte{"active": activePrefix(name), "completed": completedPrefix(name)} {
			lo, hi := keys.PrefixBounds(p)
			require.NoError(t, scan(s.r, lo, hi, func(k, v []byte) error { return check(where, k, v) }))
		}
		lo, hi := keys.PrefixBounds(byIDPrefix(name))
		n := 0
		require.NoError(t, scan(s.r, lo, hi, func(k, v []byte) error { n++; return nil }))
		completed := 0
		for _, w := range ids {
			if w == "completed" {
				completed++
			}
		}
		require.Equal(t, completed, n, "%s: by-ID index entries", name)
	}
	if !rta {
		return
	}
	got := map[string]*cell{}
	for name := range cat.rtas {
		lo, hi := keys.PrefixBounds(rtaPrefix(name))
		prefix := rtaPrefix(name)
		require.NoError(t, scan(s.r, lo, hi, func(k, v []byte) error {
			slice, _, err := keys.DecodeTime(k[len(prefix):])
			require.NoError(t, err)
			if slice.Before(cutoff) {
				return nil
			}
			c, err := decodeCell(v)
			require.NoError(t, err)
			got[string(k)] = c
			return nil
		}))
	}
	norm := func(m map[string]*cell) map[string]string {
		out := map[string]string{}
		for k, c := range m {
			if !c.empty() {
				out[k] = fmt.Sprint(c.count, c.n)
			}
		}
		return out
	}
	require.Equal(t, norm(want), norm(got), "aggregation cells")
}
