package bam

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
)

// Store is the BAM Primary Import database: deployed definitions, activity
// instances (active and completed), continuations, real-time aggregations,
// the buffered event spool and its decoder, tracking profiles. It is safe
// for concurrent use.
//
// Open one Store per database: a Store assumes it is the database's only
// writer (it numbers spooled events and serialises the writers of instance
// records itself).
type Store struct {
	db   Database
	r    pebble.Reader
	opts Options

	closed atomic.Bool

	// applyMu serialises every writer of instance records, continuations
	// and aggregations (direct flushes, the decoder, deployments,
	// maintenance), from reading committed state to its commit, so each
	// reads what the previous one committed. It is held across commits:
	// the BAM database is its only writer of those tables. It is never
	// held by writers of the spool, so events joining a caller's
	// transaction never wait for it.
	applyMu sync.Mutex

	// cat is the deployed catalog; deployments swap it under applyMu.
	cat atomic.Pointer[catalog]
	// profiles are the bound tracking profiles; binds swap them under
	// applyMu.
	profiles atomic.Pointer[profiles]

	spool spool

	// decoder lifecycle: ctx cancels the goroutine, done is closed when it
	// has returned.
	decCtx    context.Context
	decCancel context.CancelFunc
	decDone   chan struct{}
	decErr    atomic.Pointer[error]
}

// Open opens the BAM database in db, creating its format record if the
// database is new, loads the deployed definitions and starts the decoder of
// buffered events, which first moves whatever a previous process left
// spooled. It fails with ErrFormatTooNew for a database written by a newer
// version, and with an error wrapping ErrCorruption for an unreadable one.
func Open(ctx context.Context, db Database, opts *Options) (*Store, error) {
	ctx = store.Context(ctx)
	if err := checkDatabase(db); err != nil {
		return nil, err
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, r: db.Reader(), opts: o}
	if err := s.checkFormat(ctx); err != nil {
		return nil, err
	}
	cat, err := s.loadCatalog()
	if err != nil {
		return nil, err
	}
	s.cat.Store(cat)
	if err := s.loadProfiles(); err != nil {
		return nil, err
	}
	if err := s.spool.load(s.r); err != nil {
		return nil, err
	}
	s.startDecoder()
	return s, nil
}

// Close stops the decoder and marks the Store closed. Events already
// spooled stay in the database and are moved by the next Open. It does not
// close the database, which the caller owns. Close is safe to call twice.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.decCancel()
	<-s.decDone
	return nil
}

// Err reports a closed Store (ErrClosed) or a decoder that stopped on an
// error it cannot get past (corrupt spool data or a failing database).
func (s *Store) Err() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if p := s.decErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (s *Store) now() time.Time { return s.opts.Now().UTC() }

func (s *Store) checkFormat(ctx context.Context) error {
	v, closer, err := s.r.Get(formatKey)
	if errors.Is(err, pebble.ErrNotFound) {
		tx, b := s.begin()
		defer tx.Abort()
		if err := b.Set(formatKey, []byte{formatVersion}, nil); err != nil {
			return err
		}
		_, err := tx.Commit(ctx)
		return err
	}
	if err != nil {
		return fmt.Errorf("bam: read format: %w", err)
	}
	defer closer.Close()
	if len(v) != 1 || v[0] == 0 {
		return corruptf("format key of %d bytes", len(v))
	}
	if v[0] > formatVersion {
		return fmt.Errorf("%w: format %d, this build reads up to %d", ErrFormatTooNew, v[0], formatVersion)
	}
	return nil
}

// get reads key from r into a copy; errNotFound when absent.
func get(r pebble.Reader, key []byte) ([]byte, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(v)
	return out, closer.Close()
}

// scan calls fn for every key with prefix in r, in order. The slices are
// valid only during the call.
func scan(r pebble.Reader, lower, upper []byte, fn func(k, v []byte) error) (err error) {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}

func (s *Store) check() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}
