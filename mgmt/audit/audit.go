package audit

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/biztier/biztier"
)

// Record is one entry of the audit trail.
type Record struct {
	// Seq numbers the records of a group from 1; Append sets it.
	Seq uint64 `json:"seq"`
	// At is when the record was written; Append sets it.
	At time.Time `json:"at"`
	// Principal is who acted, as the console's Authorizer or the command's
	// user named them.
	Principal string `json:"principal"`
	// Tool is what acted: "console" or "biztier" (the command).
	Tool string `json:"tool"`
	// Action is the operation, such as "resume" or "bindings import".
	Action string `json:"action"`
	// Phase is "begin" before acting and "end" after.
	Phase string `json:"phase"`
	// Target says what the action was on: a query, a file, an application.
	Target string `json:"target"`
	// Count is how many items the action touched (end) or was confirmed
	// for (begin).
	Count int `json:"count"`
	// Error is the action's error text, empty if it succeeded.
	Error string `json:"error,omitempty"`
}

// The keys of the trail in Management's application keyspace.
var (
	keyNext   = []byte("biztier.audit/next")
	keyRecord = "biztier.audit/r/%016x"
)

// recordVersion is the format byte in front of every stored record.
const recordVersion = 1

// locks holds one mutex per group ID: Append reads the next sequence number
// and writes it back, and two appends of one group must not interleave. A
// group is open in one process only (Open locks its directory), so a lock in
// this process is enough.
var locks sync.Map // uuid.UUID (the group ID) → *sync.Mutex

// Updater commits a transaction on a group: a *biztier.Group, or a
// *cluster.Node, whose writes must go through its own (fenced) Update.
type Updater interface {
	Update(ctx context.Context, fn func(*biztier.Tx) error) (uint64, error)
}

var _ Updater = (*biztier.Group)(nil)

// Options configure a Log. A nil *Options means defaults.
type Options struct {
	// Now stamps records. Defaults to time.Now.
	Now func() time.Time
	// Updater commits the records. Defaults to the group itself; give the
	// cluster node for a group that is one of a pair.
	Updater Updater
}

// Log is a group's audit trail. It is safe for concurrent use.
type Log struct {
	g   *biztier.Group
	up  Updater
	now func() time.Time
	mu  *sync.Mutex // the group's append lock (see locks)
}

// New returns the audit trail of g.
func New(g *biztier.Group, opts *Options) *Log {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Updater == nil {
		o.Updater = g
	}
	m, _ := locks.LoadOrStore(g.ID(), new(sync.Mutex))
	return &Log{g: g, up: o.Updater, now: o.Now, mu: m.(*sync.Mutex)}
}

// Append writes r as the next record, setting its Seq and At, and returns it
// once it is durable.
func (l *Log) Append(ctx context.Context, r Record) (Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	next, err := l.next()
	if err != nil {
		return r, err
	}
	r.Seq = next
	r.At = l.now().UTC()
	body, err := json.Marshal(r)
	if err != nil {
		return r, fmt.Errorf("audit: %w", err)
	}
	val := append([]byte{recordVersion}, body...)
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], next+1)
	_, err = l.up.Update(ctx, func(tx *biztier.Tx) error {
		if err := tx.Set(biztier.Management, fmt.Appendf(nil, keyRecord, next), val); err != nil {
			return err
		}
		return tx.Set(biztier.Management, keyNext, n[:])
	})
	if err != nil {
		return r, fmt.Errorf("audit: append: %w", err)
	}
	return r, nil
}

// next returns the sequence number the next record gets.
func (l *Log) next() (uint64, error) {
	v, ok, err := l.g.Get(biztier.Management, keyNext)
	if err != nil {
		return 0, fmt.Errorf("audit: %w", err)
	}
	if !ok {
		return 1, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: next sequence number of %d bytes", ErrCorruption, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}

// List returns up to limit records, newest first (limit <= 0: 100).
func (l *Log) List(ctx context.Context, limit int) ([]Record, error) {
	if limit <= 0 {
		limit = 100
	}
	l.mu.Lock()
	next, err := l.next()
	l.mu.Unlock()
	if err != nil {
		return nil, err
	}
	var out []Record
	for seq := next - 1; seq >= 1 && len(out) < limit; seq-- {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		v, ok, err := l.g.Get(biztier.Management, fmt.Appendf(nil, keyRecord, seq))
		if err != nil {
			return out, fmt.Errorf("audit: %w", err)
		}
		if !ok {
			return out, fmt.Errorf("%w: record %d missing", ErrCorruption, seq)
		}
		if len(v) == 0 || v[0] != recordVersion {
			return out, fmt.Errorf("%w: record %d has an unknown format", ErrCorruption, seq)
		}
		var r Record
		if err := json.Unmarshal(v[1:], &r); err != nil {
			return out, fmt.Errorf("%w: record %d: %v", ErrCorruption, seq, err)
		}
		out = append(out, r)
	}
	return out, nil
}
