package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/stretchr/testify/require"
)

func TestCheckPromotion(t *testing.T) {
	rec := SyncRecord{Epoch: 7, Candidates: []Candidate{{ID: "a", Disk: "da", From: 10}, {ID: "b", Disk: "db", From: 40}}}
	for _, tc := range []struct {
		name     string
		rec      SyncRecord
		ok       bool
		id, disk string
		epoch    uint64
		durable  uint64
		want     bool
	}{
		{"new pair, no record", SyncRecord{}, false, "a", "da", 1, 0, true},
		{"record lost after the pair served", SyncRecord{}, false, "a", "da", 7, 100, false},
		{"listed active", rec, true, "a", "da", 7, 100, true},
		{"listed passive", rec, true, "b", "db", 7, 40, true},
		{"not listed", rec, true, "c", "dc", 7, 100, false},
		{"lost disk", rec, true, "b", "db2", 1, 0, false},
		{"log rolled back before listing", rec, true, "b", "db", 7, 39, false},
		{"record older than the log's epoch", rec, true, "b", "db", 9, 100, false},
		{"record from before disks were named", SyncRecord{Epoch: 7, Candidates: []Candidate{{ID: "b"}}}, true, "b", "db", 7, 100, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPromotion(tc.rec, tc.ok, tc.id, tc.disk, tc.epoch, tc.durable)
			if tc.want {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, errNotPromotable)
			}
		})
	}
}

func TestEtcdRecord_RoundTrip(t *testing.T) {
	rec := SyncRecord{Epoch: 42, Candidates: []Candidate{{ID: "node a", Disk: "d-1", From: 3}, {ID: "b", Disk: "d-2", From: 99}}}
	got, err := decodeRecord([]byte(encodeRecord(rec)))
	require.NoError(t, err)
	require.Equal(t, rec, got)
	legacy, err := decodeRecord([]byte("5\na,b"))
	require.NoError(t, err)
	require.Equal(t, SyncRecord{Epoch: 5, Candidates: []Candidate{{ID: "a"}, {ID: "b"}}}, legacy)
	_, err = decodeRecord([]byte("5\nx y"))
	require.Error(t, err)
}

// TestNode_LostDiskNotPromoted is issue 13's reproduction: the sync record
// lists [a b]; b crashes, then a crashes; b comes back on an empty disk.
// It used to be promoted, and the acknowledged writes were gone. Now it
// refuses (its disk is not the one listed) until a returns.
func TestNode_LostDiskNotPromoted(t *testing.T) {
	w := NewLocalWitness(testTTL)
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, nil)
	waitInSync(t, a)
	for i := range 50 {
		_, err := write(context.Background(), a.Node, fmt.Sprintf("k%02d", i), uint64(i+1))
		require.NoError(t, err)
	}
	rec, _ := w.SyncRecord()
	require.Equal(t, []string{"a", "b"}, rec.IDs())
	b.crash(w)
	afs := a.crash(w)
	// b returns on an empty disk: a new log, a new disk identity.
	b2 := openTestNode(t, w, "b", vfs.NewCrashableMem(), Sync, nil)
	waitFor(t, 10*time.Second, "b to win and refuse", func() bool { return b2.Status().Alarm != nil })
	require.ErrorIs(t, b2.Status().Alarm, errNotPromotable)
	require.NotEqual(t, Active, b2.Role())
	// a returns on its own disk, is promoted, and has every write.
	a2 := openTestNode(t, w, "a", afs, Sync, nil)
	waitActive(t, 10*time.Second, a2)
	for i := range 50 {
		v, ok, err := a2.group().Get(biztier.MessageBox, fmt.Appendf(nil, "k%02d", i))
		require.NoError(t, err)
		require.True(t, ok, "acknowledged write k%02d lost", i)
		require.Equal(t, u64(uint64(i+1)), v)
	}
	// b follows, catches up and is listed with its new disk.
	waitInSync(t, a2, b2)
	rec, _ = w.SyncRecord()
	require.Equal(t, []string{"a", "b"}, rec.IDs())
	require.Equal(t, b2.diskID(), rec.Candidates[1].Disk)
	waitCaughtUp(t, a2, b2)
	requireSameDigest(t, a2, b2)
}

// TestNode_StaleSyncRecordNotPromoted restores the witness to an older
// sync record, one that lists a node which has since been dropped while
// the active acknowledged commits without it: that node must not promote
// on it (its log has seen a newer epoch than the record's).
func TestNode_StaleSyncRecordNotPromoted(t *testing.T) {
	w := NewLocalWitness(testTTL)
	var fnA faultNet
	a := openTestNode(t, w, "a", nil, Sync, func(o *Options) { o.Dial = fnA.dial })
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, nil)
	waitInSync(t, a)
	old, _ := w.SyncRecord() // [a b], written in a's epoch
	require.NoError(t, a.Switchover(context.Background()))
	waitActive(t, 5*time.Second, b)
	waitInSync(t, b, a) // a has b's epoch in its log
	fnA.partition(true)
	// b drops a and acknowledges alone.
	for i := range 10 {
		_, err := write(context.Background(), b.Node, "solo", uint64(i+1))
		require.NoError(t, err)
	}
	rec, _ := w.SyncRecord()
	require.Equal(t, []string{"b"}, rec.IDs())
	// The witness is restored from a backup taken while a was listed; then
	// b dies.
	w.RestoreSyncRecord(old)
	b.crash(w)
	fnA.partition(false)
	waitFor(t, 10*time.Second, "a to win and refuse", func() bool { return errors.Is(a.Status().Alarm, errNotPromotable) })
	require.NotEqual(t, Active, a.Role())
}

// TestEtcdWitness_TermValidFromWin: a campaign that waits behind another
// leader for longer than the TTL wins a term that is valid from the
// moment it is won (it used to be counted from the lease grant made before
// the wait, and was born expired).
func TestEtcdWitness_TermValidFromWin(t *testing.T) {
	prefix := "/biztier/" + t.Name() + "/"
	w := NewEtcdWitness(etcdClient(t), prefix, etcdTTL)
	ctx := context.Background()
	t1, err := w.Campaign(ctx, NodeInfo{ID: "a", Addr: "x"})
	require.NoError(t, err)
	won := make(chan Term, 1)
	go func() {
		t2, err := w.Campaign(ctx, NodeInfo{ID: "b", Addr: "y"})
		if err != nil {
			t2 = nil
		}
		won <- t2
	}()
	// b waits in the queue for longer than a lease while a renews.
	<-time.After(etcdTTL + time.Second)
	require.NoError(t, t1.Resign(ctx))
	t2 := <-won
	require.NotNil(t, t2)
	defer t2.Resign(ctx)
	v := t2.ValidUntil()
	require.Positive(t, time.Until(v), "a term won after a wait is born expired")
	require.NotEqual(t, v, v.Round(0), "the lease deadline has no monotonic clock reading")
}

// TestLocalWitness_DeadlineMonotonic: lease deadlines carry the monotonic
// clock reading, so a wall-clock step cannot stretch them.
func TestLocalWitness_DeadlineMonotonic(t *testing.T) {
	w := NewLocalWitness(testTTL)
	tm, err := w.Campaign(context.Background(), NodeInfo{ID: "a"})
	require.NoError(t, err)
	defer tm.Resign(context.Background())
	v := tm.ValidUntil()
	require.NotEqual(t, v, v.Round(0), "the lease deadline has no monotonic clock reading")
}

// TestNode_PausedActiveReadFenced pauses the active in the middle of a
// read (after it read the value, before it answers) and cuts it off from
// the witness; the passive takes over and overwrites the value. When the
// old active resumes, its reader runs before anything else of it: neither
// that read nor a new one may answer with the overwritten value.
func TestNode_PausedActiveReadFenced(t *testing.T) {
	w := NewLocalWitness(testTTL)
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, nil)
	waitInSync(t, a)
	_, err := write(context.Background(), a.Node, "k", 1)
	require.NoError(t, err)
	read := func(n *testNode) (uint64, error) {
		var got uint64
		err := n.Read(context.Background(), func(g *biztier.Group) error {
			v, ok, err := g.Get(biztier.MessageBox, []byte("k"))
			if ok {
				got = u64v(v)
			}
			return err
		})
		return got, err
	}
	resume := a.pauseNode(t)
	type result struct {
		v   uint64
		err error
	}
	inFlight := make(chan result, 1)
	go func() {
		v, err := read(a)
		inFlight <- result{v, err}
	}()
	w.Isolate("a", true)
	waitActive(t, 10*time.Second, b)
	_, err = write(context.Background(), b.Node, "k", 2)
	require.NoError(t, err)
	// a resumes, still cut off from the witness; its reader runs first.
	resume("read")
	r := <-inFlight
	require.ErrorIs(t, r.err, ErrNotActive, "paused read answered %d after the new active wrote 2", r.v)
	v, err := read(a)
	require.ErrorIs(t, err, ErrNotActive, "new read on the old active answered %d after the new active wrote 2", v)
	resume()
	w.Isolate("a", false)
	waitFor(t, 10*time.Second, "a following b", func() bool { return a.Role() == Passive && a.Status().PeerConnected })
}
