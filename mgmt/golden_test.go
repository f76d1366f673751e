package mgmt_test

import (
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

var rewrite = flag.Bool("rewrite", false, "rewrite golden files under testdata")

// TestExport_Golden pins the exported form of the fixture, so that a
// change in what Export writes shows up as a diff to review. Regenerate
// with: go test ./mgmt -run TestExport_Golden -rewrite
func TestExport_Golden(t *testing.T) {
	e := newEnv(t)
	_, err := importString(t, e.s, readFixture(t, "orders.xml"))
	require.NoError(t, err)
	got := export(t, e.s, "Orders")
	const golden = "testdata/orders.export.xml"
	if *rewrite {
		require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), got)
}
