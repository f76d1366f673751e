package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
)

// Txn is one atomic change across any of the group's stores: a Pebble
// batch per store it touches, committed as one log frame. A Txn is not safe
// for concurrent use. Nothing it writes is visible to readers (including
// through Get on the store) until Commit returns; for reads of its own
// writes use IndexedBatch.
type Txn struct {
	s       *Set
	batches [maxID + 1]*pebble.Batch
	done    bool
	// onCommit runs, in order, once the Txn has committed.
	onCommit []func()
	// onAbort runs, in order, if the Txn ends without committing.
	onAbort   []func()
	committed bool
}

// OnCommit registers fn to run after the Txn commits successfully, before
// Commit returns, in Commit's goroutine. Stores use it to update in-memory
// state (indexes, queues) only once the writes it mirrors are durable and
// visible, whoever owns the Txn. fn must not use this Txn; it may commit
// others.
func (t *Txn) OnCommit(fn func()) { t.onCommit = append(t.onCommit, fn) }

// OnAbort registers fn to run if the Txn ends without committing: Abort, a
// failed Commit, or a Commit refused before writing. Stores use it to undo
// in-memory holds they took while planning their writes. fn must not use
// this Txn.
func (t *Txn) OnAbort(fn func()) { t.onAbort = append(t.onAbort, fn) }

// NewTxn starts a transaction.
func (s *Set) NewTxn() *Txn { return &Txn{s: s} }

// BatchOf returns the write batch for store id, creating it on first use.
// Use Set, Delete and DeleteRange on it; SingleDelete is refused at Commit.
// The batch belongs to the Txn: do not commit or close it.
func (t *Txn) BatchOf(id ID) *pebble.Batch {
	if t.batches[id] == nil {
		t.batches[id] = t.s.dbs[id].pdb.NewBatch()
	}
	return t.batches[id]
}

// IndexedBatchOf is BatchOf, but the batch can also be read (merged with
// the store's committed state through its NewIter and Get). It must be the
// first use of id in this Txn.
func (t *Txn) IndexedBatchOf(id ID) *pebble.Batch {
	if t.batches[id] == nil {
		t.batches[id] = t.s.dbs[id].pdb.NewIndexedBatch()
	} else if !t.batches[id].Indexed() {
		panic(fmt.Sprintf("store: IndexedBatch(%s) after Batch(%s) in one Txn", id, id))
	}
	return t.batches[id]
}

// Batch is the database packages' way to BatchOf: the write batch of the
// store that r (a DB.Reader of this Set) reads. It fails with
// ErrForeignDatabase for any other reader and ErrTxnDone once the Txn has
// committed or aborted.
func (t *Txn) Batch(r pebble.Reader) (*pebble.Batch, error) {
	id, err := t.storeOf(r)
	if err != nil {
		return nil, err
	}
	return t.BatchOf(id), nil
}

// IndexedBatch is Batch for IndexedBatchOf. It fails with ErrBatchKind if
// the Txn already holds a plain batch for that store.
func (t *Txn) IndexedBatch(r pebble.Reader) (*pebble.Batch, error) {
	id, err := t.storeOf(r)
	if err != nil {
		return nil, err
	}
	if b := t.batches[id]; b != nil && !b.Indexed() {
		return nil, fmt.Errorf("%w: %s", ErrBatchKind, id)
	}
	return t.IndexedBatchOf(id), nil
}

// Reader is store id's reader, the key to its batch in Batch.
func (t *Txn) Reader(id ID) pebble.Reader { return t.s.dbs[id].Reader() }

func (t *Txn) storeOf(r pebble.Reader) (ID, error) {
	if t.done {
		return 0, ErrTxnDone
	}
	rd, ok := r.(reader)
	if !ok || rd.d == nil || !rd.d.id.Valid() || t.s.dbs[rd.d.id] != rd.d {
		return 0, ErrForeignDatabase
	}
	return rd.d.id, nil
}

// Empty reports whether the Txn has written nothing.
func (t *Txn) Empty() bool {
	for _, b := range t.batches {
		if b != nil && !b.Empty() {
			return false
		}
	}
	return true
}

// Size is the number of bytes the Txn's batches hold.
func (t *Txn) Size() int {
	n := 0
	for _, b := range t.batches {
		if b != nil {
			n += len(b.Repr())
		}
	}
	return n
}

// Commit writes the Txn as one frame and returns its LSN once the frame is
// durable and applied to every store it touches. An empty Txn commits
// nothing and returns 0. The Txn cannot be used after Commit or Abort.
// ctx bounds only the wait to enter the log's queue (see wal.Log.Commit).
func (t *Txn) Commit(ctx context.Context) (uint64, error) {
	if t.done {
		return 0, fmt.Errorf("store: txn already finished")
	}
	defer t.Abort()
	if t.s.closed.Load() {
		return 0, ErrClosed
	}
	var recs [maxID + 1]wal.Record
	n := 0
	for id, b := range t.batches {
		if b == nil || b.Empty() {
			continue
		}
		if err := checkKinds(ID(id), b); err != nil {
			return 0, err
		}
		recs[n] = wal.Record{Store: uint8(id), Data: b.Repr()}
		n++
	}
	if n == 0 {
		t.runOnCommit()
		return 0, nil
	}
	// The payload is a copy: Repr aliases the batch's memory, which Abort
	// releases once this returns. The log keeps no payload once Commit
	// returns, so the copy's buffer goes back to a pool.
	buf := payloadPool.Get().(*[]byte)
	payload := wal.EncodeRecords(slices.Grow((*buf)[:0], wal.RecordsSize(recs[:n])), recs[:n])
	lsn, err := t.s.log.Commit(ctx, wal.TypeCommit, payload)
	if cap(payload) <= maxPooledPayload {
		*buf = payload[:0]
		payloadPool.Put(buf)
	}
	if errors.Is(err, wal.ErrClosed) {
		return 0, ErrClosed
	}
	if err != nil {
		return 0, fmt.Errorf("store: commit: %w", err)
	}
	t.runOnCommit()
	return lsn, nil
}

// payloadPool keeps the buffers commit payloads are encoded into; a fresh
// one per commit was a fifth of a busy group's allocations.
var payloadPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooledPayload is the largest payload buffer payloadPool keeps.
const maxPooledPayload = 1 << 20

func (t *Txn) runOnCommit() {
	t.committed = true
	for _, fn := range t.onCommit {
		fn()
	}
	t.onCommit = nil
}

// Abort drops the Txn's batches. It is safe after Commit.
func (t *Txn) Abort() {
	if t.done {
		return
	}
	t.done = true
	if !t.committed {
		for _, fn := range t.onAbort {
			fn()
		}
	}
	t.onAbort = nil
	for i, b := range t.batches {
		if b != nil {
			_ = b.Close()
			t.batches[i] = nil
		}
	}
}

func checkKinds(id ID, b *pebble.Batch) error {
	r := b.Reader()
	for {
		kind, key, _, ok, err := r.Next()
		if err != nil {
			return fmt.Errorf("store: %s batch: %w", id, err)
		}
		if !ok {
			return nil
		}
		switch kind {
		case pebble.InternalKeyKindSet, pebble.InternalKeyKindDelete, pebble.InternalKeyKindRangeDelete,
			pebble.InternalKeyKindDeleteSized, pebble.InternalKeyKindLogData:
		default:
			return fmt.Errorf("%w: %s batch, key %q: %v", ErrForbiddenRecord, id, key, kind)
		}
	}
}

// Context returns ctx, or context.Background() for a nil ctx: every
// exported call that takes a context passes it through this first, so a
// nil context is treated as Background instead of panicking deep inside.
func Context(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
