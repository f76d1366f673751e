package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/bam"
	"github.com/stretchr/testify/require"
)

const failoverActivity = `<BAMDefinition xmlns="http://schemas.microsoft.com/BizTalkServer/2004/10/BAM">
	<Activity Name="Flow" ID="A">
		<Checkpoint Name="Step" ID="S" DataType="INT"/>
		<Checkpoint Name="Stream" ID="K" DataType="NVARCHAR" DataLength="20"/>
	</Activity>
</BAMDefinition>`

// TestNode_BAMFailover writes BAM events through every stream (direct,
// buffered, orchestration and messaging streams in group transactions, and
// transactions that roll back) while the active is killed. On the new
// active every acknowledged step's events are there exactly once (each
// step adds one reference, counted), none of a rolled-back step, and no
// unacknowledged step twice.
func TestNode_BAMFailover(t *testing.T) {
	ctx := context.Background()
	w := NewLocalWitness(testTTL)
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, nil)
	waitInSync(t, a)
	s, err := a.Group().BAM(ctx, nil)
	require.NoError(t, err)
	def, err := bam.ParseDefinition(strings.NewReader(failoverActivity))
	require.NoError(t, err)
	require.NoError(t, s.Deploy(ctx, def, "ops"))

	var mu sync.Mutex
	acked := map[string]bool{} // step ID -> acknowledged
	attempted := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	events := func(es *bam.EventStream, kind, id string, i int) error {
		return errors.Join(
			es.BeginActivity(ctx, "Flow", id),
			es.UpdateActivity(ctx, "Flow", id, "Step", i, "Stream", kind),
			es.AddReference(ctx, "Flow", id, bam.Reference{Type: "Step", Name: id}),
			es.EndActivity(ctx, "Flow", id))
	}
	g := a.Group()
	for _, kind := range []string{"direct", "buffered", "orchestration", "messaging", "rolledback"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%s-%d", kind, i)
				mu.Lock()
				attempted[id] = true
				mu.Unlock()
				var err error
				switch kind {
				case "direct":
					es := s.DirectStream(1)
					err = events(es, kind, id, i)
				case "buffered":
					es := s.BufferedStream(0)
					if err = events(es, kind, id, i); err == nil {
						err = es.Flush(ctx)
					}
				default:
					_, err = g.Update(ctx, func(tx *biztier.Tx) error {
						es := s.OrchestrationStream(tx)
						if kind == "messaging" {
							if err := tx.Set(biztier.MessageBox, []byte(id), []byte("message")); err != nil {
								return err
							}
							es = s.MessagingStream(tx)
						}
						if err := events(es, kind, id, i); err != nil {
							return err
						}
						if kind == "rolledback" {
							return errRolledBack
						}
						return nil
					})
					if errors.Is(err, errRolledBack) {
						err = nil
					}
				}
				if err != nil {
					return // the active is gone
				}
				mu.Lock()
				acked[id] = true
				mu.Unlock()
			}
		}()
	}
	// Kill the active once every stream has had steps acknowledged.
	waitFor(t, 10*time.Second, "steps on every stream", func() bool {
		mu.Lock()
		defer mu.Unlock()
		per := map[string]int{}
		for id := range acked {
			per[id[:strings.IndexByte(id, '-')]]++
		}
		return len(per) == 5 && per["direct"] >= 10 && per["buffered"] >= 10 && per["orchestration"] >= 10 && per["messaging"] >= 10
	})
	a.crash(w)
	waitActive(t, 10*time.Second, b)
	close(stop)
	wg.Wait()

	s2, err := b.Group().BAM(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, s2.WaitCaughtUp(ctx))
	n := map[string]int{}
	for id := range attempted {
		kind := id[:strings.IndexByte(id, '-')]
		in, err := s2.Instance(ctx, "Flow", id)
		refs := 0
		if err == nil {
			for _, r := range in.References {
				if r.Name == id {
					refs++
				}
			}
		} else {
			require.ErrorIs(t, err, bam.ErrNotFound)
		}
		switch {
		case kind == "rolledback":
			require.ErrorIs(t, err, bam.ErrNotFound, "event of rolled-back step %s", id)
		case acked[id]:
			require.NoError(t, err, "acknowledged step %s lost", id)
			require.Equal(t, 1, refs, "%s", id)
			require.Equal(t, bam.Completed, in.State, "%s", id)
			n[kind]++
		default:
			require.LessOrEqual(t, refs, 1, "%s twice", id)
		}
	}
	t.Logf("acknowledged steps found on the new active: %v", n)
	for _, kind := range []string{"direct", "buffered", "orchestration", "messaging"} {
		require.Positive(t, n[kind], kind)
	}
}

var errRolledBack = errors.New("rolled back")
