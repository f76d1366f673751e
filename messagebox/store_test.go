package messagebox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"
)

const typeProp = "http://schemas.microsoft.com/BizTalk/2003/system-properties#MessageType"

func orderSub(host, typ string) Subscription {
	return Subscription{Name: "send-" + typ, Host: host, Predicate: Or(And(Eq(typeProp, String(typ))))}
}

func TestStore_PublishDequeueComplete(t *testing.T) {
	e := newEnv(t, nil)
	e.host("send")
	e.host("orch")
	a := e.subscribe(orderSub("send", "order"))
	b := e.subscribe(orderSub("send", "order")) // two subscribers on one host
	c := e.subscribe(Subscription{Host: "orch", Kind: Instance, InstanceID: uuid.New(),
		Predicate: Or(And(Eq(typeProp, String("order")), Cond("ns#Amount", OpGreater, Int64(10))))})
	require.Equal(t, 7, a.Priority)
	require.Equal(t, 5, c.Priority)
	require.Equal(t, DefaultRetryCount, a.Retry.Count)

	m := msg("<order/>", Promoted(typeProp, String("order")), Promoted("ns#Amount", Int64(20)), Written("ns#Note", String("hi")))
	id, entries, err := e.s.Publish(ctx, m)
	require.NoError(t, err)
	require.Len(t, entries, 3)
	require.Equal(t, uuid.Nil, m.ID, "the caller's message is not modified")

	st := e.s.Stats()
	require.Equal(t, 1, st.Messages)
	require.Equal(t, 2, st.Hosts["send"].Ready)
	require.Equal(t, 1, st.Hosts["orch"].Ready)

	ds := e.dequeue("send", 10)
	require.Len(t, ds, 2)
	require.ElementsMatch(t, []uuid.UUID{a.ID, b.ID}, []uuid.UUID{ds[0].Subscription, ds[1].Subscription})
	for _, d := range ds {
		require.Equal(t, id, d.Message.ID)
		require.Equal(t, []byte("<order/>"), d.Message.Parts[0].Body)
		require.Equal(t, 1, d.DeliveryCount)
		p, ok := d.Message.Property("ns#Note")
		require.True(t, ok)
		require.Equal(t, String("hi"), p.Value)
	}
	require.Empty(t, e.dequeue("send", 10), "leased entries are not delivered twice")
	require.NoError(t, e.s.Complete(ctx, ds[0].Lease, ds[1].Lease))
	require.ErrorIs(t, e.s.Complete(ctx, ds[0].Lease), ErrLeaseLost)

	// The message lives on for the orchestration's entry.
	_, err = e.s.GetMessage(ctx, id)
	require.NoError(t, err)
	od := e.dequeue("orch", 1)
	require.Len(t, od, 1)
	require.NoError(t, e.s.Complete(ctx, od[0].Lease))
	_, err = e.s.GetMessage(ctx, id)
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, 0, e.s.Stats().Messages)
	require.Equal(t, uint64(3), e.s.Stats().Completed)
}

func TestStore_DequeueOrder(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	low := orderSub("h", "x")
	low.Priority = 9
	high := orderSub("h", "x")
	high.Priority = 1
	e.subscribe(low)
	e.subscribe(high)
	var want []EntryID
	var wantLow []EntryID
	for range 3 {
		ids := e.publish(msg("", Promoted(typeProp, String("x"))))
		require.Len(t, ids, 2)
		for _, id := range ids {
			if e.s.mu.entries[id].prio == 1 {
				want = append(want, id)
			} else {
				wantLow = append(wantLow, id)
			}
		}
	}
	want = append(want, wantLow...)
	var got []EntryID
	for _, d := range e.dequeue("h", 100) {
		got = append(got, d.Lease.Entry)
	}
	require.Equal(t, want, got)
}

func TestStore_RoutingFailure(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	near := e.subscribe(Subscription{Name: "near", Host: "h",
		Predicate: Or(And(Eq(typeProp, String("order")), Eq("ns#Region", String("EU"))))})
	m := msg("body", Promoted(typeProp, String("order")), Promoted("ns#Region", String("US")))
	id, entries, err := e.s.Publish(ctx, m)
	require.ErrorIs(t, err, ErrNoSubscribers)
	var re *RoutingError
	require.ErrorAs(t, err, &re)
	require.Equal(t, id, re.MessageID)
	require.Equal(t, []EntryID{re.Entry}, entries)
	require.Len(t, re.Closest, 1)
	require.Equal(t, near.ID, re.Closest[0].Subscription)
	require.Equal(t, 1, re.Closest[0].Holding)
	require.Equal(t, 2, re.Closest[0].Of)

	se, err := e.s.GetSuspended(ctx, re.Entry)
	require.NoError(t, err)
	require.Equal(t, RoutingFailure, se.Kind)
	require.False(t, se.Resumable)
	require.Equal(t, id, se.MessageID)
	require.Len(t, se.Closest, 1)
	got, err := e.s.GetMessage(ctx, id)
	require.NoError(t, err)
	require.Equal(t, []byte("body"), got.Parts[0].Body)

	_, err = e.s.Resume(ctx, SuspendedQuery{Entries: []EntryID{re.Entry}})
	require.ErrorIs(t, err, ErrNotResumable)
	st := e.s.Stats()
	require.Equal(t, 1, st.RoutingFailures)
	require.Equal(t, 0, st.SuspendedResumable)

	e.reopen()
	n, err := e.s.Terminate(ctx, SuspendedQuery{Entries: []EntryID{re.Entry}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = e.s.GetMessage(ctx, id)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestStore_BadInput(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	e.subscribe(orderSub("h", "x"))
	long := string(bytes.Repeat([]byte("é"), 256))
	for _, tc := range []struct {
		name string
		m    *Message
		want error
	}{
		{"nil", nil, ErrInvalidMessage},
		{"no parts", &Message{}, ErrInvalidMessage},
		{"part without body", &Message{Parts: []Part{{Name: "b"}}}, ErrInvalidMessage},
		{"two body parts", &Message{Parts: []Part{{Name: "a", Body: []byte{1}, IsBody: true}, {Name: "b", Body: []byte{1}, IsBody: true}}}, ErrInvalidMessage},
		{"no body part", &Message{Parts: []Part{{Name: "a", Body: []byte{1}}, {Name: "b", Body: []byte{1}}}}, ErrInvalidMessage},
		{"duplicate part", &Message{Parts: []Part{{Name: "a", Body: []byte{1}, IsBody: true}, {Name: "a", Body: []byte{1}}}}, ErrInvalidMessage},
		{"promoted too long", msg("x", Promoted(typeProp, String(long))), ErrInvalidMessage},
		{"unset value", msg("x", Promoted(typeProp, Value{})), ErrInvalidMessage},
		{"duplicate property", msg("x", Promoted("a", Int64(1)), Written("a", Int64(1))), ErrInvalidMessage},
		{"bad decimal", msg("x", Promoted("a", Decimal("x"))), ErrInvalidMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := e.s.Publish(ctx, tc.m)
			require.ErrorIs(t, err, tc.want)
		})
	}
	// A long written property is fine.
	e.publish(msg("x", Promoted(typeProp, String("x")), Written("ns#Long", String(long))))

	_, err := e.s.Subscribe(ctx, orderSub("nope", "x"))
	require.ErrorIs(t, err, ErrUnknownHost)
	_, err = e.s.Subscribe(ctx, Subscription{Host: "h", Predicate: Or(And(Cond("a", Op(9), Int64(1))))})
	require.ErrorIs(t, err, ErrInvalidPredicate)
	_, err = e.s.Subscribe(ctx, Subscription{Host: "h", Priority: 11, Predicate: Or(And(Exists("a")))})
	require.ErrorIs(t, err, ErrInvalidSubscription)
	_, err = e.s.Dequeue(ctx, "nope", 1, time.Second)
	require.ErrorIs(t, err, ErrUnknownHost)
	require.ErrorIs(t, e.s.Complete(ctx, Lease{Entry: 12345, Token: 1}), ErrLeaseLost)
	_, err = e.s.Extend(ctx, Lease{Entry: 12345}, time.Second)
	require.ErrorIs(t, err, ErrLeaseLost)
	_, err = e.s.Terminate(ctx, SuspendedQuery{Entries: []EntryID{999}})
	require.ErrorIs(t, err, ErrNotFound)

	// A batch with one bad message stores nothing.
	_, err = e.s.PublishBatch(ctx, []*Message{msg("ok", Promoted(typeProp, String("x"))), {}})
	require.ErrorIs(t, err, ErrInvalidMessage)
	st := e.s.Stats()
	require.Equal(t, 1, st.Messages)
	require.Equal(t, 1, st.Hosts["h"].Ready)

	// Duplicate IDs.
	m := msg("x", Promoted(typeProp, String("x")))
	m.ID = uuid.New()
	e.publish(m)
	_, _, err = e.s.Publish(ctx, m)
	require.ErrorIs(t, err, ErrDuplicate)
}

func TestStore_LeaseExpiryAndExtend(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	e.subscribe(orderSub("h", "x"))
	e.publish(msg("", Promoted(typeProp, String("x"))))
	d := e.dequeue("h", 1)[0]
	e.clock.Advance(30 * time.Second)
	l, err := e.s.Extend(ctx, d.Lease, time.Minute)
	require.NoError(t, err)
	e.clock.Advance(45 * time.Second) // past the original lease
	require.Empty(t, e.dequeue("h", 1))
	e.clock.Advance(15 * time.Second) // the extended lease runs out
	require.ErrorIs(t, e.s.Complete(ctx, l), ErrLeaseLost)
	d2 := e.dequeue("h", 1)
	require.Len(t, d2, 1)
	require.Equal(t, 2, d2[0].DeliveryCount)
	require.ErrorIs(t, e.s.Complete(ctx, l), ErrLeaseLost, "an old lease cannot settle a new delivery")
	require.NoError(t, e.s.Complete(ctx, d2[0].Lease))
}

func TestStore_ReopenReleasesLeasesKeepsCounts(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	e.subscribe(orderSub("h", "x"))
	for range 5 {
		e.publish(msg("b", Promoted(typeProp, String("x"))))
	}
	ds := e.dequeue("h", 3)
	require.NoError(t, e.s.Complete(ctx, ds[0].Lease))
	e.reopen()
	st := e.s.Stats()
	require.Equal(t, 4, st.Hosts["h"].Ready)
	require.Equal(t, 4, st.Messages)
	ds = e.dequeue("h", 10)
	require.Len(t, ds, 4)
	require.Equal(t, []int{2, 2, 1, 1}, []int{ds[0].DeliveryCount, ds[1].DeliveryCount, ds[2].DeliveryCount, ds[3].DeliveryCount})
	// Routing still works after reopen: the index was rebuilt.
	e.publish(msg("b", Promoted(typeProp, String("x"))))
	// New IDs never reuse old ones.
	require.Greater(t, e.dequeue("h", 1)[0].Lease.Entry, ds[3].Lease.Entry)
}

func TestStore_RetryBackupSuspendResume(t *testing.T) {
	e := newEnv(t, nil)
	e.host("primary")
	e.host("backup")
	sub := e.subscribe(Subscription{Name: "port", Host: "primary", BackupHost: "backup",
		Retry: &RetryPolicy{Count: 2, Interval: time.Minute}, Predicate: Or(And(Eq(typeProp, String("x"))))})
	ids := e.publish(msg("b", Promoted(typeProp, String("x"))))

	for attempt := 1; attempt <= 2; attempt++ {
		d := e.dequeue("primary", 1)
		require.Len(t, d, 1)
		require.Equal(t, attempt-1, d[0].Attempts)
		require.NoError(t, e.s.Fail(ctx, d[0].Lease, "connection refused"))
		require.Empty(t, e.dequeue("primary", 1), "waits for the retry interval")
		require.Equal(t, 1, e.s.Stats().Hosts["primary"].Delayed)
		e.clock.Advance(time.Minute)
	}
	// Third failure: retries used up, move to the backup host.
	d := e.dequeue("primary", 1)
	require.NoError(t, e.s.Fail(ctx, d[0].Lease, "still refused"))
	require.Empty(t, e.dequeue("primary", 1))
	for range 3 {
		d = e.dequeue("backup", 1)
		require.Len(t, d, 1)
		require.True(t, d[0].Backup)
		require.NoError(t, e.s.Abandon(ctx, d[0].Lease, 0, "backup down"))
	}
	require.Empty(t, e.dequeue("backup", 1))
	sus, err := e.s.ListSuspended(ctx, SuspendedQuery{})
	require.NoError(t, err)
	require.Len(t, sus, 1)
	require.Equal(t, ids[0], sus[0].ID)
	require.True(t, sus[0].Resumable)
	require.Equal(t, "backup down", sus[0].Error)
	require.Equal(t, sub.ID, sus[0].Subscription)
	require.Equal(t, "backup", sus[0].Host)

	e.reopen()
	n, err := e.s.Resume(ctx, SuspendedQuery{Entries: []EntryID{ids[0]}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	d = e.dequeue("primary", 1)
	require.Len(t, d, 1, "resume goes back to the primary host")
	require.Equal(t, 0, d[0].Attempts)
	require.False(t, d[0].Backup)
	require.NoError(t, e.s.Suspend(ctx, d[0].Lease, "operator"))
	cnt, err := e.s.CountSuspended(ctx, SuspendedQuery{Host: "primary", ErrorContains: "operator"})
	require.NoError(t, err)
	require.Equal(t, 1, cnt)
}

func TestStore_SuspendedQueries(t *testing.T) {
	e := newEnv(t, &Options{BulkBatchSize: 7})
	e.host("a")
	e.host("b")
	subA := e.subscribe(orderSub("a", "x"))
	e.subscribe(orderSub("b", "x"))
	const n = 20
	for i := range n {
		e.publish(msg("", Promoted(typeProp, String("x")), Written("ns#I", Int64(int64(i%2)))))
	}
	e.clock.Advance(time.Hour)
	mid := e.clock.Now()
	for _, h := range []string{"a", "b"} {
		for _, d := range e.dequeue(h, n) {
			require.NoError(t, e.s.Suspend(ctx, d.Lease, "failed on "+h))
			e.clock.Advance(time.Second)
		}
	}
	_, _, _ = e.s.Publish(ctx, msg("", Promoted(typeProp, String("nobody"))))
	count := func(q SuspendedQuery) int {
		c, err := e.s.CountSuspended(ctx, q)
		require.NoError(t, err)
		return c
	}
	require.Equal(t, 2*n+1, count(SuspendedQuery{}))
	require.Equal(t, n, count(SuspendedQuery{Host: "a"}))
	require.Equal(t, n, count(SuspendedQuery{ErrorContains: "on b"}))
	require.Equal(t, 1, count(SuspendedQuery{Kind: RoutingFailure}))
	require.Equal(t, n, count(SuspendedQuery{Subscription: subA.ID}))
	require.Equal(t, 2*n, count(SuspendedQuery{Kind: Activation}))
	require.Equal(t, n, count(SuspendedQuery{Property: "ns#I", Value: Int64(1)}))
	require.Equal(t, 2*n, count(SuspendedQuery{Property: "ns#I"}))
	require.Equal(t, 5, count(SuspendedQuery{After: mid, Before: mid.Add(5 * time.Second)}))
	list, err := e.s.ListSuspended(ctx, SuspendedQuery{Host: "a", Limit: 3})
	require.NoError(t, err)
	require.Len(t, list, 3)
	require.Less(t, list[0].ID, list[1].ID)

	k, err := e.s.Resume(ctx, SuspendedQuery{Host: "a"})
	require.NoError(t, err)
	require.Equal(t, n, k)
	require.Equal(t, n, e.s.Stats().Hosts["a"].Ready)
	k, err = e.s.Terminate(ctx, SuspendedQuery{})
	require.NoError(t, err)
	require.Equal(t, n+1, k)
	require.Equal(t, n, e.s.Stats().Messages, "messages still referenced by host a's entries")
	for _, d := range e.dequeue("a", n) {
		require.NoError(t, e.s.Complete(ctx, d.Lease))
	}
	require.Equal(t, 0, e.s.Stats().Messages)
}

func TestStore_LargeBodies(t *testing.T) {
	for _, c := range []Compression{CompressS2, CompressZstd} {
		t.Run(fmt.Sprintf("codec=%d", c), func(t *testing.T) { testLargeBodies(t, c) })
	}
}

func testLargeBodies(t *testing.T, c Compression) {
	e := newEnv(t, &Options{FragmentSize: 4096, CompressThreshold: 1024, Compression: c})
	e.host("h")
	e.subscribe(orderSub("h", "x"))
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 50_000)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	text := bytes.Repeat([]byte("<order><line>widget</line></order>"), 2000)
	m := &Message{
		Parts: []Part{
			{Name: "body", ContentType: "text/xml", Body: text, IsBody: true},
			{Name: "attachment", ContentType: "application/octet-stream", Body: random},
			{Name: "empty", Body: []byte{}},
		},
		Context: []Property{Promoted(typeProp, String("x"))},
	}
	id, _, err := e.s.Publish(ctx, m)
	require.NoError(t, err)
	check := func(got *Message) {
		require.Len(t, got.Parts, 3)
		require.Equal(t, text, got.Parts[0].Body)
		require.True(t, got.Parts[0].IsBody)
		require.Equal(t, "text/xml", got.Parts[0].ContentType)
		require.Equal(t, random, got.Parts[1].Body)
		require.Equal(t, []byte{}, got.Parts[2].Body)
	}
	got, err := e.s.GetMessage(ctx, id)
	require.NoError(t, err)
	check(got)
	e.reopen()
	d := e.dequeue("h", 1)
	check(d[0].Message)
	require.NoError(t, e.s.Complete(ctx, d[0].Lease))
	// checkConsistent (at cleanup) verifies no fragment is left.
}

func TestStore_Explain(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	a := e.subscribe(Subscription{Name: "a", Host: "h", Predicate: Or(And(Eq(typeProp, String("x")), Cond("ns#N", OpGreater, Int64(5))))})
	b := e.subscribe(Subscription{Name: "b", Host: "h", Predicate: Or(And(Exists("ns#Missing")), And(Eq("ns#W", String("w"))))})
	c := e.subscribe(Subscription{Name: "c", Host: "h", Predicate: Or(And(Eq(typeProp, String("x"))))})
	m := msg("", Promoted(typeProp, String("x")), Promoted("ns#N", Int64(3)), Written("ns#W", String("w")))
	xs, err := e.s.Explain(ctx, m)
	require.NoError(t, err)
	byID := map[uuid.UUID]Explanation{}
	for _, x := range xs {
		byID[x.Subscription] = x
	}
	require.False(t, byID[a.ID].Matched)
	require.Equal(t, Fails, byID[a.ID].Groups[0].Conditions[1].Outcome)
	require.Contains(t, byID[a.ID].Reason(), "ns#N > int64(5)")
	require.False(t, byID[b.ID].Matched)
	require.Equal(t, Missing, byID[b.ID].Groups[0].Conditions[0].Outcome)
	require.Equal(t, NotPromoted, byID[b.ID].Groups[1].Conditions[0].Outcome)
	require.True(t, byID[c.ID].Matched)
	require.Empty(t, byID[c.ID].Reason())

	id, _, err := e.s.Publish(ctx, m)
	require.NoError(t, err)
	xs2, err := e.s.ExplainMessage(ctx, id)
	require.NoError(t, err)
	require.Equal(t, xs, xs2)
}

func TestStore_Unsubscribe(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	s := e.subscribe(orderSub("h", "x"))
	e.publish(msg("", Promoted(typeProp, String("x"))))
	require.NoError(t, e.s.Unsubscribe(ctx, s.ID))
	_, _, err := e.s.Publish(ctx, msg("", Promoted(typeProp, String("x"))))
	require.ErrorIs(t, err, ErrNoSubscribers)
	e.reopen()
	require.Empty(t, e.s.Subscriptions())
	require.Empty(t, e.dequeue("h", 5), "entries queued before unsubscribe are not delivered")
	list, err := e.s.ListSuspended(ctx, SuspendedQuery{Subscription: s.ID})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.True(t, list[0].Resumable)
	require.Equal(t, UnsubscribedReason, list[0].Error)
	_, err = e.s.Resume(ctx, SuspendedQuery{Entries: []EntryID{list[0].ID}})
	require.ErrorIs(t, err, ErrNotResumable, "not while the subscription is gone")
	require.ErrorIs(t, e.s.Unsubscribe(ctx, s.ID), ErrNotFound)

	// The port comes back (same subscription ID): resuming delivers.
	e.subscribe(s)
	n, err := e.s.Resume(ctx, SuspendedQuery{Entries: []EntryID{list[0].ID}})
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, e.dequeue("h", 5), 1)
}

// TestStore_UnsubscribeWhileLeased: a leased entry of a removed
// subscription that its holder gives back (or whose lease runs out) is
// suspended, never queued again for nobody.
func TestStore_UnsubscribeWhileLeased(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	s := e.subscribe(orderSub("h", "x"))
	e.publish(msg("", Promoted(typeProp, String("x"))))
	e.publish(msg("", Promoted(typeProp, String("x"))))
	ds := e.dequeue("h", 2)
	require.Len(t, ds, 2)
	require.NoError(t, e.s.Unsubscribe(ctx, s.ID))
	require.NoError(t, e.s.Abandon(ctx, ds[0].Lease, 0, "try later"))
	e.clock.Advance(time.Hour) // the other lease runs out
	require.Empty(t, e.dequeue("h", 5))
	n, err := e.s.CountSuspended(ctx, SuspendedQuery{ErrorContains: "unenlisted"})
	require.NoError(t, err)
	require.Equal(t, 2, n)
}

func TestStore_DequeueWait(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	e.subscribe(orderSub("h", "x"))
	got := make(chan []*Delivery)
	errc := make(chan error, 1)
	go func() {
		d, err := e.s.DequeueWait(ctx, "h", 1, time.Minute)
		errc <- err
		got <- d
	}()
	e.publish(msg("", Promoted(typeProp, String("x"))))
	require.NoError(t, <-errc)
	d := <-got
	require.Len(t, d, 1)

	// A lease running out on the clock wakes the waiter.
	go func() {
		d, err := e.s.DequeueWait(ctx, "h", 1, time.Minute)
		errc <- err
		got <- d
	}()
	e.clock.BlockUntil(1) // the waiter armed a timer for the lease's end
	e.clock.Advance(time.Minute)
	require.NoError(t, <-errc)
	d2 := <-got
	require.Equal(t, d[0].Lease.Entry, d2[0].Lease.Entry)
	require.Equal(t, 2, d2[0].DeliveryCount)

	// Close wakes a waiter.
	go func() {
		_, err := e.s.DequeueWait(ctx, "h", 1, time.Minute)
		errc <- err
	}()
	require.NoError(t, e.s.Close())
	require.True(t, errors.Is(<-errc, ErrClosed))
	e.s = nil
	require.NoError(t, e.set.Close())
}

func TestStore_FormatTooNew(t *testing.T) {
	e := newEnv(t, nil)
	tx := e.set.NewTxn()
	require.NoError(t, tx.BatchOf(store.MessageBox).Set(formatKey(), keys.AppendUint64(nil, formatVersion+1), nil))
	_, err := tx.Commit(ctx)
	require.NoError(t, err)
	_, err = Open(dbOf(e.set), &e.opts)
	require.ErrorIs(t, err, ErrFormatTooNew)
	// Put it back for the cleanup's consistency check.
	tx = e.set.NewTxn()
	require.NoError(t, tx.BatchOf(store.MessageBox).Set(formatKey(), keys.AppendUint64(nil, formatVersion), nil))
	_, err = tx.Commit(ctx)
	require.NoError(t, err)
}

func TestOpen_BadOptions(t *testing.T) {
	e := newEnv(t, nil)
	for _, o := range []Options{
		{FragmentSize: 10},
		{Closest: -1},
		{BulkBatchSize: -1},
		{Retry: &RetryPolicy{Count: -1}},
		{Compression: 9},
	} {
		_, err := Open(dbOf(e.set), &o)
		require.Error(t, err, "%+v", o)
	}
}

func TestStore_CompleteAndDequeue(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	e.subscribe(orderSub("h", "x"))
	for range 3 {
		e.publish(msg("b", Promoted(typeProp, String("x"))))
	}
	ds := e.dequeue("h", 2)
	require.Len(t, ds, 2)
	// A lost lease fails the whole call: nothing completed or dequeued.
	_, err := e.s.CompleteAndDequeue(ctx, []Lease{ds[0].Lease, {Entry: 999}}, "h", 5, time.Minute)
	require.ErrorIs(t, err, ErrLeaseLost)
	require.Equal(t, 3, e.s.Stats().Messages)

	next, err := e.s.CompleteAndDequeue(ctx, []Lease{ds[0].Lease, ds[1].Lease}, "h", 5, time.Minute)
	require.NoError(t, err)
	require.Len(t, next, 1)
	require.Equal(t, 1, e.s.Stats().Messages)

	// With nothing deliverable it commits the completes, then waits.
	got := make(chan []*Delivery, 1)
	go func() {
		d, err := e.s.CompleteAndDequeue(ctx, []Lease{next[0].Lease}, "h", 5, time.Minute)
		require.NoError(t, err)
		got <- d
	}()
	// Whether the publish lands before the call or while it waits, the
	// call returns the new message and the old one is gone.
	id := e.publish(msg("b", Promoted(typeProp, String("x"))))
	d := <-got
	require.Len(t, d, 1)
	require.Equal(t, id[0], d[0].Lease.Entry)
	require.Equal(t, 1, e.s.Stats().Messages)
}

// TestPublish_leavesMessageAlone checks that a publish does not change the
// caller's message, which it works on without copying: not with a trace to
// carry, not with a property name to put in canonical form, not with a
// single part to mark as the body.
func TestPublish_leavesMessageAlone(t *testing.T) {
	e := newEnv(t, nil)
	e.host("h")
	e.subscribe(orderSub("h", "order"))
	traced := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled}))
	for _, port := range []string{"BTS.ReceivePortName", CanonicalName("BTS.ReceivePortName")} {
		m := &Message{
			Parts: []Part{{Name: "body", Body: []byte("<order/>")}},
			Context: []Property{Promoted(typeProp, String("order")), Written(port, String("RP")),
				Written(TraceParentProperty, String("00-old"))},
		}
		parts := append([]Part(nil), m.Parts...)
		props := append([]Property(nil), m.Context...)
		for _, c := range []context.Context{ctx, traced} {
			_, _, err := e.s.Publish(c, m)
			require.NoError(t, err)
			require.Equal(t, uuid.Nil, m.ID)
			require.Equal(t, parts, m.Parts)
			require.Equal(t, props, m.Context)
		}
		ds := e.dequeue("h", 2)
		require.Len(t, ds, 2)
		for _, d := range ds {
			require.NoError(t, e.s.Complete(ctx, d.Lease))
		}
		p, ok := ds[1].Message.Property(TraceParentProperty)
		require.True(t, ok)
		require.Contains(t, p.Value.Str(), "01000000000000000000000000000000", "the traced publish carries its trace")
		require.True(t, ds[0].Message.Parts[0].IsBody)
		_, ok = ds[0].Message.Property(CanonicalName("BTS.ReceivePortName"))
		require.True(t, ok, "names are stored canonical")
	}
}
