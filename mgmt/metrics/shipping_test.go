package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/mgmt/metrics"
)

func TestCollector_shipping(t *testing.T) {
	g, mb := openFlow(t)
	ship, err := g.NewLogShipping(biztier.LogShippingOptions{Backup: biztier.DirShipper(vfs.NewMem(), "backup")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	publish(t, mb, "SendHost", 3)
	for range 2 {
		if _, err := ship.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	last := ship.Status().LastRun
	c, err := metrics.New(metrics.Options{Group: g, Shipping: ship, Now: func() time.Time { return last.Add(90 * time.Second) }})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams := gather(t, reg)
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"biztier_backup_runs_total", []string{"kind", "full"}, 1},
		{"biztier_backup_runs_total", []string{"kind", "log"}, 1},
		{"biztier_backup_age_seconds", nil, 90},
		{"biztier_backup_last_run_error", nil, 0},
		{"biztier_backup_shipped_lsn", nil, float64(ship.Status().ShippedLSN)},
	} {
		if got := value(t, fams, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	if ship.Status().ShippedLSN == 0 {
		t.Error("shipped LSN is 0 after two runs")
	}
}
