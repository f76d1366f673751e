package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// EtcdWitness is a Witness on etcd. Under its prefix it keeps:
//
//	<prefix>leader/<lease>  the election (concurrency.Election); the
//	                        leader key's create revision is the epoch
//	<prefix>sync            the sync record, written only by a transaction
//	                        guarded by the writer's leader key
//
// Each campaign runs on its own lease (a concurrency.Session). Besides the
// session's keepalives, the term renews the lease itself once as soon as
// the election is won and then every TTL/3, and counts itself valid until
// the send time (on the monotonic clock) of its last successful renewal
// plus the granted TTL minus a margin: etcd counts the TTL from when it
// processes the request, after that send time, so the node stops
// acknowledging commits before any other node can win (the client
// library's own deadline is counted from receipt and is not safe for
// that). It is safe for concurrent use.
type EtcdWitness struct {
	cli    *clientv3.Client
	prefix string
	ttl    int
	margin time.Duration
}

var _ Witness = (*EtcdWitness)(nil)

// NewEtcdWitness returns a witness using cli under prefix (for example
// "/biztier/<group>/"), with leases of ttl (rounded up to whole seconds;
// defaults to 10 s when not positive; etcd refuses TTLs below its minimum,
// 2 s with default server settings). The fence margin is a quarter of the
// TTL, at most one second. The caller owns cli.
func NewEtcdWitness(cli *clientv3.Client, prefix string, ttl time.Duration) *EtcdWitness {
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	secs := int((ttl + time.Second - 1) / time.Second)
	return &EtcdWitness{cli: cli, prefix: prefix, ttl: secs, margin: min(time.Duration(secs)*time.Second/4, time.Second)}
}

func (w *EtcdWitness) leaderPrefix() string { return w.prefix + "leader/" }
func (w *EtcdWitness) syncKey() string      { return w.prefix + "sync" }

func encodeNode(n NodeInfo) string { return n.ID + "\n" + n.Addr }

func decodeNode(v []byte) NodeInfo {
	id, addr, _ := strings.Cut(string(v), "\n")
	return NodeInfo{ID: id, Addr: addr}
}

// encodeRecord writes the record as its epoch on the first line, then one
// line per candidate: "<from> <disk> <id>" (the ID last, so it may hold
// spaces).
func encodeRecord(r SyncRecord) string {
	var b strings.Builder
	b.WriteString(strconv.FormatUint(r.Epoch, 10))
	for _, c := range r.Candidates {
		fmt.Fprintf(&b, "\n%d %s %s", c.From, c.Disk, c.ID)
	}
	return b.String()
}

// decodeRecord reads encodeRecord's format. A record written before disks
// were named (a second line of comma-separated IDs) lists its candidates
// with no disk, so none of them passes checkPromotion until the active
// writes the record again.
func decodeRecord(v []byte) (SyncRecord, error) {
	lines := strings.Split(string(v), "\n")
	epoch, err := strconv.ParseUint(lines[0], 10, 64)
	if err != nil {
		return SyncRecord{}, fmt.Errorf("cluster: bad sync record %q", v)
	}
	r := SyncRecord{Epoch: epoch}
	if len(lines) == 2 && !strings.Contains(lines[1], " ") {
		for id := range strings.SplitSeq(lines[1], ",") {
			if id != "" {
				r.Candidates = append(r.Candidates, Candidate{ID: id})
			}
		}
		return r, nil
	}
	for _, l := range lines[1:] {
		f, rest, ok1 := strings.Cut(l, " ")
		disk, id, ok2 := strings.Cut(rest, " ")
		from, err := strconv.ParseUint(f, 10, 64)
		if !ok1 || !ok2 || err != nil {
			return SyncRecord{}, fmt.Errorf("cluster: bad sync record %q", v)
		}
		r.Candidates = append(r.Candidates, Candidate{ID: id, Disk: disk, From: from})
	}
	return r, nil
}

// Campaign implements Witness.
func (w *EtcdWitness) Campaign(ctx context.Context, node NodeInfo) (Term, error) {
	grant, err := w.cli.Grant(ctx, int64(w.ttl))
	if err != nil {
		return nil, fmt.Errorf("cluster: etcd grant: %w", err)
	}
	s, err := concurrency.NewSession(w.cli, concurrency.WithLease(grant.ID))
	if err != nil {
		_, _ = w.cli.Revoke(context.Background(), grant.ID)
		return nil, fmt.Errorf("cluster: etcd session: %w", err)
	}
	e := concurrency.NewElection(s, w.leaderPrefix())
	if err := e.Campaign(ctx, encodeNode(node)); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("cluster: etcd campaign: %w", err)
	}
	t := &etcdTerm{w: w, s: s, e: e, epoch: uint64(e.Rev()), done: make(chan struct{}), stop: make(chan struct{})}
	// The campaign may have waited for many seconds behind another leader,
	// while the session's keepalives moved the lease on without telling
	// us when. Renew once now and count the term from this renewal's send
	// time, so a term won after a long wait is not born expired.
	sent := time.Now()
	ka, err := w.cli.KeepAliveOnce(ctx, s.Lease())
	if err != nil {
		_ = t.Resign(context.Background())
		return nil, fmt.Errorf("cluster: etcd renew won lease: %w", err)
	}
	t.valid.set(sent.Add(time.Duration(ka.TTL)*time.Second - w.margin))
	// Read the sync record in a transaction guarded by the won key: it is
	// the record as of this election.
	resp, err := w.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(e.Key()), "=", e.Rev())).
		Then(clientv3.OpGet(w.syncKey())).Commit()
	if err == nil && !resp.Succeeded {
		err = errors.New("leader key gone right after the election")
	}
	if err == nil {
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			t.rec, err = decodeRecord(kvs[0].Value)
			t.hasRec = err == nil
		}
	}
	if err != nil {
		_ = t.Resign(context.Background())
		return nil, fmt.Errorf("cluster: etcd read sync record: %w", err)
	}
	t.wg.Add(1)
	go t.renew()
	return t, nil
}

// Leader implements Witness.
func (w *EtcdWitness) Leader(ctx context.Context) (NodeInfo, uint64, bool, error) {
	resp, err := w.cli.Get(ctx, w.leaderPrefix(), clientv3.WithFirstCreate()...)
	if err != nil {
		return NodeInfo{}, 0, false, fmt.Errorf("cluster: etcd leader: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return NodeInfo{}, 0, false, nil
	}
	kv := resp.Kvs[0]
	return decodeNode(kv.Value), uint64(kv.CreateRevision), true, nil
}

// etcdTerm is an EtcdWitness term.
type etcdTerm struct {
	w      *EtcdWitness
	s      *concurrency.Session
	e      *concurrency.Election
	epoch  uint64
	rec    SyncRecord
	hasRec bool
	valid  deadline // node-side: see EtcdWitness

	doneOnce sync.Once
	done     chan struct{}
	stopOnce sync.Once
	stop     chan struct{}
	wg       sync.WaitGroup
}

func (t *etcdTerm) end() { t.doneOnce.Do(func() { close(t.done) }) }

// renew renews the lease every TTL/3, tracking the node-side deadline, and
// ends the term when the lease or the leader key is gone.
func (t *etcdTerm) renew() {
	defer t.wg.Done()
	w := t.w
	period := time.Duration(w.ttl) * time.Second / 3
	tick := time.NewTicker(period)
	defer tick.Stop()
	wctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watch := w.cli.Watch(wctx, t.e.Key(), clientv3.WithRev(int64(t.epoch)))
	for {
		select {
		case <-t.stop:
			return
		case <-t.s.Done():
			t.end()
			return
		case wr, ok := <-watch:
			if !ok {
				watch = nil
				continue
			}
			for _, ev := range wr.Events {
				if ev.Type == clientv3.EventTypeDelete {
					t.end()
					return
				}
			}
			continue
		case <-tick.C:
		}
		sent := time.Now()
		ctx, c := context.WithTimeout(wctx, period)
		resp, err := w.cli.KeepAliveOnce(ctx, t.s.Lease())
		c()
		if errors.Is(err, context.Canceled) {
			return
		}
		if err != nil {
			if errors.Is(err, rpctypes.ErrLeaseNotFound) {
				t.end()
				return
			}
			continue // unreachable for now: the deadline stands
		}
		t.valid.set(sent.Add(time.Duration(resp.TTL)*time.Second - w.margin))
	}
}

func (t *etcdTerm) Epoch() uint64 { return t.epoch }

func (t *etcdTerm) Sync() (SyncRecord, bool) { return cloneRecord(t.rec), t.hasRec }

func (t *etcdTerm) SetSync(ctx context.Context, rec SyncRecord) error {
	resp, err := t.w.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(t.e.Key()), "=", int64(t.epoch))).
		Then(clientv3.OpPut(t.w.syncKey(), encodeRecord(rec))).Commit()
	if err != nil {
		return fmt.Errorf("%w: etcd write sync record: %w", ErrNotActive, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("%w: epoch %d no longer leads", ErrNotActive, t.epoch)
	}
	return nil
}

func (t *etcdTerm) ValidUntil() time.Time { return t.valid.get() }

func (t *etcdTerm) Done() <-chan struct{} { return t.done }

func (t *etcdTerm) halt() {
	t.stopOnce.Do(func() { close(t.stop) })
	t.wg.Wait()
}

// Resign deletes the leader key and revokes the term's lease.
func (t *etcdTerm) Resign(ctx context.Context) error {
	t.halt()
	err := t.e.Resign(ctx)
	t.end()
	return errors.Join(err, t.s.Close())
}

// abandon stops renewing without resigning, as a crashed node would: the
// lease runs out on its own.
func (t *etcdTerm) abandon() {
	t.halt()
	t.s.Orphan()
}
