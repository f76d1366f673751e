package messagebox

import (
	"testing"
	"time"

	"github.com/biztier/biztier/internal/crashtest"
	"github.com/stretchr/testify/require"
)

// TestExchange_crashEveryOp runs three messaging steps (publish invoices
// for two orders, complete the orders, take the next two) and crashes
// before every file-system operation of them: each step is found whole or
// not at all, and every acknowledged step is there.
func TestExchange_crashEveryOp(t *testing.T) {
	for _, seed := range crashtest.Seeds(t, 2) {
		t.Logf("seed %d", seed)
		rec, fs := crashtest.NewRecorder(seed)
		clock := NewManualClock(epoch)
		e := openEnv(t, fs, clock, nil)
		e.orch()
		e.subscribe(orderSub("orch", "order"))
		e.subscribe(orderSub("send", "invoice"))
		const orders, steps, batch = 6, 3, 2
		for range orders {
			e.publish(typedMsg("order"))
		}
		ds := e.dequeue("orch", batch)
		rec.Arm()
		for k := 1; k <= steps; k++ {
			var invoices []*Message
			var done []Lease
			for _, d := range ds {
				invoices = append(invoices, typedMsg("invoice"))
				done = append(done, d.Lease)
			}
			_, next, err := e.s.PublishCompleteAndDequeue(ctx, invoices, done, "orch", batch, time.Minute)
			require.NoError(t, err)
			rec.Ack(k)
			ds = next
		}
		rec.Disarm()
		e.close()

		crashes := rec.Crashes()
		require.NotEmpty(t, crashes)
		t.Logf("%d crashes, %d%% of unsynced data kept", len(crashes), rec.UnsyncedPercent())
		for i, c := range crashes {
			e := openEnv(t, c.FS, clock, nil)
			st := e.s.Stats()
			sent, left := st.Hosts["send"].Depth(), st.Hosts["orch"].Depth()
			stepsIn := sent / batch
			require.Equal(t, 0, sent%batch, "crash %d (%d%% unsynced): %d invoices, not whole steps", i, rec.UnsyncedPercent(), sent)
			require.Equal(t, orders-stepsIn*batch, left, "crash %d: %d invoices but %d orders left", i, sent, left)
			require.GreaterOrEqual(t, stepsIn, c.Acked, "crash %d: an acknowledged step is lost", i)
			require.Equal(t, left+sent, st.Messages, "crash %d: orders and invoices stored", i)
			e.close()
		}
	}
}
