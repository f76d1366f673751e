package cluster

import (
	"context"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// One embedded etcd serves every test of the binary that needs it. It
// starts on first use, on 127.0.0.1 with ports chosen at run time, in a
// temporary directory, with a no-op logger.
var etcdServer struct {
	once sync.Once
	e    *embed.Etcd
	dir  string
	addr string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if etcdServer.e != nil {
		etcdServer.e.Close()
		_ = os.RemoveAll(etcdServer.dir)
	}
	os.Exit(code)
}

func startEtcd() (string, error) {
	etcdServer.once.Do(func() {
		dir, err := os.MkdirTemp("", "biztier-etcd-")
		if err != nil {
			etcdServer.err = err
			return
		}
		etcdServer.dir = dir
		cfg := embed.NewConfig()
		cfg.Dir = dir
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		local, _ := url.Parse("http://127.0.0.1:0")
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*local}, []url.URL{*local}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*local}, []url.URL{*local}
		cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
		cfg.TickMs, cfg.ElectionMs = 10, 100
		cfg.UnsafeNoFsync = true
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			etcdServer.err = err
			return
		}
		select {
		case <-e.Server.ReadyNotify():
		case <-time.After(30 * time.Second):
			e.Close()
			etcdServer.err = context.DeadlineExceeded
			return
		}
		etcdServer.e = e
		etcdServer.addr = e.Clients[0].Addr().String()
	})
	return etcdServer.addr, etcdServer.err
}

// etcdClient returns a client of the shared embedded etcd, closed at the
// end of the test.
func etcdClient(t testing.TB) *clientv3.Client {
	t.Helper()
	addr, err := startEtcd()
	require.NoError(t, err)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// etcdTTL is the lease the etcd tests use: the 2 s lease the failover goal
// is stated for.
const etcdTTL = 2 * time.Second

func TestEtcdWitness_FailoverAndFencing(t *testing.T) {
	prefix := "/biztier/" + t.Name() + "/"
	wa := NewEtcdWitness(etcdClient(t), prefix, etcdTTL)
	wb := NewEtcdWitness(etcdClient(t), prefix, etcdTTL)
	a := openTestNode(t, wa, "a", nil, Sync, nil)
	waitActive(t, 10*time.Second, a)
	b := openTestNode(t, wb, "b", nil, Sync, nil)
	waitInSync(t, a)
	_, epochA, ok, err := wa.Leader(context.Background())
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, epochA, a.Status().Epoch, "epoch is the leader key's revision")

	l := newLedger()
	stop := make(chan struct{})
	wait := load([]*testNode{a, b}, 8, l, stop)
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	afs := a.crash(nil)
	waitActive(t, 15*time.Second, b)
	t.Logf("unplanned failover on etcd with a %v lease: %v", etcdTTL, time.Since(start))
	close(stop)
	wait()
	lost, err := l.check(b.group())
	require.NoError(t, err)
	require.Zero(t, lost)
	require.Greater(t, b.Status().Epoch, epochA)

	// The old active's term can no longer write the sync record.
	rec, _ := etcdSync(t, wb, prefix)
	require.Equal(t, []string{"b"}, rec.IDs())

	// It comes back, cuts its tail, follows, and is listed again.
	a2 := openTestNode(t, NewEtcdWitness(etcdClient(t), prefix, etcdTTL), "a", afs, Sync, nil)
	waitInSync(t, b)
	_, err = write(context.Background(), b.Node, "after", 1)
	require.NoError(t, err)
	waitCaughtUp(t, b, a2)
	requireSameDigest(t, b, a2)
	rec, _ = etcdSync(t, wb, prefix)
	require.Equal(t, []string{"b", "a"}, rec.IDs())

	// Planned switchover back.
	start = time.Now()
	require.NoError(t, b.Switchover(context.Background()))
	waitActive(t, 10*time.Second, a2)
	t.Logf("planned switchover on etcd: %v", time.Since(start))
	_, err = write(context.Background(), a2.Node, "back", 1)
	require.NoError(t, err)
}

func TestEtcdWitness_StaleTermCannotWrite(t *testing.T) {
	prefix := "/biztier/" + t.Name() + "/"
	w := NewEtcdWitness(etcdClient(t), prefix, etcdTTL)
	ctx := context.Background()
	t1, err := w.Campaign(ctx, NodeInfo{ID: "a", Addr: "x"})
	require.NoError(t, err)
	require.NoError(t, t1.SetSync(ctx, SyncRecord{Epoch: t1.Epoch(), Candidates: []Candidate{{ID: "a", Disk: "d1", From: 7}}}))
	require.NoError(t, t1.Resign(ctx))
	t2, err := w.Campaign(ctx, NodeInfo{ID: "b", Addr: "y"})
	require.NoError(t, err)
	require.Greater(t, t2.Epoch(), t1.Epoch())
	rec, ok := t2.Sync()
	require.True(t, ok)
	require.Equal(t, []Candidate{{ID: "a", Disk: "d1", From: 7}}, rec.Candidates)
	require.ErrorIs(t, t1.SetSync(ctx, SyncRecord{Epoch: t1.Epoch(), Candidates: []Candidate{{ID: "a", Disk: "d1", From: 7}}}), ErrNotActive)
	require.NoError(t, t2.Resign(ctx))
}

func etcdSync(t testing.TB, w *EtcdWitness, prefix string) (SyncRecord, bool) {
	t.Helper()
	resp, err := w.cli.Get(context.Background(), prefix+"sync")
	require.NoError(t, err)
	if len(resp.Kvs) == 0 {
		return SyncRecord{}, false
	}
	rec, err := decodeRecord(resp.Kvs[0].Value)
	require.NoError(t, err)
	return rec, true
}

// TestEtcdWitness_PartitionActiveFromEtcd cuts the active off from etcd
// (but not from its passive) through a TCP proxy: it must fence itself
// before the passive can win, and the passive takes over with nothing
// acknowledged lost.
func TestEtcdWitness_PartitionActiveFromEtcd(t *testing.T) {
	addr, err := startEtcd()
	require.NoError(t, err)
	px := newTCPProxy(t, addr)
	cliA, err := clientv3.New(clientv3.Config{Endpoints: []string{px.addr()}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = cliA.Close() })
	prefix := "/biztier/" + t.Name() + "/"
	a := openTestNode(t, NewEtcdWitness(cliA, prefix, etcdTTL), "a", nil, Sync, nil)
	waitActive(t, 10*time.Second, a)
	b := openTestNode(t, NewEtcdWitness(etcdClient(t), prefix, etcdTTL), "b", nil, Sync, nil)
	waitInSync(t, a)
	l := newLedger()
	stop := make(chan struct{})
	wait := load([]*testNode{a, b}, 4, l, stop)
	time.Sleep(100 * time.Millisecond)
	px.blackhole(true)
	start := time.Now()
	waitFor(t, 10*time.Second, "a fenced", func() bool { return a.Role() != Active })
	fenced := time.Since(start)
	waitActive(t, 15*time.Second, b)
	t.Logf("active fenced itself after %v; passive active after %v", fenced, time.Since(start))
	close(stop)
	wait()
	lost, err := l.check(b.group())
	require.NoError(t, err)
	require.Zero(t, lost)
	px.blackhole(false)
	px.reset()
	waitFor(t, 20*time.Second, "a following b", func() bool { return a.Role() == Passive && a.Status().PeerConnected })
	_, err = write(context.Background(), b.Node, "after", 1)
	require.NoError(t, err)
	waitCaughtUp(t, b, a)
	requireSameDigest(t, b, a)
}
