package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// pebbleSystem is the practical limit: a queue written straight on one
// Pebble DB with its own WAL. A message is stored once (key m/<id>: send
// time, context, body), each queue entry is a key q/<queue>/<id>;
// completing deletes the entry and, with the last one, the message. The
// ready lists and reference counts live in memory, so there is no routing
// index, lease record or delivery count to write: everything biztier
// writes beyond that is its overhead.
type pebbleSystem struct {
	db     *pebble.DB
	wo     *pebble.WriteOptions
	routes map[string][]string // message type → queues

	// mu guards nextID, refs and the queues' ready lists.
	mu     sync.Mutex
	nextID uint64
	refs   map[uint64]int
	queues map[string]*pebbleQueue
}

type pebbleQueue struct {
	prefix []byte
	ready  []uint64
	// wake is closed and replaced when ready gains entries.
	wake chan struct{}
}

var _ System = (*pebbleSystem)(nil)

// quietLogger drops Pebble's informational lines.
type quietLogger struct{}

func (quietLogger) Infof(string, ...any) {}
func (quietLogger) Errorf(format string, args ...any) {
	pebble.DefaultLogger.Errorf(format, args...)
}
func (quietLogger) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

func openPebble(_ context.Context, dir string, cfg *Config) (System, error) {
	// The same memtable size as biztier's MessageBox (64 MiB).
	db, err := pebble.Open(dir, &pebble.Options{MemTableSize: 64 << 20, Logger: quietLogger{}})
	if err != nil {
		return nil, err
	}
	wo := pebble.Sync
	if !cfg.durable() {
		wo = pebble.NoSync
	}
	return &pebbleSystem{db: db, wo: wo, routes: map[string][]string{}, refs: map[uint64]int{}, queues: map[string]*pebbleQueue{}}, nil
}

func (s *pebbleSystem) Setup(_ context.Context, queues []string, routes []Route) error {
	for _, q := range queues {
		s.queues[q] = &pebbleQueue{prefix: []byte("q/" + q + "/"), wake: make(chan struct{})}
	}
	for _, r := range routes {
		if s.queues[r.Queue] == nil {
			return fmt.Errorf("route %s: unknown queue %q", r.Name, r.Queue)
		}
		s.routes[r.Match] = append(s.routes[r.Match], r.Queue)
	}
	return nil
}

func msgKey(id uint64) []byte { return binary.BigEndian.AppendUint64([]byte("m/"), id) }

func entryKey(q *pebbleQueue, id uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(nil), q.prefix...), id)
}

func (s *pebbleSystem) Publish(_ context.Context, msgs []Msg) error {
	s.mu.Lock()
	first := s.nextID
	s.nextID += uint64(len(msgs))
	s.mu.Unlock()
	b := s.db.NewBatch()
	defer b.Close()
	var val []byte
	for i, m := range msgs {
		id := first + uint64(i)
		val = binary.BigEndian.AppendUint64(val[:0], uint64(m.Sent))
		val = binary.AppendUvarint(val, uint64(len(m.Type)))
		val = append(val, m.Type...)
		val = binary.AppendUvarint(val, uint64(len(m.Context)))
		val = append(val, m.Context...)
		val = append(val, m.Body...)
		if err := b.Set(msgKey(id), val, nil); err != nil {
			return err
		}
		for _, q := range s.routes[m.Type] {
			if err := b.Set(entryKey(s.queues[q], id), nil, nil); err != nil {
				return err
			}
		}
	}
	if err := b.Commit(s.wo); err != nil {
		return err
	}
	s.mu.Lock()
	for i, m := range msgs {
		id := first + uint64(i)
		qs := s.routes[m.Type]
		if len(qs) == 0 {
			continue
		}
		s.refs[id] = len(qs)
		for _, name := range qs {
			q := s.queues[name]
			q.ready = append(q.ready, id)
			close(q.wake)
			q.wake = make(chan struct{})
		}
	}
	s.mu.Unlock()
	return nil
}

func (s *pebbleSystem) Next(ctx context.Context, queue string, done []Delivery, max int) ([]Delivery, error) {
	q := s.queues[queue]
	if q == nil {
		return nil, fmt.Errorf("unknown queue %q", queue)
	}
	if len(done) > 0 {
		b := s.db.NewBatch()
		s.mu.Lock()
		for _, d := range done {
			id := d.Handle.(uint64)
			_ = b.Delete(entryKey(q, id), nil)
			if s.refs[id]--; s.refs[id] == 0 {
				delete(s.refs, id)
				_ = b.Delete(msgKey(id), nil)
			}
		}
		s.mu.Unlock()
		err := b.Commit(s.wo)
		_ = b.Close()
		if err != nil {
			return nil, err
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return s.take(q, max)
}

// take pops up to max ready entries of q and reads their messages.
func (s *pebbleSystem) take(q *pebbleQueue, max int) ([]Delivery, error) {
	s.mu.Lock()
	n := min(max, len(q.ready))
	ids := append([]uint64(nil), q.ready[:n]...)
	q.ready = q.ready[n:]
	s.mu.Unlock()
	out := make([]Delivery, 0, n)
	for _, id := range ids {
		v, closer, err := s.db.Get(msgKey(id))
		if err != nil {
			return nil, err
		}
		d, err := decodePebbleValue(v)
		_ = closer.Close()
		if err != nil {
			return nil, err
		}
		d.Handle = id
		out = append(out, d)
	}
	return out, nil
}

func decodePebbleValue(v []byte) (Delivery, error) {
	var d Delivery
	if len(v) < 8 {
		return d, errors.New("short value")
	}
	d.Sent = int64(binary.BigEndian.Uint64(v))
	v = v[8:]
	n, k := binary.Uvarint(v)
	if k <= 0 || uint64(len(v)-k) < n {
		return d, errors.New("bad type length")
	}
	d.Type = string(v[k : k+int(n)])
	v = v[k+int(n):]
	n, k = binary.Uvarint(v)
	if k <= 0 || uint64(len(v)-k) < n {
		return d, errors.New("bad context length")
	}
	d.Size = len(v) - k - int(n)
	return d, nil
}

func (s *pebbleSystem) Wait(ctx context.Context, queue string, max int) ([]Delivery, error) {
	q := s.queues[queue]
	if q == nil {
		return nil, fmt.Errorf("unknown queue %q", queue)
	}
	for {
		s.mu.Lock()
		ready, wake := len(q.ready), q.wake
		s.mu.Unlock()
		if ready > 0 {
			ds, err := s.take(q, max)
			if err != nil || len(ds) > 0 {
				return ds, err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		}
	}
}

func (s *pebbleSystem) Close() error { return s.db.Close() }
