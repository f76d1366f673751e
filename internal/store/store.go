package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
)

// pebbleFormat is pinned, not FormatNewest: a replica applies the active's
// batch representations and panics if its format version is lower, so both
// nodes must agree on it whatever Pebble version built them.
const pebbleFormat = pebble.FormatValueSeparation

// formatVersion is the layout version of biztier data in a store. Open
// refuses a store with a newer one.
const formatVersion = 1

// System keys, under table prefix 0x01 (keys.TableSystem). They are written
// only by this package.
var (
	appliedKey = []byte("\x01applied-lsn")
	formatKey  = []byte("\x01format-version")
	// databaseKey holds the ID of the database a store was created for, so
	// a directory swapped with another database's is refused, not served.
	databaseKey = []byte("\x01database")
)

// DB is one database of the group: a Pebble DB whose only writer is the
// Set's applier. Its read methods are safe for concurrent use.
type DB struct {
	id  ID
	dir string
	pdb *pebble.DB
	// applied is the LSN of the last frame applied to this store (or the
	// LSN up to which the checkpointer declared it current). Written only by
	// the applier, under Set.applyMu.
	applied atomic.Uint64
	// closed is set once pdb is closed. Pebble panics on a closed DB, so
	// Get and NewIter check it and return ErrClosed: a typed store's handle
	// kept past Group.Close gets an error, not a crash.
	closed atomic.Bool
	// sortScratch is applyReprs' buffer for sorting records; only the
	// applier uses it, under Set.applyMu.
	sortScratch []batchRecord
}

// ID is the database's ID.
func (d *DB) ID() ID { return d.id }

// Dir is the database's directory.
func (d *DB) Dir() string { return d.dir }

// AppliedLSN is the LSN of the last frame this store has applied.
func (d *DB) AppliedLSN() uint64 { return d.applied.Load() }

// Reader returns the store's committed state for reading. After the set
// closes, its reads fail with ErrClosed instead of reaching a closed Pebble
// DB. It is also the store's name in a transaction: Txn.Batch(d.Reader())
// is this store's part of the Txn, so a database package holding the
// reader a group gave it can write its own store and no other.
func (d *DB) Reader() pebble.Reader { return reader{d} }

// reader is a DB as pebble.Reader. It never closes the DB: the Set owns it.
type reader struct{ d *DB }

func (r reader) Get(key []byte) ([]byte, io.Closer, error) { return r.d.Get(key) }

func (r reader) NewIter(o *pebble.IterOptions) (*pebble.Iterator, error) { return r.d.NewIter(o) }

func (r reader) NewIterWithContext(ctx context.Context, o *pebble.IterOptions) (*pebble.Iterator, error) {
	if r.d.closed.Load() {
		return nil, fmt.Errorf("store: iterate %s: %w", r.d.id, ErrClosed)
	}
	return r.d.pdb.NewIterWithContext(ctx, o)
}

// Close does nothing: the reader is a view of a store the Set closes.
func (reader) Close() error { return nil }

// Get returns the value of key. The value is valid until the closer is
// closed; pebble.ErrNotFound reports a missing key.
func (d *DB) Get(key []byte) ([]byte, io.Closer, error) {
	if d.closed.Load() {
		return nil, nil, fmt.Errorf("store: get from %s: %w", d.id, ErrClosed)
	}
	return d.pdb.Get(key)
}

// NewIter returns an iterator over the store. Set LowerBound and UpperBound;
// close it and check its Error.
func (d *DB) NewIter(o *pebble.IterOptions) (*pebble.Iterator, error) {
	if d.closed.Load() {
		return nil, fmt.Errorf("store: iterate %s: %w", d.id, ErrClosed)
	}
	return d.pdb.NewIter(o)
}

// NewSnapshot returns a point-in-time view of this store alone. For views
// across stores use Set.Snapshot.
func (d *DB) NewSnapshot() *pebble.Snapshot { return d.pdb.NewSnapshot() }

// Metrics returns Pebble's metrics for the store.
func (d *DB) Metrics() *pebble.Metrics { return d.pdb.Metrics() }

// Set is every database of a group on one log. It is safe for concurrent
// use.
type Set struct {
	opts Options
	log  *wal.Log
	dbs  [maxID + 1]*DB

	// applyMu is held for writing while frames are applied and for reading
	// while Snapshot takes a view across stores, so a view never holds half
	// of a multi-store frame. It also orders checkpointer writes of
	// applied-LSN keys against the applier's.
	applyMu sync.RWMutex

	// ckptMu serialises checkpoints.
	ckptMu       sync.Mutex
	ckptBytes    atomic.Uint64 // log bytes written at the last checkpoint
	checkpoints  atomic.Uint64
	closed       atomic.Bool
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	replayed     atomic.Bool // the stores are at the log's end (see Options.DeferReplay)
	replayFrames uint64
	replayBytes  uint64
	replayTime   time.Duration
}

// Open opens every store and the log, then replays the log into each store
// from its applied LSN, so that every store is at the log's end.
func Open(opts *Options) (_ *Set, err error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Set{opts: o}
	cache := pebble.NewCache(o.CacheSize)
	defer cache.Unref()
	defer func() {
		if err != nil {
			s.closeDBs()
		}
	}()
	var maxApplied uint64
	for _, id := range All {
		mem := o.MemTableSize
		// The MessageBox and Tracking take a write on every message; the
		// others see configuration-sized traffic. A Tracking memtable as
		// large as the MessageBox's flushes a quarter as often: measured
		// with the harness's messaging scenario (tracking on), 0.155× →
		// 0.179× raw Pebble and 0.067 → 0.053 CPU s per 1,000 messages.
		if id != MessageBox && id != Tracking {
			mem = max(mem/4, 4<<20)
		}
		db, err := openDB(id, o.Dirs[id], &pebble.Options{
			FS:                          o.FS,
			Cache:                       cache,
			DisableWAL:                  true,
			MemTableSize:                mem,
			MemTableStopWritesThreshold: 4,
			FormatMajorVersion:          pebbleFormat,
			Logger:                      o.Logger,
			L0CompactionThreshold:       4,
			L0StopWritesThreshold:       24,
		})
		if err != nil {
			return nil, err
		}
		s.dbs[id] = db
		maxApplied = max(maxApplied, db.applied.Load())
	}
	s.log, err = wal.Open(o.WALDir, &wal.Options{
		FS:           o.FS,
		Durability:   o.Durability,
		SegmentSize:  o.SegmentSize,
		MaxFrameSize: o.MaxFrameSize,
		Logger:       o.Logger,
		Now:          o.Now,
		NextLSN:      maxApplied + 1,
		Apply:        s.apply,
	})
	if err != nil {
		return nil, err
	}
	if !o.DeferReplay {
		if err := s.replay(); err != nil {
			_ = s.log.Close()
			return nil, err
		}
		s.replayed.Store(true)
	}
	s.ckptBytes.Store(s.log.Stats().BytesWritten)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if o.CheckpointInterval > 0 {
		s.wg.Add(1)
		go s.runCheckpointer(ctx)
	}
	return s, nil
}

func openDB(id ID, dir string, po *pebble.Options) (*DB, error) {
	pdb, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("store: open %s database in %s: %w", id, dir, err)
	}
	db := &DB{id: id, dir: dir, pdb: pdb}
	fail := func(err error) (*DB, error) {
		_ = pdb.Close()
		return nil, err
	}
	v, err := getUint64(pdb, formatKey)
	switch {
	case err != nil:
		return fail(fmt.Errorf("store: %s database: read format version: %w", id, err))
	case v > formatVersion:
		return fail(fmt.Errorf("%w: %s database in %s has format %d, this build knows up to %d", ErrFormatTooNew, id, dir, v, formatVersion))
	case v == 0:
		// A new store: record its format. NoSync is enough: a crash before
		// the first flush leaves it new again.
		if err := pdb.Set(formatKey, binary.BigEndian.AppendUint64(nil, formatVersion), pebble.NoSync); err != nil {
			return fail(fmt.Errorf("store: %s database: write format version: %w", id, err))
		}
	}
	if err := checkDatabase(pdb, id, dir); err != nil {
		return fail(err)
	}
	applied, err := getUint64(pdb, appliedKey)
	if err != nil {
		return fail(fmt.Errorf("store: %s database: read applied lsn: %w", id, err))
	}
	db.applied.Store(applied)
	return db, nil
}

// checkDatabase refuses a store created for another database and records
// id in a store that does not say (a new one, or one older than the key).
func checkDatabase(pdb *pebble.DB, id ID, dir string) error {
	v, closer, err := pdb.Get(databaseKey)
	if errors.Is(err, pebble.ErrNotFound) {
		if err := pdb.Set(databaseKey, []byte{byte(id)}, pebble.NoSync); err != nil {
			return fmt.Errorf("store: %s database: write database id: %w", id, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: %s database: read database id: %w", id, err)
	}
	defer closer.Close()
	if len(v) != 1 {
		return fmt.Errorf("store: %s database in %s: database id of %d bytes: %w", id, dir, len(v), wal.ErrCorrupt)
	}
	if ID(v[0]) != id {
		return fmt.Errorf("%w: %s holds the %s database, not %s", ErrWrongDatabase, dir, ID(v[0]), id)
	}
	return nil
}

// getUint64 reads a big-endian uint64 value; a missing key reads as 0.
func getUint64(r pebble.Reader, key []byte) (uint64, error) {
	v, closer, err := r.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("store: key %q holds %d bytes, want 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// replay applies the log's frames after each store's applied LSN.
func (s *Set) replay() error {
	first, last := s.log.FirstLSN(), s.log.DurableLSN()
	from := last + 1
	for _, db := range s.stores() {
		a := db.applied.Load()
		if a > last {
			return fmt.Errorf("%w: %s database has applied lsn %d but the log ends at %d (was the group run with NoSync and crashed?)",
				ErrBehindLog, db.id, a, last)
		}
		if a == 0 && first > 1 {
			// A store that has never applied a frame exists only in a group
			// whose log starts at 1: the checkpointer raises every store
			// before it truncates. Anything else is a store directory that
			// was lost or replaced, and replaying the log's tail into it
			// would serve a database missing everything before.
			return fmt.Errorf("%w: %s database in %s is empty (applied lsn 0) but the log starts at lsn %d: its directory was lost or replaced",
				ErrBehindLog, db.id, db.dir, first)
		}
		if a+1 < first {
			return fmt.Errorf("%w: %s database needs lsn %d but the log starts at %d", ErrBehindLog, db.id, a+1, first)
		}
		from = min(from, a+1)
	}
	if from > last {
		return nil
	}
	start := time.Now()
	r, err := s.log.NewReader(from)
	if err != nil {
		return err
	}
	defer r.Close()
	// Reading (checksums and copies) and applying (memtable inserts) each
	// take about half of a replay's CPU: a reader goroutine runs one chunk
	// ahead of the applier so that both cores work.
	chunks := make(chan replayChunk, 2)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(chunks)
		readReplay(r, chunks, stop)
	}()
	defer func() {
		close(stop)
		<-done
	}()
	for c := range chunks {
		if len(c.frames) > 0 {
			if err := s.apply(c.frames); err != nil {
				return fmt.Errorf("store: replay: %w", err)
			}
			s.replayFrames += uint64(len(c.frames))
			s.replayBytes += c.bytes
		}
		if c.err != nil {
			return c.err
		}
	}
	s.replayTime = time.Since(start)
	return nil
}

// replayChunk is a run of frames read for replay, with their size; err
// ends the replay after the frames are applied.
type replayChunk struct {
	frames []*wal.Frame
	bytes  uint64
	err    error
}

// replayChunkFrames is how many frames replay applies at once: one Pebble
// batch per store per chunk.
const replayChunkFrames = 512

// readReplay reads r to its end in chunks, sending each on out until stop
// is closed.
func readReplay(r *wal.Reader, out chan<- replayChunk, stop <-chan struct{}) {
	c := replayChunk{frames: make([]*wal.Frame, 0, replayChunkFrames)}
	send := func() bool {
		select {
		case out <- c:
			c = replayChunk{frames: make([]*wal.Frame, 0, replayChunkFrames)}
			return true
		case <-stop:
			return false
		}
	}
	for {
		f, err := r.Read()
		if err != nil && !errors.Is(err, io.EOF) {
			c.err = fmt.Errorf("store: replay from lsn %d: %w", r.NextLSN(), err)
			send()
			return
		}
		if f != nil {
			c.frames = append(c.frames, f)
			c.bytes += uint64(f.Size())
		}
		if err != nil {
			// The log's end.
			if len(c.frames) > 0 {
				send()
			}
			return
		}
		if len(c.frames) == replayChunkFrames && !send() {
			return
		}
	}
}

// apply is the log's Apply hook and replay's: it applies a run of frames,
// in LSN order, to the stores they touch. Per store, every record of the run
// goes into one Pebble batch together with the store's new applied LSN, so
// a store's state is always an exact log prefix and each store takes one
// Pebble commit per group, not per frame.
func (s *Set) apply(frames []*wal.Frame) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	var parts [maxID + 1][][]byte
	var last [maxID + 1]uint64
	for _, f := range frames {
		if f.Type != wal.TypeCommit {
			continue
		}
		recs, err := wal.DecodeRecords(f.Payload)
		if err != nil {
			return fmt.Errorf("lsn %d: %w", f.LSN, err)
		}
		for _, r := range recs {
			id := ID(r.Store)
			if !id.Valid() {
				return fmt.Errorf("lsn %d: %w: unknown store id %d", f.LSN, wal.ErrCorrupt, r.Store)
			}
			if f.LSN <= s.dbs[id].applied.Load() {
				continue // replay of a frame this store already has
			}
			if len(r.Data) < batchHeaderLen {
				return fmt.Errorf("lsn %d: %w: %s record of %d bytes", f.LSN, wal.ErrCorrupt, id, len(r.Data))
			}
			parts[id] = append(parts[id], r.Data)
			last[id] = f.LSN
		}
	}
	for _, id := range All {
		if len(parts[id]) == 0 {
			continue
		}
		if err := s.dbs[id].applyReprs(parts[id], last[id]); err != nil {
			return err
		}
	}
	return nil
}

// appliedRecordLen bounds the size of the applied-LSN record in a batch
// representation: its kind, the key and the 8-byte value with their
// uvarint lengths.
var appliedRecordLen = 1 + 2*binary.MaxVarintLen32 + len(appliedKey) + 8

// batchHeaderLen is the size of a Pebble batch representation's header:
// an 8-byte sequence number and a 4-byte record count, little-endian.
const batchHeaderLen = 12

// applyReprs commits the records of reprs, in order, plus the applied-LSN
// key, as one Pebble batch. Pebble documents the repr format as stable (it
// is its WAL format), so concatenating record bodies under one header with
// the summed count is a valid batch.
func (d *DB) applyReprs(reprs [][]byte, lsn uint64) error {
	// One buffer holds the frames' records and the applied-LSN record, so
	// that the batch never grows: growing copies the whole batch into a
	// buffer twice its size. The buffer is the batch's own: Pebble's batch
	// pool keeps it (up to 1 MiB) for the next batch, so applying reuses
	// memory instead of allocating the group's size every time.
	n := batchHeaderLen + appliedRecordLen
	for _, r := range reprs {
		n += len(r) - batchHeaderLen
	}
	b := d.pdb.NewBatchWithSize(n)
	data := b.Repr()[:batchHeaderLen] // an empty batch: a zeroed header
	var count uint32
	for _, r := range reprs {
		count += binary.LittleEndian.Uint32(r[8:12])
	}
	var ok bool
	if data, d.sortScratch, ok = appendSorted(data, reprs, d.sortScratch); !ok {
		b.Close()
		return fmt.Errorf("%s database: lsn %d: %w: bad batch", d.id, lsn, wal.ErrCorrupt)
	}
	binary.LittleEndian.PutUint32(data[8:12], count)
	if err := b.SetRepr(data); err != nil {
		b.Close()
		return fmt.Errorf("%s database: lsn %d: %w: bad batch: %v", d.id, lsn, wal.ErrCorrupt, err)
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], lsn)
	if err := b.Set(appliedKey, v[:], nil); err != nil {
		b.Close()
		return fmt.Errorf("%s database: lsn %d: %w", d.id, lsn, err)
	}
	// NoSync: durability is the group log's job, and Pebble's WAL is off.
	if err := b.Commit(pebble.NoSync); err != nil {
		b.Close()
		return fmt.Errorf("%s database: apply lsn %d: %w", d.id, lsn, err)
	}
	d.applied.Store(lsn)
	return b.Close()
}

func (s *Set) stores() []*DB {
	out := make([]*DB, 0, len(All))
	for _, id := range All {
		if s.dbs[id] != nil {
			out = append(out, s.dbs[id])
		}
	}
	return out
}

// DB returns the database id.
func (s *Set) DB(id ID) *DB { return s.dbs[id] }

// Log returns the group log. Replication, shipping and backup read it and
// pin it; stores never commit to it directly but through a Txn.
func (s *Set) Log() *wal.Log { return s.log }

// Snapshot returns a consistent view of the given stores: all taken at the
// same frame boundary. Close every snapshot when done.
func (s *Set) Snapshot(ids ...ID) map[ID]*pebble.Snapshot {
	s.applyMu.RLock()
	defer s.applyMu.RUnlock()
	out := make(map[ID]*pebble.Snapshot, len(ids))
	for _, id := range ids {
		out[id] = s.dbs[id].pdb.NewSnapshot()
	}
	return out
}
