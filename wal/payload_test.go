package wal

import (
	"context"
	"sync"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestLog_CommitKeepsNoPayload checks Commit's contract that the log keeps
// no payload once Commit returns (the store set pools its payload
// buffers): concurrent committers overwrite their buffer as soon as their
// Commit returns, and the log still holds, and applied, every payload as
// it was committed.
func TestLog_CommitKeepsNoPayload(t *testing.T) {
	var (
		mu      sync.Mutex
		applied = map[uint64]string{}
	)
	l := openTest(t, vfs.NewMem(), Options{Apply: func(frames []*Frame) error {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range frames {
			applied[f.LSN] = string(f.Payload)
		}
		return nil
	}})
	defer l.Close()
	const committers, each = 8, 50
	want := map[uint64]string{}
	var wg sync.WaitGroup
	for c := range committers {
		wg.Go(func() {
			buf := make([]byte, 0, 64)
			for i := range each {
				buf = append(buf[:0], payload(c*each+i)...)
				lsn, err := l.Commit(context.Background(), TypeCommit, buf)
				require.NoError(t, err)
				mu.Lock()
				want[lsn] = string(buf)
				mu.Unlock()
				for j := range buf {
					buf[j] = 'x'
				}
			}
		})
	}
	wg.Wait()
	require.Equal(t, want, applied, "applied payloads")
	got := map[uint64]string{}
	for _, f := range readAll(t, l, 1) {
		got[f.LSN] = string(f.Payload)
	}
	require.Equal(t, want, got, "logged payloads")
}
