package store

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/batchrepr"
	"github.com/cockroachdb/pebble/v2/vfs"
	"pgregory.net/rapid"
)

// TestAppendSorted_sameState applies random batches to two Pebble DBs, one
// as written and one through appendSorted, and checks that both read the
// same: sorting must never change what a batch does, whatever it holds
// (rewrites of one key, deletions, range deletions).
func TestAppendSorted_sameState(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		want, got := openMemPebble(t), openMemPebble(t)
		defer want.Close()
		defer got.Close()
		t := rt
		var scratch []batchRecord
		for range rapid.IntRange(1, 4).Draw(t, "groups") {
			var reprs [][]byte
			for range rapid.IntRange(1, 3).Draw(t, "frames") {
				b := want.NewBatch()
				for i := range rapid.IntRange(1, 24).Draw(t, "ops") {
					k := []byte(fmt.Sprintf("k%02d", rapid.IntRange(0, 15).Draw(t, "key")))
					switch rapid.IntRange(0, 9).Draw(t, "op") {
					case 0, 1:
						_ = b.Delete(k, nil)
					case 2:
						end := []byte(fmt.Sprintf("k%02d", rapid.IntRange(0, 16).Draw(t, "end")))
						_ = b.DeleteRange(k, end, nil)
					default:
						_ = b.Set(k, []byte(fmt.Sprintf("v%d", i)), nil)
					}
				}
				reprs = append(reprs, append([]byte(nil), b.Repr()...))
				if err := b.Commit(pebble.NoSync); err != nil {
					t.Fatal(err)
				}
			}
			data := make([]byte, batchHeaderLen)
			var count uint32
			for _, r := range reprs {
				count += uint32(r[8]) | uint32(r[9])<<8 | uint32(r[10])<<16 | uint32(r[11])<<24
			}
			var ok bool
			data, scratch, ok = appendSorted(data, reprs, scratch)
			if !ok {
				t.Fatal("appendSorted refused a valid batch")
			}
			data[8], data[9], data[10], data[11] = byte(count), byte(count>>8), byte(count>>16), byte(count>>24)
			b := got.NewBatch()
			if err := b.SetRepr(data); err != nil {
				t.Fatal(err)
			}
			if err := b.Commit(pebble.NoSync); err != nil {
				t.Fatal(err)
			}
		}
		if w, g := dumpPebble(t, want), dumpPebble(t, got); w != g {
			t.Fatalf("sorted apply reads\n%s\nwhere the batches as written read\n%s", g, w)
		}
	})
}

func TestAppendSorted(t *testing.T) {
	db := openMemPebble(t)
	defer db.Close()
	repr := func(ops func(b *pebble.Batch)) []byte {
		b := db.NewBatch()
		defer b.Close()
		ops(b)
		return append([]byte(nil), b.Repr()...)
	}
	points := repr(func(b *pebble.Batch) {
		for _, k := range []string{"m", "c", "x", "a", "c", "q", "b", "z", "d"} {
			_ = b.Set([]byte(k), []byte(k+"1"), nil)
		}
		_ = b.Delete([]byte("c"), nil)
	})
	ranged := repr(func(b *pebble.Batch) {
		_ = b.Set([]byte("z"), nil, nil)
		_ = b.DeleteRange([]byte("a"), []byte("m"), nil)
		_ = b.Set([]byte("b"), nil, nil)
	})
	tests := map[string]struct {
		reprs [][]byte
		want  []string // keys in the order written
	}{
		"point writes in key order, one key's writes in their order": {
			[][]byte{points}, []string{"SET a", "SET b", "SET c", "SET c", "DEL c", "SET d", "SET m", "SET q", "SET x", "SET z"}},
		"a range deletion keeps the order": {
			[][]byte{ranged}, []string{"SET z", "RANGEDEL a", "SET b"}},
		"a few records keep their order": {
			[][]byte{repr(func(b *pebble.Batch) { _ = b.Set([]byte("b"), nil, nil); _ = b.Set([]byte("a"), nil, nil) })},
			[]string{"SET b", "SET a"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			data, _, ok := appendSorted(make([]byte, batchHeaderLen), tt.reprs, nil)
			if !ok {
				t.Fatal("refused")
			}
			var got []string
			r := batchrepr.Read(data)
			for {
				kind, key, _, ok, err := r.Next()
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				got = append(got, kindNames[kind]+" "+string(key))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("records %v, want %v", got, tt.want)
			}
		})
	}
	if _, _, ok := appendSorted(nil, [][]byte{append(bytes.Clone(points[:batchHeaderLen]), 0x7f, 1)}, nil); ok {
		t.Fatal("a record of an unknown kind was accepted")
	}
}

var kindNames = map[pebble.InternalKeyKind]string{
	pebble.InternalKeyKindSet: "SET", pebble.InternalKeyKindDelete: "DEL", pebble.InternalKeyKindRangeDelete: "RANGEDEL",
}

// openMemPebble opens an in-memory Pebble DB; the caller closes it.
func openMemPebble(t testing.TB) *pebble.DB {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func dumpPebble(t *rapid.T, db *pebble.DB) string {
	it, err := db.NewIter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out bytes.Buffer
	for it.First(); it.Valid(); it.Next() {
		fmt.Fprintf(&out, "%s=%s\n", it.Key(), it.Value())
	}
	return out.String()
}
