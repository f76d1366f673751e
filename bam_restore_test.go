package biztier_test

import (
	"context"
	"strings"
	"testing"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/bam"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestGroup_BAMRestoreCompleteByHand: BAM is in the group's backup. An
// instance that began before the backup and ended after it is active in
// the restored group, as in BizTalk, and can be completed by hand.
func TestGroup_BAMRestoreCompleteByHand(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	g, err := biztier.Open("g", memOptions(fs))
	require.NoError(t, err)
	s, err := g.BAM(ctx, nil)
	require.NoError(t, err)
	def, err := bam.ParseDefinition(strings.NewReader(wiringActivity))
	require.NoError(t, err)
	require.NoError(t, s.Deploy(ctx, def, "admin"))
	es := s.DirectStream(1)
	require.NoError(t, es.BeginActivity(ctx, "PO", "PO-1"))
	require.NoError(t, es.UpdateActivity(ctx, "PO", "PO-1", "Customer", "Contoso"))
	require.NoError(t, es.EnableContinuation(ctx, "PO", "PO-1", "SO-1"))
	require.NoError(t, es.EndActivity(ctx, "PO", "PO-1"))
	bk := biztier.DirShipper(fs, "backups")
	_, err = g.Backup(ctx, bk, nil)
	require.NoError(t, err)
	require.NoError(t, es.EndActivity(ctx, "PO", "SO-1"))
	in, err := s.Instance(ctx, "PO", "PO-1")
	require.NoError(t, err)
	require.Equal(t, bam.Completed, in.State)
	require.NoError(t, g.Close())

	_, err = biztier.Restore(ctx, bk, "restored", &biztier.RestoreOptions{FS: fs})
	require.NoError(t, err)
	r, err := biztier.Open("restored", memOptions(fs))
	require.NoError(t, err)
	defer r.Close()
	s, err = r.BAM(ctx, nil)
	require.NoError(t, err)
	in, err = s.Instance(ctx, "PO", "PO-1")
	require.NoError(t, err)
	require.Equal(t, bam.Active, in.State, "its continuation ended after the backup")
	require.NoError(t, s.CompleteInstance(ctx, "PO", "PO-1"))
	in, err = s.Instance(ctx, "PO", "PO-1")
	require.NoError(t, err)
	require.Equal(t, bam.Completed, in.State)
	require.Equal(t, "Contoso", in.Values["Customer"].String())
}
