package sso

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/keys"
	"github.com/cockroachdb/pebble/v2"
)

// Steps of a regenerate, named for the test hook. A crash after any of
// them leaves every record readable with exactly one of the two secrets,
// and the record says which (its generation).
const (
	stepSavedBoth = "saved-both" // the provider holds the old and the new secret
	stepNext      = "state-next" // the store names the new secret and links it
	stepBatch     = "batch"      // one batch of records re-encrypted
	stepDone      = "state-done" // the store uses only the new secret
	stepSavedNew  = "saved-new"  // the provider holds only the new secret
)

func (s *Store) step(name string) error {
	if s.opts.hook == nil {
		return nil
	}
	return s.opts.hook(name)
}

// Regenerate replaces the master secret and re-encrypts every record with
// the new one, as BizTalk's master secret server does (decrypt with the
// old, encrypt with the new), keeping both until the pass completes:
//
//  1. a new secret is generated and the provider saves it beside the old;
//  2. the store commits its key-check value and the new secret sealed
//     under the old (the link), so every node that holds the old secret,
//     such as the passive of a pair, learns the new one through the log;
//  3. records are re-encrypted in batches, each one commit;
//  4. the store commits that the new secret is current;
//  5. the provider drops the old secret.
//
// A crash at any point leaves every record readable: each record carries
// the generation that sealed it. After a crash in steps 2 to 4, calling
// Regenerate again finishes the pass with the same new secret. Writes
// wait while the pass runs; lookups do not. The caller must be an SSO
// administrator; it fails with ErrSecretServerUnavailable if the provider
// cannot be reached.
func (s *Store) Regenerate(ctx context.Context) error {
	c, err := s.start(ctx, "Regenerate", "", "")
	if err != nil {
		return err
	}
	if err := c.need(ctx, nil, RoleSSOAdmin); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.requireServer(ctx); err != nil {
		return c.fail(ctx, err)
	}
	if err := s.regenerateLocked(ctx, c); err != nil {
		return c.fail(ctx, err)
	}
	return nil
}

func (s *Store) regenerateLocked(ctx context.Context, c *call) error {
	st, ring, _ := s.snapshot()
	if st.next == 0 {
		old := ring.get(st.gen)
		next, err := generateKey(s.opts.Rand, st.gen+1)
		if err != nil {
			return err
		}
		both := ring.only(st.gen).with(next)
		if err := s.saveRing(ctx, both); err != nil {
			return err
		}
		if err := s.step(stepSavedBoth); err != nil {
			return err
		}
		link, err := old.seal(nil, s.opts.Rand, linkAD(old.gen, next.gen), next.raw[:])
		if err != nil {
			return err
		}
		nst := &secretState{gen: st.gen, kcv: st.kcv, next: next.gen, nextKCV: next.kcv,
			linkFrom: old.gen, linkTo: next.gen, link: link, prevGen: st.prevGen, back: st.back}
		cache, err := withPrev(nst, both)
		if err != nil {
			return err
		}
		if err := s.commitState(ctx, nst, nil); err != nil {
			return err
		}
		s.publishSecret(nst, cache)
		if err := s.step(stepNext); err != nil {
			return err
		}
		st, ring = nst, both
	}
	if err := s.reencrypt(ctx, st, ring); err != nil {
		return err
	}
	cur, next := ring.get(st.gen), ring.get(st.next)
	back, err := next.seal(nil, s.opts.Rand, backAD(next.gen, cur.gen), cur.raw[:])
	if err != nil {
		return err
	}
	done := &secretState{gen: st.next, kcv: st.nextKCV, linkFrom: st.linkFrom, linkTo: st.linkTo, link: st.link,
		prevGen: cur.gen, back: back}
	newRing := ring.only(done.gen)
	cache, err := withPrev(done, newRing)
	if err != nil {
		return err
	}
	if err := s.commitState(ctx, done, c); err != nil {
		return err
	}
	s.publishSecret(done, cache)
	if err := s.step(stepDone); err != nil {
		return err
	}
	if err := s.saveRing(ctx, newRing); err != nil {
		return err
	}
	return s.step(stepSavedNew)
}

// commitState commits the secret state, with c's granted audit record if
// c is not nil.
func (s *Store) commitState(ctx context.Context, st *secretState, c *call) error {
	tx, b := s.begin()
	defer tx.Abort()
	if err := b.Set(secretKey, encodeSecretState(st), nil); err != nil {
		return err
	}
	if c != nil {
		if err := c.done(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sso: commit secret state: %w", err)
	}
	return nil
}

func (s *Store) publishSecret(st *secretState, ring *keyring) {
	s.mu.Lock()
	s.state, s.ring = st, ring
	s.mu.Unlock()
}

// reencrypt rewrites every sealed record not yet at st.next with the next
// secret, RegenerateBatch records per commit.
func (s *Store) reencrypt(ctx context.Context, st *secretState, ring *keyring) error {
	next := ring.get(st.next)
	if next == nil {
		return fmt.Errorf("%w: generation %d", ErrNoSecret, st.next)
	}
	for _, t := range sealedTables {
		lower := keys.AppendTable(nil, t)
		upper := keys.PrefixSuccessor(lower)
		from := lower
		for {
			batch, more, err := s.collect(from, upper, st.next)
			if err != nil {
				return err
			}
			if len(batch) > 0 {
				tx, b := s.begin()
				for _, r := range batch {
					err := s.resealInto(b, r.key, r.value, next)
					if err != nil {
						tx.Abort()
						return err
					}
				}
				if _, err := tx.Commit(ctx); err != nil {
					tx.Abort()
					return fmt.Errorf("sso: regenerate: %w", err)
				}
				tx.Abort()
				if err := s.step(stepBatch); err != nil {
					return err
				}
			}
			if !more {
				break
			}
			from = append(bytes.Clone(batch[len(batch)-1].key), 0)
		}
	}
	return nil
}

type kv struct{ key, value []byte }

// collect returns up to RegenerateBatch records in [from, upper) sealed
// with a generation other than gen, and whether more may follow.
func (s *Store) collect(from, upper []byte, gen uint64) ([]kv, bool, error) {
	it, err := s.db.Reader().NewIter(&pebble.IterOptions{LowerBound: from, UpperBound: upper})
	if err != nil {
		return nil, false, fmt.Errorf("sso: regenerate scan: %w", err)
	}
	var out []kv
	more := false
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err != nil {
			return nil, false, errors.Join(err, it.Close())
		}
		g, err := sealedGen(v)
		if err != nil {
			return nil, false, errors.Join(fmt.Errorf("sso: regenerate: %w", err), it.Close())
		}
		if g == gen {
			continue
		}
		out = append(out, kv{key: bytes.Clone(it.Key()), value: bytes.Clone(v)})
		if len(out) == s.opts.RegenerateBatch {
			more = true
			break
		}
	}
	return out, more, errors.Join(it.Error(), it.Close())
}

// resealInto opens a record with the key of its generation and writes it
// sealed with next into b.
func (s *Store) resealInto(b *pebble.Batch, key, value []byte, next *masterKey) error {
	gen, err := sealedGen(value)
	if err != nil {
		return err
	}
	_, ring, _ := s.snapshot()
	old := ring.get(gen)
	if old == nil {
		return corruptf("regenerate: a record sealed with generation %d, which the store does not use", gen)
	}
	plain, err := old.open(value, key)
	if err != nil {
		return fmt.Errorf("sso: regenerate: %w", err)
	}
	sealed, err := next.seal(nil, s.opts.Rand, key, plain)
	wipe(plain)
	if err != nil {
		return err
	}
	return b.Set(key, sealed, nil)
}
