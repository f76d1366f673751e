package tracking

import (
	"context"
	"fmt"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// TableStats counts one table of the tracking database.
type TableStats struct {
	// Table is the table's name, such as "MessageEvents".
	Table string
	// Rows is the number of keys in the table.
	Rows int64
	// Bytes is the size of its keys and values, uncompressed.
	Bytes int64
}

// Stats describe the tracking database and its purge.
type Stats struct {
	// Tables counts every tracking table, in key order.
	Tables []TableStats
	// DiskBytes is the tracking database's size on disk.
	DiskBytes uint64
	// Oldest is when the oldest record still in the database (instance
	// start or message event) was recorded; zero when it is empty.
	Oldest time.Time
	// PurgeLag is how long the most overdue record has been due for
	// purge: zero when purge is keeping up (it runs every PurgeInterval,
	// so a lag below that is normal).
	PurgeLag time.Duration
	// PurgeBatches, PurgedInstances and PurgedRows total the purge's work
	// since the database was created; LastPurge is when its last batch
	// committed.
	PurgeBatches    uint64
	PurgedInstances uint64
	PurgedRows      uint64
	LastPurge       time.Time
	// PurgeError is the error of the last background purge pass, nil if
	// it succeeded (or none ran).
	PurgeError error
}

var statTables = []keys.Table{
	keys.TableServiceInstances, keys.TableMessageEvents, keys.TableTrackedBodies,
	keys.TableInstancesByService, keys.TableInstancesByState, keys.TableInstancesByTime,
	keys.TableEventsByMessage, keys.TableEventsByPort, keys.TableEventsByTime,
	keys.TableEventsByProperty, keys.TableInstancesFinished, keys.TableTrackingMeta,
}

// Stats scans the tracking database and returns its statistics. It reads
// every key, so it costs time proportional to the database's size: call it
// from monitoring, not from a hot path.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	ctx = store.Context(ctx)
	var st Stats
	err := s.withSnapshot(ctx, func(rd reader) error {
		for _, t := range statTables {
			ts := TableStats{Table: t.String()}
			err := rd.walk(tablePrefix(t), nil, false, func(k []byte) (bool, error) {
				ts.Rows++
				ts.Bytes += int64(len(k))
				if ts.Rows%1024 == 0 {
					if err := ctx.Err(); err != nil {
						return false, err
					}
				}
				return true, nil
			})
			if err != nil {
				return err
			}
			if err := rd.valueBytes(t, &ts); err != nil {
				return err
			}
			st.Tables = append(st.Tables, ts)
		}
		return s.purgeStats(rd, &st)
	})
	if err != nil {
		return Stats{}, fmt.Errorf("tracking: stats: %w", err)
	}
	st.DiskBytes = s.db.Metrics().DiskSpaceUsage()
	s.errMu.Lock()
	st.PurgeError = s.purgeErr
	s.errMu.Unlock()
	return st, nil
}

// valueBytes adds the size of the values of a primary table to ts; the
// indexes have empty values.
func (rd reader) valueBytes(t keys.Table, ts *TableStats) (err error) {
	switch t {
	case keys.TableServiceInstances, keys.TableMessageEvents, keys.TableTrackedBodies, keys.TableTrackingMeta:
	default:
		return nil
	}
	lo, hi := keys.PrefixBounds(tablePrefix(t))
	it, err := rd.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	for ok := it.First(); ok; ok = it.Next() {
		lv := it.LazyValue()
		ts.Bytes += int64(lv.Len())
	}
	return it.Error()
}

// purgeStats fills the oldest record, the purge lag and the progress.
func (s *Store) purgeStats(rd reader, st *Stats) error {
	now := s.opts.Clock()
	oldest := uint64(0)
	lag := time.Duration(0)
	due := func(stamp uint64, after time.Duration) {
		if d := now.Sub(stampTime(stamp).Add(after)); d > lag {
			lag = d
		}
	}
	older := func(stamp uint64) {
		if oldest == 0 || stamp < oldest {
			oldest = stamp
		}
	}
	// Oldest instance start and oldest event: the ends of the descending
	// time indexes.
	for _, t := range []keys.Table{keys.TableInstancesByTime, keys.TableEventsByTime} {
		k, err := firstKey(rd.r, tablePrefix(t), true)
		if err != nil {
			return err
		}
		if k == nil {
			continue
		}
		stamp, _, err := decodeLocator(k)
		if err != nil {
			return err
		}
		older(stamp)
		due(stamp, s.opts.HardDeleteAge)
	}
	if k, err := firstKey(rd.r, tablePrefix(keys.TableInstancesFinished), false); err != nil {
		return err
	} else if k != nil {
		end, _, err := keys.DecodeUint64(k[1:])
		if err != nil {
			return corruption("finished key", err)
		}
		due(end, s.opts.LiveWindow)
	}
	if k, err := firstKey(rd.r, eventPrefix(nil, uuid.Nil), false); err != nil {
		return err
	} else if k != nil {
		stamp, _, err := keys.DecodeUint64(k[1+16:])
		if err != nil {
			return corruption("event key", err)
		}
		due(stamp, s.opts.LiveWindow)
	}
	st.Oldest = stampTime(oldest)
	st.PurgeLag = lag
	p, err := s.progress()
	if err != nil {
		return err
	}
	st.PurgeBatches, st.PurgedInstances, st.PurgedRows = p.batches, p.instances, p.rows
	st.LastPurge = stampTime(p.lastRun)
	return nil
}
