package bam

import (
	"fmt"
	"time"
)

// WindowUnit is the unit of the online window, as BizTalk's
// OnlineWindowTimeUnit.
type WindowUnit string

// The online window units.
const (
	Month  WindowUnit = "Month"
	Day    WindowUnit = "Day"
	Hour   WindowUnit = "Hour"
	Minute WindowUnit = "Minute"
)

// Options configure a Store. A nil *Options means defaults; Open works on a
// copy.
type Options struct {
	// Now is the clock: it stamps events, completions, deployments, and
	// drives the online and aggregation windows. Defaults to time.Now.
	// Pass the group's clock so the whole group moves through time as one.
	Now func() time.Time
	// WindowUnit and WindowLength are the online window: completed
	// instances are partitioned by completion time in WindowUnit
	// partitions, and Maintain moves partitions that ended more than
	// WindowLength units ago out of the database. Default to Month and 6,
	// as BizTalk's OnlineWindowTimeUnit and OnlineWindowTimeLength.
	WindowUnit   WindowUnit
	WindowLength int
	// Archive receives the partitions Maintain moves out; nil drops them,
	// as BizTalk does with no BAMArchive database configured.
	Archive Archive
	// RTAWindow is how far back real-time aggregations reach, and
	// RTATimeSlice the granularity of their time: an instance counts in
	// the slice of its last change, and slices older than the window age
	// out. Default to 24 hours and 5 minutes (BizTalk's RTAWindow and
	// RTATimeSlice; its documentation's example is 60 and 5 minutes).
	RTAWindow    time.Duration
	RTATimeSlice time.Duration
	// DecoderBatch is how many buffered events the decoder moves per
	// commit. Defaults to 512.
	DecoderBatch int
	// DecoderDelay is how long the decoder waits, once woken, for more
	// spooled commits to land before it moves them: one decoder commit
	// (one log sync) for several. Defaults to 2ms, well under BizTalk's
	// TDDS latency of seconds; negative moves events at once.
	DecoderDelay time.Duration
}

func (o *Options) withDefaults() (Options, error) {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.WindowUnit == "" {
		c.WindowUnit = Month
	}
	switch c.WindowUnit {
	case Month, Day, Hour, Minute:
	default:
		return c, fmt.Errorf("%w: WindowUnit %q", ErrInvalid, c.WindowUnit)
	}
	if c.WindowLength == 0 {
		c.WindowLength = 6
	}
	if c.WindowLength < 0 {
		return c, fmt.Errorf("%w: WindowLength %d", ErrInvalid, c.WindowLength)
	}
	if c.RTAWindow <= 0 {
		c.RTAWindow = 24 * time.Hour
	}
	if c.RTATimeSlice <= 0 {
		c.RTATimeSlice = 5 * time.Minute
	}
	if c.RTATimeSlice > c.RTAWindow {
		return c, fmt.Errorf("%w: RTATimeSlice %v is longer than RTAWindow %v", ErrInvalid, c.RTATimeSlice, c.RTAWindow)
	}
	if c.DecoderBatch <= 0 {
		c.DecoderBatch = 512
	}
	if c.DecoderDelay == 0 {
		c.DecoderDelay = 2 * time.Millisecond
	}
	return c, nil
}

// partitionOf is the start of the online-window partition t falls in.
func (o *Options) partitionOf(t time.Time) time.Time {
	t = t.UTC()
	switch o.WindowUnit {
	case Month:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	case Day:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case Hour:
		return t.Truncate(time.Hour)
	}
	return t.Truncate(time.Minute)
}

// addUnits moves t by n window units.
func (o *Options) addUnits(t time.Time, n int) time.Time {
	switch o.WindowUnit {
	case Month:
		return t.AddDate(0, n, 0)
	case Day:
		return t.AddDate(0, 0, n)
	case Hour:
		return t.Add(time.Duration(n) * time.Hour)
	}
	return t.Add(time.Duration(n) * time.Minute)
}
