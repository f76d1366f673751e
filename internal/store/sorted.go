package store

import (
	"bytes"
	"slices"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"
)

// Applying a batch inserts its records into Pebble's memtable, a skiplist,
// one by one. Each insert starts its search from where the previous one
// ended when the keys come in order, and from the top of the list when
// they do not: for a group's batch, whose records jump between tables
// (a message, its queue entry, its tracking rows and their indexes), the
// search was the largest single cost of applying. appendSorted lays the
// records out in key order instead.
//
// Reordering is safe for point writes only: Pebble gives the records of a
// batch increasing sequence numbers in batch order, and among point writes
// only the order of writes to one key decides what is read, which a stable
// sort keeps. A range deletion deletes what has a lower sequence number, so
// a batch holding one (or a LogData record, which takes no sequence
// number) keeps its order.

// batchRecord is one record of a batch representation: its user key and
// its encoded bytes.
type batchRecord struct {
	key, raw []byte
}

// minSortedRecords is the smallest batch worth sorting: below it the
// search saved does not pay for the sort.
const minSortedRecords = 8

// maxSortScratch is the most records whose scratch appendSorted keeps
// between calls; a replay's larger chunks allocate their own.
const maxSortScratch = 1 << 16

// appendSorted appends the records of the batch representations reprs to
// dst, which holds a batch header, in key order when they are all point
// writes and in their own order otherwise. scratch is reused between calls;
// appendSorted returns it. It reports false, having appended nothing, if a
// representation cannot be read.
func appendSorted(dst []byte, reprs [][]byte, scratch []batchRecord) ([]byte, []batchRecord, bool) {
	recs := scratch[:0]
	sortable := true
	for _, repr := range reprs {
		r := batchrepr.Read(repr)
		for {
			before := r
			kind, key, _, ok, err := r.Next()
			if err != nil {
				return dst, recs, false
			}
			if !ok {
				break
			}
			switch kind {
			case pebble.InternalKeyKindSet, pebble.InternalKeyKindDelete, pebble.InternalKeyKindDeleteSized:
			default:
				sortable = false
			}
			recs = append(recs, batchRecord{key: key, raw: before[:len(before)-len(r)]})
		}
	}
	if sortable && len(recs) >= minSortedRecords {
		slices.SortStableFunc(recs, func(a, b batchRecord) int { return bytes.Compare(a.key, b.key) })
	}
	for _, rec := range recs {
		dst = append(dst, rec.raw...)
	}
	clear(recs) // drop the references into reprs
	if cap(recs) > maxSortScratch {
		recs = nil
	}
	return dst, recs[:0], true
}
