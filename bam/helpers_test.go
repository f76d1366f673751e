package bam

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/wal"
	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

// memFS is a fresh in-memory file system.
func memFS() vfs.FS { return vfs.NewMem() }

var epoch = time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)

// testDB is a store set's BAM database as Open takes it.
type testDB struct{ set *store.Set }

func (d testDB) Reader() pebble.Reader { return d.set.DB(store.BAM).Reader() }
func (d testDB) Begin() Txn            { return d.set.NewTxn() }

func dbOf(set *store.Set) Database { return testDB{set} }

// clock is a manual clock safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func setOptions(fs vfs.FS, root string, d wal.Durability) *store.Options {
	dirs := make(map[store.ID]string, len(store.All))
	for _, id := range store.All {
		dirs[id] = fs.PathJoin(root, id.String())
	}
	return &store.Options{FS: fs, WALDir: fs.PathJoin(root, "wal"), Dirs: dirs, Logger: store.PanicLogger{},
		MemTableSize: 4 << 20, CacheSize: 8 << 20, CheckpointInterval: -1, Durability: d}
}

// env is a BAM store on a store set, with its clock.
type env struct {
	t     testing.TB
	fs    vfs.FS
	set   *store.Set
	s     *Store
	clock *clock
	opts  Options
	// moved is set by tests whose maintenance moves instances out: the
	// aggregations then count instances no longer in the tables.
	moved bool
}

func newEnv(t testing.TB, opts *Options) *env {
	t.Helper()
	e := openEnv(t, vfs.NewMem(), &clock{t: epoch}, opts)
	t.Cleanup(e.close)
	return e
}

func openEnv(t testing.TB, fs vfs.FS, c *clock, opts *Options) *env {
	t.Helper()
	var o Options
	if opts != nil {
		o = *opts
	}
	o.Now = c.Now
	set, err := store.Open(setOptions(fs, "g", wal.Sync))
	require.NoError(t, err)
	s, err := Open(context.Background(), dbOf(set), &o)
	require.NoError(t, err)
	return &env{t: t, fs: fs, set: set, s: s, clock: c, opts: o}
}

func (e *env) close() {
	if e.s == nil {
		return
	}
	checkConsistent(e.t, e.s, !e.moved)
	require.NoError(e.t, e.s.Close())
	require.NoError(e.t, e.set.Close())
	e.s, e.set = nil, nil
}

func (e *env) reopen() {
	e.t.Helper()
	e.close()
	moved := e.moved
	*e = *openEnv(e.t, e.fs, e.clock, &e.opts)
	e.moved = moved
}

// deploy parses and deploys a definition document.
func (e *env) deploy(doc string) *Definition {
	e.t.Helper()
	d, err := ParseDefinitionBytes([]byte(doc))
	require.NoError(e.t, err)
	require.NoError(e.t, e.s.Deploy(context.Background(), d, "test"))
	return d
}

func (e *env) instance(activity, id string) *Instance {
	e.t.Helper()
	in, err := e.s.Instance(context.Background(), activity, id)
	require.NoError(e.t, err)
	return in
}

func sharedFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedBAM, name))
	if os.IsNotExist(err) {
		t.Skipf("shared file %s absent", name)
	}
	require.NoError(t, err)
	return b
}

// orderDef is the order activity of the tests: milestones, data, a view
// with a milestone group, and a cube with a real-time aggregation by
// progress stage and region.
const orderDef = `<?xml version="1.0" encoding="utf-8"?>
<BAMDefinition xmlns="http://schemas.microsoft.com/BizTalkServer/2004/10/BAM">
	<Activity Name="Order" ID="A_Order">
		<Checkpoint Name="Received" ID="C_Received" DataType="DATETIME"/>
		<Checkpoint Name="Approved" ID="C_Approved" DataType="DATETIME"/>
		<Checkpoint Name="Denied" ID="C_Denied" DataType="DATETIME"/>
		<Checkpoint Name="Shipped" ID="C_Shipped" DataType="DATETIME"/>
		<Checkpoint Name="Region" ID="C_Region" DataType="NVARCHAR" DataLength="20"/>
		<Checkpoint Name="Amount" ID="C_Amount" DataType="FLOAT"/>
		<Checkpoint Name="Items" ID="C_Items" DataType="INT"/>
		<Checkpoint Name="Carrier" ID="C_Carrier" DataType="NVARCHAR" DataLength="20"/>
	</Activity>
	<View Name="Sales" ID="V_Sales">
		<ActivityView Name="SalesOrder" ID="AV_Order" ActivityRef="A_Order">
			<Alias Name="Received" ID="AL_Received"><CheckpointRef>C_Received</CheckpointRef></Alias>
			<Alias Name="Decided" ID="AL_Decided"><CheckpointRef>C_Approved</CheckpointRef><CheckpointRef>C_Denied</CheckpointRef></Alias>
			<Alias Name="Approved" ID="AL_Approved"><CheckpointRef>C_Approved</CheckpointRef></Alias>
			<Alias Name="Shipped" ID="AL_Shipped"><CheckpointRef>C_Shipped</CheckpointRef></Alias>
			<Alias Name="Region" ID="AL_Region"><CheckpointRef>C_Region</CheckpointRef></Alias>
			<Alias Name="Amount" ID="AL_Amount"><CheckpointRef>C_Amount</CheckpointRef></Alias>
			<Duration Name="ToShip" ID="D_ToShip" TimeResolution="Minute"><FromAliasRef>AL_Received</FromAliasRef><ToAliasRef>AL_Shipped</ToAliasRef></Duration>
		</ActivityView>
	</View>
	<Cube Name="Orders" ID="CB_Orders" ActivityViewRef="AV_Order">
		<Measure Name="Count" ID="M_Count" AliasRef="AL_Received" AggregationFunction="Count"/>
		<Measure Name="Total" ID="M_Total" AliasRef="AL_Amount" AggregationFunction="Sum"/>
		<Measure Name="AvgAmount" ID="M_Avg" AliasRef="AL_Amount" AggregationFunction="Avg"/>
		<Measure Name="MaxAmount" ID="M_Max" AliasRef="AL_Amount" AggregationFunction="Max"/>
		<DataDimension Name="Region" ID="DD_Region"><LevelAliasRef>AL_Region</LevelAliasRef></DataDimension>
		<ProgressDimension Name="Stage" ID="PD_Stage">
			<ProgressStage Name="Received" ID="S_Received" TimeStampAliasRef="AL_Received">
				<ProgressStage Name="Approved" ID="S_Approved" TimeStampAliasRef="AL_Approved">
					<ProgressStage Name="Shipped" ID="S_Shipped" TimeStampAliasRef="AL_Shipped"/>
				</ProgressStage>
			</ProgressStage>
		</ProgressDimension>
		<TimeDimension Name="When" ID="TD_When" TimeStampAliasRef="AL_Received"><TimeLevel>Year</TimeLevel><TimeLevel>Month</TimeLevel></TimeDimension>
		<NumericRangeDimension Name="Size" ID="ND_Size" NumericAliasRef="AL_Amount">
			<Range Name="Small" ID="R_Small" To="100"/>
			<Range Name="Large" ID="R_Large" From="100"/>
		</NumericRangeDimension>
		<RealTimeAggregation Name="OrdersByStage" ID="RTA_Stage">
			<MeasureRef>M_Count</MeasureRef>
			<MeasureRef>M_Total</MeasureRef>
			<MeasureRef>M_Avg</MeasureRef>
			<DimensionRef>PD_Stage</DimensionRef>
		</RealTimeAggregation>
	</Cube>
</BAMDefinition>`

var errDeadline = context.DeadlineExceeded

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
