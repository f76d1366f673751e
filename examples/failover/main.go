// Command failover runs an active/passive pair in one program: an embedded
// etcd on 127.0.0.1 as the witness, two nodes replicating over loopback,
// writers committing all the while. It kills the active (its witness
// session and its process state vanish, as in a crash), waits for the
// passive to take over, and checks that every acknowledged commit is
// there.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/cluster"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

func main() {
	dir, err := os.MkdirTemp("", "biztier-failover-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := run(context.Background(), dir, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

// lease is the witness lease: failover takes about this long.
const lease = 2 * time.Second

// lockedWriter serialises writes: the nodes' callbacks print from their
// own goroutines.
type lockedWriter struct {
	mu sync.Mutex // guards w
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func run(ctx context.Context, dir string, w io.Writer) error {
	out := &lockedWriter{w: w}
	etcd, addr, err := startEtcd(filepath.Join(dir, "etcd"))
	if err != nil {
		return err
	}
	defer etcd.Close()
	fmt.Fprintf(out, "witness: embedded etcd at %s\n", addr)

	type member struct {
		node *cluster.Node
		cli  *clientv3.Client
	}
	open := func(id string) (*member, error) {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{addr}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			return nil, err
		}
		n, err := cluster.Open(filepath.Join(dir, id), &cluster.Options{
			ID:      id,
			Witness: cluster.NewEtcdWitness(cli, "/biztier/example/", lease),
			OnPromote: func(epoch uint64) {
				fmt.Fprintf(out, "%s: active (epoch %d)\n", id, epoch)
			},
			Group: &biztier.Options{CheckpointInterval: -1},
		})
		if err != nil {
			cli.Close()
			return nil, err
		}
		return &member{node: n, cli: cli}, nil
	}
	a, err := open("a")
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := cluster.WaitActive(wctx, a.node); err != nil {
		return err
	}
	b, err := open("b")
	if err != nil {
		return err
	}
	defer func() {
		b.node.Close()
		b.cli.Close()
	}()
	for a.node.Status().SyncState != "sync" {
		if wctx.Err() != nil {
			return errors.New("passive never caught up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	fmt.Fprintln(out, "b: passive, in the sync record")

	// Writers: each commits increasing values to its own key on whichever
	// node is active, and remembers the last value acknowledged.
	// mu guards nodes (the killed node leaves it), acked and fails.
	var (
		mu    sync.Mutex
		nodes = []*cluster.Node{a.node, b.node}
		acked = map[string]uint64{}
		fails int
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("writer-%d", w)
			for v := uint64(1); ; v++ {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				live := nodes
				mu.Unlock()
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				_, err := update(cctx, live, key, v)
				cancel()
				mu.Lock()
				if err == nil {
					acked[key] = v
				} else {
					fails++
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)

	// Kill the active: its witness connection and the node go at once, with
	// no resignation, as when the process dies.
	st := a.node.Status()
	fmt.Fprintf(out, "killing a at lsn %d\n", st.DurableLSN)
	killed := time.Now()
	a.cli.Close()
	a.node.Close()
	mu.Lock()
	nodes = nodes[1:]
	mu.Unlock()
	if _, err := cluster.WaitActive(wctx, b.node); err != nil {
		return fmt.Errorf("passive did not take over: %w", err)
	}
	fmt.Fprintf(out, "b took over in %v\n", time.Since(killed).Round(10*time.Millisecond))
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()

	// Check: every acknowledged value is on b.
	mu.Lock()
	defer mu.Unlock()
	total, lost := 0, 0
	for key, v := range acked {
		got, ok, err := b.node.Group().Get(biztier.MessageBox, []byte(key))
		if err != nil {
			return err
		}
		if !ok || binary.BigEndian.Uint64(got) < v {
			lost++
		}
		total += int(v)
	}
	fmt.Fprintf(out, "summary: %d commits acknowledged, %d failed during the failover (outcome unknown), %d lost\n", total, fails, lost)
	if lost > 0 {
		return fmt.Errorf("%d acknowledged commits lost", lost)
	}
	fmt.Fprintln(out, "nothing acknowledged was lost")
	return nil
}

// update commits key=v on the first active node.
func update(ctx context.Context, nodes []*cluster.Node, key string, v uint64) (uint64, error) {
	for _, n := range nodes {
		if n.Role() == cluster.Active {
			return n.Update(ctx, func(tx *biztier.Tx) error {
				return tx.Set(biztier.MessageBox, []byte(key), binary.BigEndian.AppendUint64(nil, v))
			})
		}
	}
	return 0, cluster.ErrNotActive
}

// startEtcd starts a one-member etcd on 127.0.0.1 with ports chosen at run
// time and a no-op logger.
func startEtcd(dir string) (*embed.Etcd, string, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	local, _ := url.Parse("http://127.0.0.1:0")
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*local}, []url.URL{*local}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*local}, []url.URL{*local}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		return nil, "", errors.New("etcd did not start")
	}
	return e, e.Clients[0].Addr().String(), nil
}
