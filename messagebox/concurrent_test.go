package messagebox

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

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
