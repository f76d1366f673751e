package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPipeline runs the example twice on one directory: the first run
// takes every sample order through receive → orchestration → send; the
// second, with nothing left, writes new orders and carries on from the
// stored state.
func TestPipeline(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	sum, err := run(context.Background(), config{dir: dir, orders: 40}, &out)
	require.NoError(t, err, out.String())
	require.Equal(t, 40, sum.in)
	require.Equal(t, 40, sum.out, out.String())
	require.Zero(t, sum.suspended)
	files, err := filepath.Glob(filepath.Join(dir, "out", "*.xml"))
	require.NoError(t, err)
	require.Len(t, files, 40)
	left, err := filepath.Glob(filepath.Join(dir, "in", "*.xml"))
	require.NoError(t, err)
	require.Empty(t, left, "received files are removed")

	// An order dropped in the input folder before the second run is
	// processed by it, on the same group.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "in", "PO-manual-1.xml"), []byte("<Order><Id>PO-manual-1</Id></Order>"), 0o644))
	out.Reset()
	sum, err = run(context.Background(), config{dir: dir, orders: 40}, &out)
	require.NoError(t, err, out.String())
	require.Equal(t, 1, sum.in)
	require.Equal(t, 1, sum.out)
	_, err = os.Stat(filepath.Join(dir, "out", "PO-manual-1.xml"))
	require.NoError(t, err)
}
