package messagebox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
	"github.com/cockroachdb/pebble/v2"
	"github.com/stretchr/testify/require"
)

// fakeTracker writes one Tracking key per event into the MessageBox's
// transaction, or fails when told to.
type fakeTracker struct {
	fail atomic.Bool
}

var errTrackerDown = errors.New("tracker down")

func (f *fakeTracker) Track(tx Tx, events []Event) error {
	if f.fail.Load() {
		return errTrackerDown
	}
	b := tx.(*store.Txn).BatchOf(store.Tracking)
	for _, e := range events {
		k := keys.AppendTable(nil, keys.TableMessageEvents)
		k = keys.AppendUint64(k, uint64(e.Entry))
		k = keys.AppendUint64(k, uint64(e.Kind))
		if err := b.Set(k, []byte(e.Host), nil); err != nil {
			return err
		}
	}
	return nil
}

var _ Tracker = (*fakeTracker)(nil)

func trackedKinds(t *testing.T, set *store.Set, id EntryID) []EventKind {
	t.Helper()
	prefix := keys.AppendUint64(keys.AppendTable(nil, keys.TableMessageEvents), uint64(id))
	lo, hi := keys.PrefixBounds(prefix)
	it, err := set.DB(store.Tracking).NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	require.NoError(t, err)
	var out []EventKind
	for ok := it.First(); ok; ok = it.Next() {
		k, _, err := keys.DecodeUint64(it.Key()[len(prefix):])
		require.NoError(t, err)
		out = append(out, EventKind(k))
	}
	require.NoError(t, it.Close())
	return out
}

func TestStore_TrackerSharesTheCommit(t *testing.T) {
	tr := &fakeTracker{}
	e := newEnv(t, &Options{Tracker: tr})
	e.host("h")
	e.subscribe(orderSub("h", "x"))
	ids := e.publish(msg("b", Promoted(typeProp, String("x"))))
	require.Equal(t, []EventKind{EventRouted}, trackedKinds(t, e.set, ids[0]))

	// A failing tracker aborts the operation and changes nothing.
	tr.fail.Store(true)
	_, _, err := e.s.Publish(ctx, msg("b", Promoted(typeProp, String("x"))))
	require.ErrorIs(t, err, errTrackerDown)
	require.Equal(t, 1, e.s.Stats().Messages)
	tr.fail.Store(false)

	d := e.dequeue("h", 1)[0]
	tr.fail.Store(true)
	require.ErrorIs(t, e.s.Complete(ctx, d.Lease), errTrackerDown)
	tr.fail.Store(false)
	require.NoError(t, e.s.Complete(ctx, d.Lease), "the lease survives a failed complete")
	require.Equal(t, []EventKind{EventRouted, EventDelivered, EventCompleted}, trackedKinds(t, e.set, ids[0]))
	require.Equal(t, 0, e.s.Stats().Messages)
}

// TestStore_Concurrent runs publishers and consumers at once (meant for
// -race): every message is completed, none twice, and nothing is left.
func TestStore_Concurrent(t *testing.T) {
	e := newEnv(t, &Options{FragmentSize: 2048})
	e.host("h")
	sub := orderSub("h", "x")
	sub.Retry = &RetryPolicy{Count: 1000}
	e.subscribe(sub)
	const pubs, per = 4, 50
	var completed sync.Map
	var count atomic.Int64
	var wg sync.WaitGroup
	for p := range pubs {
		wg.Go(func() {
			for i := range per {
				body := []byte(fmt.Sprintf("%d-%d", p, i))
				if i%10 == 0 {
					body = make([]byte, 5000) // fragmented
				}
				_, _, err := e.s.Publish(ctx, msg(string(body), Promoted(typeProp, String("x"))))
				require.NoError(t, err)
			}
		})
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range 3 {
		wg.Go(func() {
			for count.Load() < pubs*per {
				ds, err := e.s.DequeueWait(cctx, "h", 7, time.Hour)
				if errors.Is(err, context.Canceled) {
					return
				}
				require.NoError(t, err)
				for i, d := range ds {
					if (i+int(d.Lease.Entry))%3 == 0 && d.DeliveryCount < 3 {
						require.NoError(t, e.s.Abandon(ctx, d.Lease, 0, "try again"))
						continue
					}
					l, err := e.s.Extend(ctx, d.Lease, time.Hour)
					require.NoError(t, err)
					d.Lease = l
					_, dup := completed.LoadOrStore(d.Lease.Entry, true)
					require.False(t, dup)
					require.NoError(t, e.s.Complete(ctx, d.Lease))
					if count.Add(1) == pubs*per {
						cancel()
					}
				}
			}
		})
	}
	wg.Wait()
	st := e.s.Stats()
	require.Equal(t, 0, st.Messages)
	require.Equal(t, uint64(pubs*per), st.Completed)
}
