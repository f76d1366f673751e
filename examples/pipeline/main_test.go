package main

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPipelineRuns(t *testing.T) {
	out, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	require.NoError(t, run(context.Background(), t.TempDir(), out))
	data, err := os.ReadFile(out.Name())
	require.NoError(t, err)
	require.True(t, strings.Contains(string(data), "all 100 messages"), string(data))
}
