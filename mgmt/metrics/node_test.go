package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/biztier/biztier/cluster"
	"github.com/biztier/biztier/internal/clustertest"
	"github.com/biztier/biztier/mgmt/metrics"
)

// TestCollector_node: a node of a pair (alone, with the in-process witness)
// reports its role, epoch and sync state; the series of every role and sync
// state are there, one of each set to 1.
func TestCollector_node(t *testing.T) {
	n := clustertest.NewPair(t).Active("a")
	c, err := metrics.New(metrics.Options{Group: n.Group(), Node: n})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams := gather(t, reg)
	st := n.Status()
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"biztier_cluster_role", []string{"role", cluster.Active.String()}, 1},
		{"biztier_cluster_role", []string{"role", cluster.Passive.String()}, 0},
		{"biztier_cluster_epoch", nil, float64(st.Epoch)},
		{"biztier_cluster_sync_state", []string{"state", st.SyncState}, 1},
		{"biztier_cluster_peer_connected", nil, 0},
	} {
		if got := value(t, fams, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if st.Epoch == 0 {
		t.Error("active node with epoch 0")
	}
	if got := len(fams["biztier_cluster_role"].GetMetric()); got != 4 {
		t.Errorf("%d role series, want 4", got)
	}
	if got := len(fams["biztier_cluster_sync_state"].GetMetric()); got != 5 {
		t.Errorf("%d sync state series, want 5", got)
	}
}
