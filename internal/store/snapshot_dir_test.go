package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestSet_CheckpointToThenRestoreReplays checkpoints the stores, commits
// more, and rebuilds the stores from the checkpoints plus the log after
// each one's applied LSN: the same state as the live set.
func TestSet_CheckpointToThenRestoreReplays(t *testing.T) {
	fs := vfs.NewMem()
	s := openSet(t, testOptions(fs, "g"))
	defer func() { require.NoError(t, s.Close()) }()
	ctx := context.Background()
	commit := func(i int) {
		tx := s.NewTxn()
		require.NoError(t, tx.BatchOf(MessageBox).Set(fmt.Appendf(nil, "m%03d", i%40), fmt.Appendf(nil, "v%d", i), nil))
		if i%3 == 0 {
			require.NoError(t, tx.BatchOf(Tracking).Set(fmt.Appendf(nil, "t%03d", i), []byte("e"), nil))
		}
		_, err := tx.Commit(ctx)
		require.NoError(t, err)
	}
	for i := range 100 {
		commit(i)
	}
	applied, err := s.CheckpointTo("ckpt")
	require.NoError(t, err)
	require.Len(t, applied, len(All))
	for i := 100; i < 200; i++ {
		commit(i)
	}
	end := s.Log().DurableLSN()

	r, err := OpenRestore(fs, map[ID]string{
		MessageBox: "ckpt/messagebox", Tracking: "ckpt/tracking", Management: "ckpt/mgmt",
		SSO: "ckpt/sso", BAM: "ckpt/bam", Rules: "ckpt/rules",
	}, PanicLogger{})
	require.NoError(t, err)
	require.Equal(t, applied, r.Applied())
	from := end
	for _, a := range applied {
		from = min(from, a+1)
	}
	rd, err := s.Log().NewReader(from)
	require.NoError(t, err)
	var frames []*wal.Frame
	for {
		f, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		frames = append(frames, f)
	}
	require.NoError(t, rd.Close())
	require.NoError(t, r.Apply(frames))
	require.NoError(t, r.Finish(end))
	for _, id := range All {
		require.Equal(t, end, r.Applied()[id])
	}
	for i := range 200 {
		for _, k := range []string{fmt.Sprintf("m%03d", i%40), fmt.Sprintf("t%03d", i)} {
			id := MessageBox
			if k[0] == 't' {
				id = Tracking
			}
			want, wok := get(t, s.DB(id), k)
			got, gok := get(t, r.DB(id), k)
			require.Equal(t, wok, gok, k)
			require.Equal(t, want, got, k)
		}
	}
	require.Error(t, r.Finish(end-1), "no store may be past the target")
	require.NoError(t, r.Close())
}
