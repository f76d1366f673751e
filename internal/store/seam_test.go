package store

import (
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// TestSeam: a database's own transactions take its reader; another set's
// do not, and CheckBegin says so where Begin would panic.
func TestSeam(t *testing.T) {
	a := openSet(t, testOptions(vfs.NewMem(), "a"))
	b := openSet(t, testOptions(vfs.NewMem(), "b"))
	r := a.DB(MessageBox).Reader()
	require.NoError(t, CheckBegin(r, a.NewTxn))
	tx, batch := Begin("test", a.NewTxn, r)
	require.NotNil(t, batch)
	tx.Abort()

	require.ErrorIs(t, CheckBegin(r, b.NewTxn), ErrForeignDatabase)
	require.PanicsWithValue(t, "test: Database broke its contract: "+ErrForeignDatabase.Error(), func() {
		Begin("test", b.NewTxn, r)
	})
}
