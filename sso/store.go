package sso

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/cockroachdb/pebble/v2"
)

// Options configure a Store. A nil *Options is refused: Keys is required.
// Open works on a copy.
type Options struct {
	// Keys is the master secret server. Required.
	Keys KeyProvider
	// Settings are written when Open creates the SSO system; later they
	// change through SetSettings only. See Settings for defaults.
	Settings Settings
	// Now is the clock for tickets and audit records. Defaults to time.Now.
	Now func() time.Time
	// Rand is the source of secrets and nonces. Defaults to crypto/rand.
	Rand io.Reader
	// PollInterval is how often a Store rereads the key provider and the
	// secret state, as BizTalk's SSO servers check the master secret
	// server. Defaults to 30 seconds; negative disables polling (a
	// record sealed with an unknown generation still triggers a reread).
	PollInterval time.Duration
	// RegenerateBatch is how many records a regenerate re-encrypts per
	// commit. Defaults to 1,000.
	RegenerateBatch int

	// hook, for tests, runs at each step of a regenerate; an error stops
	// it there, as a crash would.
	hook func(step string) error
}

func (o *Options) withDefaults() (Options, error) {
	if o == nil || o.Keys == nil {
		return Options{}, fmt.Errorf("%w: Options.Keys (the key provider) is required", ErrInvalid)
	}
	c := *o
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.PollInterval == 0 {
		c.PollInterval = 30 * time.Second
	}
	if c.RegenerateBatch <= 0 {
		c.RegenerateBatch = 1000
	}
	c.Settings.withDefaults()
	return c, nil
}

// Store is the SSO database (SSODB): affiliate applications, credential
// mappings and config store entries, sealed with the master secret that
// the key provider keeps. It is safe for concurrent use.
//
// Lookups read committed state and decrypt with the cached secret; they
// never wait for a writer, but each writes its audit record through the
// group log before it returns. Writes are serialised.
type Store struct {
	db     Database
	opts   Options
	closed atomic.Bool

	// writeMu serialises writers, from validating against the cached
	// state to publishing what they committed, and a regenerate for its
	// whole pass, so no record is sealed with a generation the pass has
	// already left behind. It is held across commits; lookups never take
	// it.
	writeMu sync.Mutex

	// mu guards apps, settings, state and ring. What they point to is
	// never modified: writers build new values and swap them in after
	// their commit.
	mu       sync.RWMutex
	apps     map[string]*Application
	settings *Settings
	state    *secretState
	ring     *keyring

	// pollMu serialises rereads of the provider and the secret state.
	pollMu sync.Mutex
	// lastPoll is when the last reread finished (UnixNano).
	lastPoll atomic.Int64
	// serverErr is the key provider's last failure, nil once it answers.
	serverErr atomic.Pointer[error]

	// ticketMu serialises redemptions, from the replay check to the
	// commit that records the ticket as redeemed.
	ticketMu sync.Mutex

	// auditSeq is the last audit sequence number handed out.
	auditSeq atomic.Uint64
}

// Open opens the SSO database in db. If the database holds no SSO system
// yet, Open creates one: it takes the secret the provider holds or
// generates one and saves it there, then commits its key-check value and
// the settings. Otherwise the provider's secret must match: Open fails with
// ErrNoSecret if the provider holds none, ErrWrongSecret if it holds
// another, ErrKeyFile if the key file cannot be unsealed. If the store has
// moved to a newer secret that this node's provider lacks, Open learns it
// from the store (where it is sealed under the older one) and saves it.
//
// Open one Store per database: a Store assumes it is the database's only
// writer (it numbers audit records and caches applications).
func Open(ctx context.Context, db Database, opts *Options) (*Store, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := checkDatabase(db); err != nil {
		return nil, err
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, opts: o}
	if err := checkFormat(db.Reader()); err != nil {
		return nil, err
	}
	st, err := readSecretState(db.Reader())
	if err != nil {
		return nil, err
	}
	if st == nil {
		if err := s.create(ctx); err != nil {
			return nil, err
		}
	} else {
		ring, err := s.resolveWithProvider(ctx, st, nil, true)
		if err == nil {
			ring, err = withPrev(st, ring)
		}
		if err != nil {
			return nil, err
		}
		s.state, s.ring = st, ring
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	s.lastPoll.Store(o.Now().UnixNano())
	return s, nil
}

// Close marks the Store closed. It does not close the database, which the
// caller owns. Close is safe to call twice.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

func checkFormat(r pebble.Reader) error {
	v, closer, err := r.Get(formatKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sso: read format: %w", err)
	}
	defer closer.Close()
	if len(v) != 1 || v[0] == 0 {
		return corruptf("format key of %d bytes", len(v))
	}
	if v[0] > formatVersion {
		return fmt.Errorf("%w: SSO database format %d, this build reads up to %d", ErrFormatTooNew, v[0], formatVersion)
	}
	return nil
}

func readSecretState(r pebble.Reader) (*secretState, error) {
	v, closer, err := r.Get(secretKey)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sso: read secret state: %w", err)
	}
	defer closer.Close()
	return decodeSecretState(v)
}

// create sets up a new SSO system.
func (s *Store) create(ctx context.Context) error {
	blob, err := s.opts.Keys.Load(ctx)
	var ring *keyring
	switch {
	case err == nil:
		// A secret is waiting (saved by a create that crashed before its
		// commit, or restored ahead of time): adopt its newest generation.
		ring, err = decodeKeyring(blob)
		wipe(blob)
		if err != nil {
			return err
		}
		ring = ring.only(ring.keys[len(ring.keys)-1].gen)
	case errors.Is(err, ErrNoSecret):
		k, err := generateKey(s.opts.Rand, 1)
		if err != nil {
			return err
		}
		ring = (*keyring)(nil).with(k)
		if err := s.saveRing(ctx, ring); err != nil {
			return err
		}
	default:
		return fmt.Errorf("sso: create: load master secret: %w", err)
	}
	cur := ring.keys[0]
	st := &secretState{gen: cur.gen, kcv: cur.kcv}
	set := s.opts.Settings
	tx, b := s.begin()
	defer tx.Abort()
	if err := errors.Join(b.Set(formatKey, []byte{formatVersion}, nil),
		b.Set(secretKey, encodeSecretState(st), nil),
		b.Set(settingsKey, encodeSettings(&set), nil)); err != nil {
		return fmt.Errorf("sso: create: %w", err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sso: create: %w", err)
	}
	s.state, s.ring = st, ring
	return nil
}

func (s *Store) saveRing(ctx context.Context, r *keyring) error {
	blob := encodeKeyring(r)
	defer wipe(blob)
	if err := s.opts.Keys.Save(ctx, blob); err != nil {
		return fmt.Errorf("sso: save master secret: %w", err)
	}
	return nil
}

// load reads the settings, the applications and the audit position.
func (s *Store) load() error {
	r := s.db.Reader()
	v, closer, err := r.Get(settingsKey)
	if err != nil {
		return fmt.Errorf("sso: read settings: %w", err)
	}
	set, err := decodeSettings(v)
	closer.Close()
	if err != nil {
		return err
	}
	apps := map[string]*Application{}
	err = scan(r, keys.AppendTable(nil, keys.TableSSOApplications), func(k, v []byte) error {
		a, err := decodeApp(v)
		if err != nil {
			return err
		}
		apps[a.Name] = a
		return nil
	})
	if err != nil {
		return err
	}
	last, err := lastAuditSeq(r)
	if err != nil {
		return err
	}
	s.auditSeq.Store(last)
	s.settings, s.apps = set, apps
	return nil
}

func lastAuditSeq(r pebble.Reader) (uint64, error) {
	lower := keys.AppendTable(nil, keys.TableSSOAudit)
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: keys.PrefixSuccessor(lower)})
	if err != nil {
		return 0, fmt.Errorf("sso: audit position: %w", err)
	}
	var seq uint64
	if it.Last() {
		_, rest, _ := keys.DecodeTable(it.Key())
		seq, _, err = keys.DecodeUint64(rest)
		if err != nil {
			err = fmt.Errorf("%w: audit key: %w", ErrCorruption, err)
		}
	}
	return seq, errors.Join(err, it.Error(), it.Close())
}

// scan calls fn for each key and value under prefix. v is valid only
// during the call.
func scan(r pebble.Reader, prefix []byte, fn func(k, v []byte) error) error {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: keys.PrefixSuccessor(prefix)})
	if err != nil {
		return fmt.Errorf("sso: scan: %w", err)
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), v)
		}
		if err != nil {
			_ = it.Close()
			return err
		}
	}
	return errors.Join(it.Error(), it.Close())
}

// linkAD is the additional data of a link record.
func linkAD(from, to uint64) []byte { return fmt.Appendf(nil, "sso link %d -> %d", from, to) }

// resolveWithProvider loads the provider's keyring and resolves st with it
// and with cached (the keys this Store already holds, which win over the
// provider's for the same generation). If save is set and the provider
// lacks a generation the store needs (learned from the link) or holds
// generations it no longer needs, the provider is updated.
func (s *Store) resolveWithProvider(ctx context.Context, st *secretState, cached *keyring, save bool) (*keyring, error) {
	blob, err := s.opts.Keys.Load(ctx)
	if err != nil {
		if cached != nil {
			s.setServerErr(err)
			return resolve(st, cached)
		}
		return nil, err
	}
	s.setServerErr(nil)
	prov, err := decodeKeyring(blob)
	wipe(blob)
	if err != nil {
		return nil, fmt.Errorf("%w: the key provider's keyring", err)
	}
	merged := prov
	if cached != nil {
		for _, k := range cached.keys {
			merged = merged.with(k)
		}
	}
	ring, err := resolve(st, merged)
	if err != nil {
		return nil, err
	}
	if save && !sameGens(prov, ring) {
		if err := s.saveRing(ctx, ring); err != nil {
			return nil, err
		}
	}
	return ring, nil
}

func sameGens(a, b *keyring) bool {
	if len(a.keys) != len(b.keys) {
		return false
	}
	for i := range a.keys {
		if a.keys[i].gen != b.keys[i].gen || a.keys[i].kcv != b.keys[i].kcv {
			return false
		}
	}
	return true
}

// withPrev returns ring plus the previous generation, opened from st's
// back link with the current secret: for the cache only, never saved.
func withPrev(st *secretState, ring *keyring) (*keyring, error) {
	if st.prevGen == 0 || st.back == nil || ring.get(st.prevGen) != nil {
		return ring, nil
	}
	cur := ring.get(st.gen)
	raw, err := cur.open(st.back, backAD(st.gen, st.prevGen))
	if err != nil {
		return nil, fmt.Errorf("sso: the store's back link: %w", err)
	}
	defer wipe(raw)
	k, err := newMasterKey(st.prevGen, raw)
	if err != nil {
		return nil, err
	}
	return ring.with(k), nil
}

// backAD is the additional data of a back link record.
func backAD(from, to uint64) []byte { return fmt.Appendf(nil, "sso back link %d -> %d", from, to) }

// resolve returns the keyring st needs (its generation and, during a
// regenerate, the next), taken from have or learned through st's link.
func resolve(st *secretState, have *keyring) (*keyring, error) {
	if st.link != nil && st.linkTo != 0 && have.get(st.linkTo) == nil {
		if from := have.get(st.linkFrom); from != nil && (from.gen != st.gen || from.matches(st.kcv)) {
			raw, err := from.open(st.link, linkAD(st.linkFrom, st.linkTo))
			if err != nil {
				// The store keeps no key-check value for the link's
				// generation: a secret of that generation that does not
				// open the link is, most likely, another system's.
				return nil, fmt.Errorf("%w: generation %d does not open the store's link to generation %d",
					ErrWrongSecret, st.linkFrom, st.linkTo)
			}
			k, err := newMasterKey(st.linkTo, raw)
			wipe(raw)
			if err != nil {
				return nil, err
			}
			have = have.with(k)
		}
	}
	cur := have.get(st.gen)
	if cur == nil {
		if have == nil || len(have.keys) == 0 {
			return nil, fmt.Errorf("%w: the store needs generation %d", ErrNoSecret, st.gen)
		}
		return nil, fmt.Errorf("%w: the provider holds generation %d, the store needs %d",
			ErrWrongSecret, have.keys[len(have.keys)-1].gen, st.gen)
	}
	if !cur.matches(st.kcv) {
		return nil, fmt.Errorf("%w: generation %d fails the key check", ErrWrongSecret, st.gen)
	}
	if st.next == 0 {
		return have.only(st.gen), nil
	}
	next := have.get(st.next)
	if next == nil {
		return nil, fmt.Errorf("%w: the store needs generation %d to finish a regenerate", ErrNoSecret, st.next)
	}
	if !next.matches(st.nextKCV) {
		return nil, fmt.Errorf("%w: generation %d fails the key check", ErrWrongSecret, st.next)
	}
	return have.only(st.gen, st.next), nil
}

func (s *Store) setServerErr(err error) {
	if err == nil {
		s.serverErr.Store(nil)
		return
	}
	s.serverErr.Store(&err)
}

// snapshot returns the cached state under mu.
func (s *Store) snapshot() (*secretState, *keyring, *Settings) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.state, s.ring, s.settings
}

// maybePoll rereads the provider and the secret state if PollInterval has
// passed. A failing provider leaves the cache in place.
func (s *Store) maybePoll(ctx context.Context) {
	if s.opts.PollInterval < 0 {
		return
	}
	if s.opts.Now().UnixNano()-s.lastPoll.Load() < int64(s.opts.PollInterval) {
		return
	}
	if !s.pollMu.TryLock() {
		return // another caller is polling
	}
	defer s.pollMu.Unlock()
	_ = s.refreshLocked(ctx)
}

// refresh rereads the secret state and the provider now: a record sealed
// with a generation the cache lacks was committed since.
func (s *Store) refresh(ctx context.Context) error {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	return s.refreshLocked(ctx)
}

func (s *Store) refreshLocked(ctx context.Context) error {
	defer s.lastPoll.Store(s.opts.Now().UnixNano())
	st, err := readSecretState(s.db.Reader())
	if err != nil {
		return err
	}
	_, cached, _ := s.snapshot()
	ring, err := s.resolveWithProvider(ctx, st, cached, false)
	if err == nil {
		ring, err = withPrev(st, ring)
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.state, s.ring = st, ring
	s.mu.Unlock()
	return nil
}

// requireServer checks, before a write that seals new secrets, that the
// master secret server answers and still holds the secret the store uses.
func (s *Store) requireServer(ctx context.Context) error {
	st, _, _ := s.snapshot()
	if _, err := s.resolveWithProvider(ctx, st, nil, false); err != nil {
		if errors.Is(err, ErrWrongSecret) || errors.Is(err, ErrFormatTooNew) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrSecretServerUnavailable, err)
	}
	return nil
}

// Status describes the master secret as a Store sees it.
type Status struct {
	// Generation seals records; Next is non-zero while a regenerate to it
	// is unfinished.
	Generation, Next uint64
	// ServerErr is the key provider's last failure, nil if it answered.
	// While it fails, lookups work from the cache and writes are refused.
	ServerErr error
}

// Status returns the secret's generation and the provider's health.
func (s *Store) Status() Status {
	st, _, _ := s.snapshot()
	out := Status{Generation: st.gen, Next: st.next}
	if p := s.serverErr.Load(); p != nil {
		out.ServerErr = *p
	}
	return out
}

// keyFor returns the key that opens records of generation gen, rereading
// the state once if the cache lacks it.
func (s *Store) keyFor(ctx context.Context, gen uint64) (*masterKey, error) {
	_, ring, _ := s.snapshot()
	if k := ring.get(gen); k != nil {
		return k, nil
	}
	if err := s.refresh(ctx); err != nil {
		return nil, err
	}
	_, ring, _ = s.snapshot()
	if k := ring.get(gen); k != nil {
		return k, nil
	}
	return nil, corruptf("record sealed with generation %d, which the store does not use", gen)
}

// openRecord reads and unseals the record at key. It returns ErrNotFound
// if there is none.
func (s *Store) openRecord(ctx context.Context, key []byte) ([]byte, error) {
	v, closer, err := s.db.Reader().Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sso: read: %w", err)
	}
	defer closer.Close()
	gen, err := sealedGen(v)
	if err != nil {
		return nil, err
	}
	k, err := s.keyFor(ctx, gen)
	if err != nil {
		return nil, err
	}
	return k.open(v, key)
}

// sealRecord seals plain for key with the write generation.
func (s *Store) sealRecord(key, plain []byte) ([]byte, error) {
	st, ring, _ := s.snapshot()
	k := ring.get(st.writeGen())
	if k == nil {
		return nil, fmt.Errorf("%w: generation %d is not cached", ErrNoSecret, st.writeGen())
	}
	return k.seal(nil, s.opts.Rand, key, plain)
}

// Audit returns up to limit audit records from sequence number from on,
// oldest first. The caller must be an SSO administrator; reading the
// trail is audited too.
func (s *Store) Audit(ctx context.Context, from uint64, limit int) ([]AuditRecord, error) {
	c, err := s.start(ctx, "Audit", "", "")
	if err != nil {
		return nil, err
	}
	if err := c.need(ctx, nil, RoleSSOAdmin); err != nil {
		return nil, err
	}
	lower := keys.AppendTable(nil, keys.TableSSOAudit)
	it, err := s.db.Reader().NewIter(&pebble.IterOptions{LowerBound: auditKey(from), UpperBound: keys.PrefixSuccessor(lower)})
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	var out []AuditRecord
	for it.First(); it.Valid() && len(out) < limit; it.Next() {
		seq, _, err := keys.DecodeUint64(it.Key()[1:])
		if err != nil {
			_ = it.Close()
			return nil, c.fail(ctx, fmt.Errorf("%w: audit key: %w", ErrCorruption, err))
		}
		v, err := it.ValueAndErr()
		var r AuditRecord
		if err == nil {
			r, err = decodeAudit(seq, v)
		}
		if err != nil {
			_ = it.Close()
			return nil, c.fail(ctx, err)
		}
		out = append(out, r)
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, c.fail(ctx, err)
	}
	if err := c.done(ctx, nil); err != nil {
		return nil, err
	}
	return out, nil
}
