package biztier

import (
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/tracking"
)

// trackingSource is the MessageBox as the tracking database's Source: the
// records the MessageBox stages in its commits, which tracking takes in
// (BizTalk's TrackingData and TDDS). The two share only the record format
// (internal/event); nothing here translates.
type trackingSource struct{ mb *messagebox.Store }

var _ tracking.Source = trackingSource{}

func (s trackingSource) TakeTracking(tx tracking.Tx, limit int) ([][]byte, error) {
	return s.mb.TakeTracking(tx, limit)
}

func (s trackingSource) TrackingStaged() <-chan struct{} { return s.mb.TrackingStaged() }

func (s trackingSource) TrackingBacklog() uint64 { return s.mb.TrackingBacklog() }
