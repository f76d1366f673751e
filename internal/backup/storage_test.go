package backup

import (
	"context"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func TestDir_CommitAbortList(t *testing.T) {
	ctx := context.Background()
	d := NewDir(vfs.NewMem(), "b")
	names, err := d.List(ctx, "sets")
	require.NoError(t, err)
	require.Empty(t, names)

	w, err := d.Create(ctx, "sets/a/x")
	require.NoError(t, err)
	_, err = w.Write([]byte("hello"))
	require.NoError(t, err)
	names, err = d.List(ctx, "sets/a")
	require.NoError(t, err)
	require.Empty(t, names, "invisible until committed")
	require.NoError(t, w.Commit())
	w.Abort() // no-op after Commit

	w, err = d.Create(ctx, "sets/a/y")
	require.NoError(t, err)
	_, err = w.Write([]byte("dropped"))
	require.NoError(t, err)
	w.Abort()

	names, err = d.List(ctx, "sets/a")
	require.NoError(t, err)
	require.Equal(t, []string{"x"}, names)
	r, err := d.Open(ctx, "sets/a/x")
	require.NoError(t, err)
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.Equal(t, "hello", string(data))
	_, err = d.Open(ctx, "sets/a/y")
	require.ErrorIs(t, err, os.ErrNotExist)

	require.NoError(t, d.RemoveAll(ctx, "sets/a"))
	require.NoError(t, d.RemoveAll(ctx, "sets/a"), "removing twice is fine")
	names, err = d.List(ctx, "sets")
	require.NoError(t, err)
	require.Empty(t, names)
}

func TestSetName_RoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 26, 14, 0, 0, 123, time.UTC)
	name := setName(Log, at, 10, 20)
	got, ok := setStarted(name)
	require.True(t, ok)
	require.True(t, at.Equal(got))
	got, ok = setStarted(fmt.Sprintf("%016x-full", at.UnixNano()))
	require.True(t, ok, "names written before the lsn range was added still parse")
	require.True(t, at.Equal(got))
	_, ok = setStarted("garbage")
	require.False(t, ok)
	require.Less(t, setName(Full, at, 30, 40), setName(Full, at.Add(time.Nanosecond), 1, 2), "names sort by start time")
	require.NotEqual(t, setName(Full, at, 1, 20), setName(Full, at, 1, 21), "one instant, two ranges, two names")
}

func TestChain_PicksContiguousFilesAndNamesGaps(t *testing.T) {
	lf := func(first, last uint64) LogFile {
		return LogFile{File: File{Name: logFileName(first)}, First: first, Last: last}
	}
	base := &Manifest{Set: "base", Kind: Full, First: 5, Last: 20, Log: []LogFile{lf(5, 12), lf(13, 20)}}
	l1 := &Manifest{Set: "l1", Kind: Log, First: 21, Last: 30, Log: []LogFile{lf(21, 30)}}
	l2 := &Manifest{Set: "l2", Kind: Log, First: 31, Last: 40, Log: []LogFile{lf(31, 40)}}
	// A later full set overlapping the chain.
	f2 := &Manifest{Set: "f2", Kind: Full, First: 25, Last: 45, Log: []LogFile{lf(25, 45)}}

	files, err := chain([]*Manifest{base, l1, l2, f2}, base, 5, 45)
	require.NoError(t, err)
	var got [][2]uint64
	for _, f := range files {
		got = append(got, [2]uint64{f.file.First, f.file.Last})
	}
	require.Equal(t, [][2]uint64{{5, 12}, {13, 20}, {21, 30}, {25, 45}}, got)

	_, err = chain([]*Manifest{base, l2}, base, 5, 40)
	var gap *GapError
	require.ErrorAs(t, err, &gap)
	require.Equal(t, uint64(21), gap.From)
	require.Equal(t, uint64(30), gap.To)
	require.ErrorIs(t, err, ErrCorrupt)

	_, err = chain([]*Manifest{base, l1}, base, 5, 35)
	require.ErrorIs(t, err, ErrTargetNotFound)
}

func TestReadManifest_RejectsForeignOrNewer(t *testing.T) {
	ctx := context.Background()
	d := NewDir(vfs.NewMem(), "b")
	m := &Manifest{Format: manifestFormat, Kind: Full, Set: "s1", Group: "g", First: 1, Last: 2}
	require.NoError(t, writeManifest(ctx, d, m))
	got, err := ReadManifest(ctx, d, "s1")
	require.NoError(t, err)
	require.Equal(t, m.Last, got.Last)

	m2 := *m
	m2.Set = "other"
	require.NoError(t, writeManifest(ctx, d, &m2))
	require.NoError(t, d.RemoveAll(ctx, "sets/s1"))
	// Put other's manifest under s1's name.
	r, err := d.Open(ctx, "sets/other/"+manifestName)
	require.NoError(t, err)
	data, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	w, err := d.Create(ctx, "sets/s1/"+manifestName)
	require.NoError(t, err)
	_, err = w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Commit())
	_, err = ReadManifest(ctx, d, "s1")
	require.ErrorIs(t, err, ErrCorrupt)

	m3 := *m
	m3.Set, m3.Format = "newer", manifestFormat+1
	require.NoError(t, writeManifest(ctx, d, &m3))
	_, err = ReadManifest(ctx, d, "newer")
	var fe *FileError
	require.ErrorAs(t, err, &fe)
}
