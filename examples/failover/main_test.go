package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestFailoverRuns(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), t.TempDir(), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "nothing acknowledged was lost") {
		t.Fatal(out.String())
	}
	t.Log(out.String())
}
