package mgmt

import (
	"testing"
	"time"
)

func TestReceiveLocation_Accepting(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	window := ServiceWindow{Enabled: true, From: "2000-01-01T08:00:00", To: "2000-01-01T17:00:00"}
	night := ServiceWindow{Enabled: true, From: "2000-01-01T22:00:00", To: "2000-01-01T06:00:00"}
	for _, tc := range []struct {
		name string
		l    ReceiveLocation
		t    string
		want bool
	}{
		{"disabled", ReceiveLocation{}, "2026-03-02T10:00:00Z", false},
		{"enabled", ReceiveLocation{Enabled: true}, "2026-03-02T10:00:00Z", true},
		{"inside window", ReceiveLocation{Enabled: true, ServiceWindow: window}, "2026-03-02T10:00:00Z", true},
		{"before window", ReceiveLocation{Enabled: true, ServiceWindow: window}, "2026-03-02T07:59:59Z", false},
		{"window end is open", ReceiveLocation{Enabled: true, ServiceWindow: window}, "2026-03-02T17:00:00Z", false},
		{"night window, late", ReceiveLocation{Enabled: true, ServiceWindow: night}, "2026-03-02T23:00:00Z", true},
		{"night window, early", ReceiveLocation{Enabled: true, ServiceWindow: night}, "2026-03-02T05:00:00Z", true},
		{"night window, noon", ReceiveLocation{Enabled: true, ServiceWindow: night}, "2026-03-02T12:00:00Z", false},
		{"window off", ReceiveLocation{Enabled: true, ServiceWindow: ServiceWindow{From: window.From, To: window.To}}, "2026-03-02T07:00:00Z", true},
		{"before start date", ReceiveLocation{Enabled: true, StartDate: DateLimit{Enabled: true, Date: "2026-04-01T00:00:00"}}, "2026-03-02T10:00:00Z", false},
		{"start date off", ReceiveLocation{Enabled: true, StartDate: DateLimit{Date: "2026-04-01T00:00:00"}}, "2026-03-02T10:00:00Z", true},
		{"after end date", ReceiveLocation{Enabled: true, EndDate: DateLimit{Enabled: true, Date: "2026-03-01T00:00:00"}}, "2026-03-02T10:00:00Z", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.l.Accepting(at(tc.t)); got != tc.want {
				t.Fatalf("Accepting(%s) = %v, want %v", tc.t, got, tc.want)
			}
		})
	}
}
