package mgmt_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/mgmt"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// crashingSubs is fakeSubs that calls hook on every Subscribe, while the
// configuration change is staged in the same Txn but not committed.
type crashingSubs struct {
	*fakeSubs
	hook func()
}

func (c *crashingSubs) Subscribe(tx mgmt.GroupTx, sub mgmt.Subscription) error {
	if c.hook != nil {
		c.hook()
	}
	return c.fakeSubs.Subscribe(tx, sub)
}

// checkConsistent opens the group in fs and checks that the configuration
// and the MessageBox agree: every enlisted port owns its subscriptions,
// every subscription mgmt records is in the MessageBox with the same
// Active flag, and nothing else is. It returns how many ports are enlisted.
func checkConsistent(t *testing.T, fs vfs.FS) int {
	t.Helper()
	set, err := store.Open(setOptions(fs, "g"))
	require.NoError(t, err)
	defer set.Close()
	s, err := mgmt.Open(dbOf(set), newFakeSubs(set), nil)
	require.NoError(t, err)
	enlisted := 0
	for _, p := range s.SendPorts("") {
		subs := s.Subscriptions(mgmt.Ref{Kind: mgmt.KindSendPort, Name: p.Name})
		if p.State.Enlisted() {
			enlisted++
			require.NotEmpty(t, subs, "enlisted port %s without subscriptions", p.Name)
		} else {
			require.Empty(t, subs, "bound port %s with subscriptions", p.Name)
		}
		for _, sub := range subs {
			require.Equal(t, p.State == mgmt.PortStarted, sub.Active)
		}
	}
	stored := storedSubs(t, set)
	all := s.AllSubscriptions()
	require.Len(t, stored, len(all))
	for _, sub := range all {
		v, ok := stored[sub.ID]
		require.True(t, ok, "subscription %s missing from the MessageBox", sub.Name)
		require.Equal(t, string(fakeValue(sub)), v)
	}
	return enlisted
}

func routingBinding(ports int) string {
	var b strings.Builder
	b.WriteString(`<BindingInfo><SendPortCollection>`)
	for i := range ports {
		fmt.Fprintf(&b, `<SendPort Name="P%02d" IsStatic="true"><PrimaryTransport><Address>out/%d</Address>`+
			`<TransportType Name="FILE" /><SendHandler Name="Host" /></PrimaryTransport>`+
			`<Filter>&lt;Filter&gt;&lt;Group&gt;&lt;Statement Property="Orders.Region" Operator="0" Value="%d" /&gt;&lt;/Group&gt;&lt;/Filter&gt;</Filter>`+
			`<ApplicationName>Routing</ApplicationName></SendPort>`, i, i, i)
	}
	b.WriteString(`</SendPortCollection></BindingInfo>`)
	return b.String()
}

// TestEnlist_CrashInsideTheTransaction crashes while an enlist is staged:
// the reopened group has neither the state change nor the subscriptions.
func TestEnlist_CrashInsideTheTransaction(t *testing.T) {
	mem := vfs.NewCrashableMem()
	set, err := store.Open(setOptions(mem, "g"))
	require.NoError(t, err)
	defer set.Close()
	var crashed *vfs.MemFS
	subs := &crashingSubs{fakeSubs: newFakeSubs(set)}
	s, err := mgmt.Open(dbOf(set), subs, nil)
	require.NoError(t, err)
	ctx := context.Background()
	_, err = s.Import(ctx, strings.NewReader(routingBinding(3)), nil)
	require.NoError(t, err)

	subs.hook = func() {
		if crashed == nil {
			crashed = mem.CrashClone(vfs.CrashCloneCfg{})
		}
	}
	require.NoError(t, s.Start(ctx, mgmt.Ref{Kind: mgmt.KindSendPort, Name: "P01"}))
	require.NotNil(t, crashed)
	require.Equal(t, 0, checkConsistent(t, crashed))
	// Once Start returned, the change is durable.
	require.Equal(t, 1, checkConsistent(t, mem.CrashClone(vfs.CrashCloneCfg{})))
}

// TestEnlist_CrashAnywhere enlists, starts, stops and unenlists ports while
// another goroutine takes crash images at random moments, keeping a random
// part of the unsynced data; every image must reopen to a consistent group,
// and hold at least every change acknowledged before it was taken.
func TestEnlist_CrashAnywhere(t *testing.T) {
	seed := uint64(rand.Int64())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	mem := vfs.NewCrashableMem()
	set, err := store.Open(setOptions(mem, "g"))
	require.NoError(t, err)
	defer set.Close()
	s, err := mgmt.Open(dbOf(set), newFakeSubs(set), nil)
	require.NoError(t, err)
	ctx := context.Background()
	const ports = 8
	_, err = s.Import(ctx, strings.NewReader(routingBinding(ports)), nil)
	require.NoError(t, err)

	type image struct {
		fs    *vfs.MemFS
		acked int // enlisted ports acknowledged before the image
	}
	var (
		mu     sync.Mutex
		acked  int
		images []image
	)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		crng := rand.New(rand.NewPCG(seed, 1))
		for {
			select {
			case <-done:
				return
			default:
			}
			mu.Lock()
			a := acked
			mu.Unlock()
			fs := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: crng.IntN(101), RNG: crng})
			mu.Lock()
			images = append(images, image{fs: fs, acked: a})
			n := len(images)
			mu.Unlock()
			if n >= 24 {
				return
			}
		}
	}()
	// Enlist every port, one commit each, in random order.
	for _, i := range rng.Perm(ports) {
		ref := mgmt.Ref{Kind: mgmt.KindSendPort, Name: fmt.Sprintf("P%02d", i)}
		if rng.IntN(2) == 0 {
			require.NoError(t, s.Enlist(ctx, ref))
		} else {
			require.NoError(t, s.Start(ctx, ref))
		}
		mu.Lock()
		acked++
		mu.Unlock()
	}
	close(done)
	wg.Wait()
	images = append(images, image{fs: mem.CrashClone(vfs.CrashCloneCfg{}), acked: ports})
	for i, im := range images {
		t.Run(fmt.Sprintf("image%02d", i), func(t *testing.T) {
			n := checkConsistent(t, im.fs)
			require.GreaterOrEqual(t, n, im.acked, "an acknowledged enlist was lost")
		})
	}
}
