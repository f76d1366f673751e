package messagebox

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestDedup_MessageID(t *testing.T) {
	e := newEnv(t, &Options{Dedup: &DedupOptions{Window: time.Hour}})
	e.host("send")
	e.subscribe(orderSub("send", "x"))
	m := typedMsg("x")
	m.ID = uuid.New()
	e.publish(m)
	ds := e.dequeue("send", 1)
	require.NoError(t, e.s.Complete(ctx, ds[0].Lease)) // the message itself is gone
	_, _, err := e.s.Publish(ctx, m)
	var de *DuplicateError
	require.ErrorAs(t, err, &de)
	require.ErrorIs(t, err, ErrDuplicate)
	require.Equal(t, m.ID, de.MessageID)
	e.reopen()
	_, _, err = e.s.Publish(ctx, m)
	require.ErrorIs(t, err, ErrDuplicate, "remembered across a reopen")
	e.clock.Advance(time.Hour)
	e.publish(m)
	require.Equal(t, 1, e.s.Stats().Messages)
}

func TestDedup_PropertyPerPublisher(t *testing.T) {
	e := newEnv(t, &Options{Dedup: &DedupOptions{Window: time.Minute, Property: "ns#Seq", Publisher: "ns#Port"}})
	e.host("send")
	e.subscribe(orderSub("send", "x"))
	from := func(port string, seq int64) *Message {
		return typedMsg("x", Written("ns#Port", String(port)), Written("ns#Seq", Int64(seq)))
	}
	e.publish(from("a", 1))
	e.publish(from("b", 1)) // another publisher's window
	_, _, err := e.s.Publish(ctx, from("a", 1))
	require.ErrorIs(t, err, ErrDuplicate)
	// A batch with one duplicate stores nothing.
	_, err = e.s.PublishBatch(ctx, []*Message{from("a", 2), from("a", 1)})
	require.ErrorIs(t, err, ErrDuplicate)
	require.Equal(t, 2, e.s.Stats().Messages)
	e.publish(from("a", 2))
	e.publish(typedMsg("x")) // no key: not checked
	e.publish(typedMsg("x"))
	e.clock.Advance(time.Minute)
	e.publish(from("a", 1))
	n := 0
	require.NoError(t, e.s.scan([]byte{0x1A}, func(k, v []byte) error { n++; return nil }))
	require.Equal(t, 1, n, "expired keys are forgotten")
}
