package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDRRuns(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), t.TempDir(), 400, &out))
	require.True(t, strings.Contains(out.String(), "recovered 400 of 400 orders"), out.String())
}
