package biztier

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/stretchr/testify/require"
)

// opCrasher clones a crashable filesystem just before its k-th operation
// through the wrapping errorfs (counting only while armed).
type opCrasher struct {
	fs    *vfs.MemFS
	rng   *rand.Rand
	armed atomic.Bool
	n     atomic.Int64
	k     int64
	clone *vfs.MemFS
}

func (c *opCrasher) MaybeError(errorfs.Op) error {
	if !c.armed.Load() {
		return nil
	}
	if c.n.Add(1) == c.k {
		c.clone = c.fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: c.rng.IntN(101), RNG: c.rng})
	}
	return nil
}

func (c *opCrasher) String() string { return fmt.Sprintf("crash at op %d", c.k) }

// TestStandby_CrashWhileCatchingUpOrActivating crashes a DR standby at
// points of a catch-up and of the activation after it. Whatever the point,
// the directory left behind either reopens as a standby that activates
// into a group holding exactly the state at the LSN it reports, or is
// already an activated group that opens with that state; it is never a
// group that cannot open.
func TestStandby_CrashWhileCatchingUpOrActivating(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	ctx := context.Background()

	// run builds the scenario on a fresh filesystem with the crasher
	// armed for the catch-up and the activation only.
	run := func(c *opCrasher) (m *model, lastLSN uint64) {
		base := vfs.NewCrashableMem()
		c.fs = base
		wrapped := errorfs.Wrap(base, c)
		mkdirSynced(t, base, "g")
		// A memtable small enough that the standby's stores flush on their
		// own during a catch-up, at different LSNs.
		o := drOptions(base, nil, 16<<10)
		g, err := Open("g", o)
		require.NoError(t, err)
		m = newModel()
		bk := DirShipper(base, "b")
		commitSome(t, g, m, 40, "a")
		_, err = g.Backup(ctx, bk, nil)
		require.NoError(t, err)
		sb, err := OpenStandby(ctx, bk, "standby", &RestoreOptions{FS: wrapped})
		require.NoError(t, err)
		for i := range 3 {
			commitSome(t, g, m, 200, fmt.Sprintf("b%d", i))
			last, err := g.BackupLog(ctx, bk, nil)
			require.NoError(t, err)
			lastLSN = last.Last
		}
		require.NoError(t, g.Close())
		c.armed.Store(true)
		lsn, err := sb.CatchUp(ctx)
		require.NoError(t, err)
		require.Equal(t, lastLSN, lsn)
		res, err := sb.Activate(ctx)
		require.NoError(t, err)
		require.Equal(t, lastLSN, res.LSN)
		c.armed.Store(false)
		return m, lastLSN
	}

	probe := &opCrasher{rng: rng}
	run(probe)
	total := probe.n.Load()
	t.Logf("%d filesystem operations in catch-up and activation", total)
	step := int64(crashStep(rng)) * max(1, total/40)
	for k := int64(1); k <= total; k += step {
		t.Run(fmt.Sprintf("k=%d", k), func(t *testing.T) {
			c := &opCrasher{rng: rng, k: k}
			m, lastLSN := run(c)
			require.NotNil(t, c.clone)
			crashed := c.clone
			sb, err := OpenStandby(ctx, DirShipper(crashed, "b"), "standby", &RestoreOptions{FS: crashed})
			if err == nil {
				res, err := sb.Activate(ctx)
				if err != nil {
					// Refusing is allowed only with the standby intact: it
					// must still catch up and then activate.
					t.Logf("activate refused: %v", err)
					require.NoError(t, sb.Close())
					sb, err = OpenStandby(ctx, DirShipper(crashed, "b"), "standby", &RestoreOptions{FS: crashed})
					require.NoError(t, err)
					_, err = sb.CatchUp(ctx)
					require.NoError(t, err)
					res, err = sb.Activate(ctx)
					require.NoError(t, err)
				}
				require.Equal(t, lastLSN, res.LSN, "activation restores every shipped set")
			} else {
				t.Logf("reopen as standby: %v", err)
			}
			g, err := Open("standby", drOptions(crashed, nil, 0))
			require.NoError(t, err, "the activated directory must open as a group")
			got := userState(t, g)
			lsn := g.Stats().LSN
			require.NoError(t, g.Close())
			require.Equal(t, m.stateAt(lsn), got)
			require.Equal(t, lastLSN, lsn)
		})
	}
}
