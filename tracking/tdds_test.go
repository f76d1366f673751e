package tracking

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/event"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// fakeSource hands out records once, like a MessageBox whose previous run
// staged them; its staged signal never fires, and it can be made to fail.
type fakeSource struct {
	mu   sync.Mutex
	recs [][]byte
	fail error
}

func (f *fakeSource) TakeTracking(tx Tx, limit int) ([][]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	out := f.recs[:min(limit, len(f.recs))]
	f.recs = f.recs[len(out):]
	return out, nil
}

func (f *fakeSource) TrackingStaged() <-chan struct{} { return nil }

func (f *fakeSource) TrackingBacklog() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return uint64(len(f.recs))
}

// TestDecoder_takesInWhatAPreviousRunLeft: records staged before the store
// opened are taken in by the decoder on its own, without a query or a new
// staged signal.
func TestDecoder_takesInWhatAPreviousRunLeft(t *testing.T) {
	msg := uuid.New()
	src := &fakeSource{recs: [][]byte{
		event.Encode(nil, []event.Event{{Kind: event.Published, At: 1, MessageID: msg, Message: &event.Message{}}}),
		[]byte("not a record"),
	}}
	var buf bytes.Buffer
	e := newEnv(t, nil, &Options{Source: src, Events: slog.New(slog.NewTextHandler(&buf, nil))})
	require.Eventually(t, func() bool { return e.s.DecodeStats().Decoded == 2 }, 5*time.Second, time.Millisecond)
	st := e.s.DecodeStats()
	require.Zero(t, st.Backlog)
	require.Equal(t, uint64(1), st.Failed, "the damaged record is kept aside, not dropped")
	require.Contains(t, buf.String(), "records kept in the failed table")
	require.NoError(t, st.Err)
	page, err := e.s.MessageEvents(t.Context(), MessageEventQuery{MessageID: msg})
	require.NoError(t, err)
	require.Len(t, page.Events, 1)
}

// TestDecoder_sourceFailure: a query reports a source that cannot be read,
// and DecodeStats keeps the error.
func TestDecoder_sourceFailure(t *testing.T) {
	boom := errors.New("messagebox closed")
	src := &fakeSource{fail: boom}
	var buf bytes.Buffer
	e := newEnv(t, nil, &Options{Source: src, Events: slog.New(slog.NewTextHandler(&buf, nil))})
	for range 3 {
		_, err := e.s.MessageEvents(t.Context(), MessageEventQuery{MessageID: uuid.New()})
		require.ErrorIs(t, err, boom)
	}
	require.ErrorIs(t, e.s.DecodeStats().Err, boom)
	require.Equal(t, 1, strings.Count(buf.String(), "decode pass failed"), "a failure is logged when it starts, not at every pass: %s", buf.String())
}
