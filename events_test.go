package biztier_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/biztier/biztier"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestEvents_openAndClose: the group logs its open, with what recovery
// replayed, and its close; nothing per commit.
func TestEvents_openAndClose(t *testing.T) {
	var buf bytes.Buffer
	events := slog.New(slog.NewTextHandler(&buf, nil))
	fs := vfs.NewMem()
	o := memOptions(fs)
	o.Events = events
	g, err := biztier.Open("g", o)
	require.NoError(t, err)
	for i := range 20 {
		_, err := g.Update(context.Background(), func(tx *biztier.Tx) error {
			return tx.Set(biztier.MessageBox, []byte{byte(i)}, []byte("v"))
		})
		require.NoError(t, err)
	}
	require.NoError(t, g.Close())
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 2, "%s", buf.String())
	require.Contains(t, lines[0], `msg="biztier: group opened"`)
	require.Contains(t, lines[0], "replayed_frames=0")
	require.Contains(t, lines[1], `msg="biztier: group closed"`)

	buf.Reset()
	g, err = biztier.Open("g", o)
	require.NoError(t, err)
	require.NoError(t, g.Close())
	require.Contains(t, buf.String(), "lsn=20")
}
