package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt/metrics"
)

// openFlow opens an in-memory group with two hosts and a subscription on each.
func openFlow(t testing.TB) (*biztier.Group, *messagebox.Store) {
	t.Helper()
	g, err := biztier.OpenInMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	mb, err := g.MessageBox()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, h := range []string{"SendHost", "OrchHost"} {
		if err := mb.CreateHost(ctx, h); err != nil {
			t.Fatal(err)
		}
		if _, err := mb.Subscribe(ctx, messagebox.Subscription{
			Name: h + "Port", Host: h,
			Predicate: messagebox.Or(messagebox.And(messagebox.Eq("BTS.MessageType", messagebox.String("urn:t#"+h)))),
		}); err != nil {
			t.Fatal(err)
		}
	}
	return g, mb
}

// publish publishes n messages to host's subscription.
func publish(t testing.TB, mb *messagebox.Store, host string, n int) {
	t.Helper()
	for range n {
		if _, _, err := mb.Publish(context.Background(), messagebox.NewMessage([]byte("<m/>"),
			messagebox.Promoted("BTS.MessageType", messagebox.String("urn:t#"+host)))); err != nil {
			t.Fatal(err)
		}
	}
}

// gather returns the registry's families by name.
func gather(t testing.TB, reg *prometheus.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// value returns the value of the series of name whose labels include want.
func value(t testing.TB, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no family %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(want); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == want[i] && l.GetValue() == want[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("no series %s%v", name, want)
	return 0
}

func TestCollector_values(t *testing.T) {
	g, mb := openFlow(t)
	reg := prometheus.NewPedanticRegistry()
	c, err := metrics.New(metrics.Options{Group: g})
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(c)
	ctx := context.Background()
	publish(t, mb, "SendHost", 5)
	publish(t, mb, "OrchHost", 2)
	ds, err := mb.Dequeue(ctx, "SendHost", 2, time.Minute)
	if err != nil || len(ds) != 2 {
		t.Fatalf("dequeue: %d, %v", len(ds), err)
	}
	if err := mb.Complete(ctx, ds[0].Lease); err != nil {
		t.Fatal(err)
	}
	if err := mb.Suspend(ctx, ds[1].Lease, "test"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := mb.Publish(ctx, messagebox.NewMessage([]byte("<lost/>"))); !errors.Is(err, messagebox.ErrNoSubscribers) {
		t.Fatalf("publish without subscriber: %v", err)
	}
	fams := gather(t, reg)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"biztier_messagebox_published_messages_total", nil, 8},
		{"biztier_messagebox_completed_entries_total", nil, 1},
		{"biztier_messagebox_delivered_entries_total", nil, 2},
		{"biztier_messagebox_spool_messages", nil, 7},
		{"biztier_messagebox_host_queue_entries", []string{"host", "SendHost", "state", "ready"}, 3},
		{"biztier_messagebox_host_queue_entries", []string{"host", "SendHost", "state", "leased"}, 0},
		{"biztier_messagebox_host_queue_entries", []string{"host", "OrchHost", "state", "ready"}, 2},
		{"biztier_messagebox_suspended_entries", nil, 2},
		{"biztier_messagebox_suspended_resumable_entries", nil, 1},
		{"biztier_messagebox_routing_failure_reports", nil, 1},
		{"biztier_messagebox_throttling_state", []string{"direction", "publish"}, 0},
		{"biztier_scrape_error", []string{"subsystem", "messagebox"}, 0},
	} {
		t.Run(tc.name+strings.Join(tc.labels, ","), func(t *testing.T) {
			if got := value(t, fams, tc.name, tc.labels...); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	st := g.Stats()
	if got := value(t, fams, "biztier_wal_commits_total"); got < 8 || got > float64(st.Commits) {
		t.Errorf("commits_total %v, want between 8 and %d", got, st.Commits)
	}
	if got := value(t, fams, "biztier_database_applied_lsn", "database", biztier.MessageBox.String()); got == 0 {
		t.Error("messagebox applied LSN is 0")
	}
	// The log's histograms: every fsync, commit and group counted, in the
	// same fixed buckets.
	for name, want := range map[string]uint64{
		"biztier_wal_fsync_duration_seconds":  st.FsyncLatency.Count,
		"biztier_wal_commit_duration_seconds": st.CommitLatency.Count,
		"biztier_wal_group_commit_frames":     st.GroupFrames.Count,
	} {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) != 1 || f.GetMetric()[0].Histogram == nil {
			t.Fatalf("no histogram %s", name)
		}
		h := f.GetMetric()[0].Histogram
		// A NoSync group never fsyncs; it commits and groups.
		if h.GetSampleCount() > want || (name != "biztier_wal_fsync_duration_seconds" && h.GetSampleCount() == 0) {
			t.Errorf("%s: %d samples, want up to %d", name, h.GetSampleCount(), want)
		}
		if len(h.GetBucket()) < 17 {
			t.Errorf("%s: %d buckets", name, len(h.GetBucket()))
		}
	}
	if got := value(t, fams, "biztier_tracking_decode_backlog_records"); got < 0 {
		t.Errorf("decode backlog %v", got)
	}
}

// TestCollector_seriesFlat: the number of series depends on the group's
// configuration only. It is the same after 10 messages as after 1,000 more,
// published, delivered, completed, suspended and resumed.
func TestCollector_seriesFlat(t *testing.T) {
	g, mb := openFlow(t)
	reg := prometheus.NewPedanticRegistry()
	c, err := metrics.New(metrics.Options{Group: g, TrackingScan: true})
	if err != nil {
		t.Fatal(err)
	}
	reg.MustRegister(c)
	ctx := context.Background()
	publish(t, mb, "SendHost", 10)
	before, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 10 {
		publish(t, mb, "SendHost", 50)
		publish(t, mb, "OrchHost", 50)
		for _, h := range []string{"SendHost", "OrchHost"} {
			ds, err := mb.Dequeue(ctx, h, 100, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range ds {
				var err error
				if i%10 == round%10 {
					err = mb.Suspend(ctx, d.Lease, fmt.Sprintf("round %d", round))
				} else {
					err = mb.Complete(ctx, d.Lease)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := mb.Resume(ctx, messagebox.SuspendedQuery{ErrorContains: "round"}); err != nil {
			t.Fatal(err)
		}
		after, err := testutil.GatherAndCount(reg)
		if err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Fatalf("round %d: %d series, was %d", round, after, before)
		}
	}
	fams := gather(t, reg)
	if got := value(t, fams, "biztier_messagebox_published_messages_total"); got != 1010 {
		t.Fatalf("published %v, want 1010", got)
	}
	t.Logf("%d series throughout", before)
}

func TestCollector_closedGroup(t *testing.T) {
	g, _ := openFlow(t)
	c, err := metrics.New(metrics.Options{Group: g})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	g.Close()
	fams := gather(t, reg)
	if got := value(t, fams, "biztier_scrape_error", "subsystem", "messagebox"); got != 1 {
		t.Fatalf("scrape_error{messagebox} = %v after Close, want 1", got)
	}
	if _, ok := fams["biztier_messagebox_spool_messages"]; ok {
		t.Fatal("messagebox figures reported for a closed group")
	}
}

func TestNew_noGroup(t *testing.T) {
	if _, err := metrics.New(metrics.Options{}); !errors.Is(err, metrics.ErrNoGroup) {
		t.Fatalf("New without group: %v", err)
	}
}

// TestCollector_lint runs Prometheus's own naming checks over every series.
func TestCollector_lint(t *testing.T) {
	g, mb := openFlow(t)
	publish(t, mb, "SendHost", 3)
	c, err := metrics.New(metrics.Options{Group: g, TrackingScan: true})
	if err != nil {
		t.Fatal(err)
	}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}
