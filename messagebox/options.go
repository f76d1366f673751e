package messagebox

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// Defaults, as BizTalk Server ships them where it has a setting.
const (
	// DefaultFragmentSize is BizTalk's large message fragment size.
	DefaultFragmentSize = 102400
	// DefaultCompressThreshold is the part size above which parts are
	// compressed.
	DefaultCompressThreshold = 16 << 10
	// DefaultMaxPromotedLength is BizTalk's limit on promoted values.
	DefaultMaxPromotedLength = 255
	// DefaultRetryCount and DefaultRetryInterval are a send port's
	// transport retry defaults.
	DefaultRetryCount    = 3
	DefaultRetryInterval = 5 * time.Minute
	// DefaultActivationPriority and DefaultInstancePriority are BizTalk's
	// subscription priorities (1 is highest).
	DefaultActivationPriority = 7
	DefaultInstancePriority   = 5
)

// Options configure a Store. A nil *Options means defaults; Open works on a
// copy.
type Options struct {
	// Clock drives leases, delays, retry intervals and timestamps.
	// Defaults to the system clock.
	Clock Clock
	// FragmentSize is the largest stored body chunk: larger bodies are
	// stored as fragments of this size. Defaults to DefaultFragmentSize.
	FragmentSize int
	// CompressThreshold is the part size above which a part is compressed
	// (S2), when that saves at least an eighth. Defaults to
	// DefaultCompressThreshold; negative disables compression.
	CompressThreshold int
	// Compression is the codec of compressed parts. Defaults to
	// CompressS2: measured on XML bodies (BenchmarkCompress), S2 ran 2.6
	// times faster than zstd's fastest level, which compressed 3 times
	// smaller; S2 keeps the CPU cost of large messages on the hot path
	// low. Choose CompressZstd to trade CPU for spool size. Stored parts
	// of either codec are always readable.
	Compression Compression
	// MaxPromotedLength caps promoted string and decimal values in
	// characters and byte values in bytes. Defaults to
	// DefaultMaxPromotedLength.
	MaxPromotedLength int
	// Retry is the retry policy of subscriptions that set none. Defaults to
	// DefaultRetryCount tries DefaultRetryInterval apart.
	Retry *RetryPolicy
	// BulkBatchSize is how many entries each commit of a bulk resume or
	// terminate holds. Defaults to 1000.
	BulkBatchSize int
	// Closest is how many near-miss subscriptions a routing failure report
	// lists. Defaults to 3.
	Closest int
	// Tracking, if set, stages a tracking record in the commit of every
	// operation that changes the MessageBox (see TrackingOptions).
	Tracking *TrackingOptions
	// MessageCountLimit is BizTalk's "message count in database": when the
	// queue and suspended entries reach it, Publish waits (publishing
	// throttling state ThrottleDatabase) until some are settled. Defaults
	// to DefaultMessageCountLimit; negative disables.
	MessageCountLimit int
	// SpoolMultiplier throttles publishing the same way when the stored
	// messages reach MessageCountLimit times it. Defaults to
	// DefaultSpoolMultiplier; negative disables.
	SpoolMultiplier int
	// InFlightLimit caps the leased entries of all hosts (delivery
	// throttling state ThrottleInFlight): Dequeue hands out no more beyond
	// it. Defaults to DefaultInFlightPerCPU times runtime.NumCPU();
	// negative disables.
	InFlightLimit int
	// MaxInstanceState caps the state bytes of a persistence point.
	// Defaults to DefaultMaxInstanceState.
	MaxInstanceState int
	// RouteFailed, if set, says whether a published message that no
	// subscription matches goes to failed-message routing (a receive port
	// with RouteFailedMessage): instead of the message, an error message is
	// published, a clone with every promoted property demoted and
	// ErrorReport.* promoted (see ErrorMessage). If something subscribes
	// to it, it is stored and routed in the message's place; otherwise
	// the message is suspended as a routing failure as usual. It is called
	// before the store locks anything and must not call the Store.
	RouteFailed func(m *Message) bool
	// PropertySchemas declares the types of the application's context
	// properties, as its deployed property schemas do: a subscription's
	// text values (from binding files) on these properties are converted to
	// the type when it is made, and a value that does not convert is
	// refused. BizTalk's system properties (BTS.*, ErrorReport.*, ...) are
	// built in. Properties with no schema compare text in the type each
	// message's value has.
	PropertySchemas []PropertySchema
	// Dedup, if set, turns on duplicate detection for Publish,
	// PublishBatch and PublishAt (not for the messages of persistence
	// points). Nil means off.
	Dedup *DedupOptions
}

// Throttling and instance defaults, BizTalk's where it has them.
const (
	DefaultMessageCountLimit = 50000
	DefaultSpoolMultiplier   = 10
	DefaultInFlightPerCPU    = 1000
	DefaultMaxInstanceState  = 1 << 20
)

func (o *Options) withDefaults() (Options, error) {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Clock == nil {
		c.Clock = SystemClock{}
	}
	if c.FragmentSize == 0 {
		c.FragmentSize = DefaultFragmentSize
	}
	if c.CompressThreshold == 0 {
		c.CompressThreshold = DefaultCompressThreshold
	}
	if c.MaxPromotedLength == 0 {
		c.MaxPromotedLength = DefaultMaxPromotedLength
	}
	if c.Retry == nil {
		c.Retry = &RetryPolicy{Count: DefaultRetryCount, Interval: DefaultRetryInterval}
	} else {
		r := *c.Retry
		c.Retry = &r
	}
	if c.BulkBatchSize == 0 {
		c.BulkBatchSize = 1000
	}
	if c.Closest == 0 {
		c.Closest = 3
	}
	if c.MessageCountLimit == 0 {
		c.MessageCountLimit = DefaultMessageCountLimit
	}
	if c.SpoolMultiplier == 0 {
		c.SpoolMultiplier = DefaultSpoolMultiplier
	}
	if c.InFlightLimit == 0 {
		c.InFlightLimit = DefaultInFlightPerCPU * runtime.NumCPU()
	}
	if c.Dedup != nil {
		d := *c.Dedup
		c.Dedup = &d
	}
	if c.MaxInstanceState == 0 {
		c.MaxInstanceState = DefaultMaxInstanceState
	}
	switch {
	case c.FragmentSize < 1024:
		return c, fmt.Errorf("messagebox: options: FragmentSize %d below 1024", c.FragmentSize)
	case c.MaxPromotedLength < 0:
		return c, fmt.Errorf("messagebox: options: negative MaxPromotedLength")
	case c.Retry.Count < 0 || c.Retry.Interval < 0:
		return c, fmt.Errorf("messagebox: options: negative retry policy")
	case c.Compression > CompressZstd:
		return c, fmt.Errorf("messagebox: options: unknown Compression %d", c.Compression)
	case c.BulkBatchSize < 0:
		return c, fmt.Errorf("messagebox: options: negative BulkBatchSize")
	case c.Closest < 0:
		return c, fmt.Errorf("messagebox: options: negative Closest")
	case c.Dedup != nil && c.Dedup.Window <= 0:
		return c, fmt.Errorf("messagebox: options: Dedup.Window must be positive")
	case c.MaxInstanceState < 0:
		return c, fmt.Errorf("messagebox: options: negative MaxInstanceState")
	}
	return c, nil
}

// Compression is a codec for large parts.
type Compression uint8

// Codecs.
const (
	// CompressS2 is klauspost/compress's S2 (a faster Snappy).
	CompressS2 Compression = iota
	// CompressZstd is zstd at its fastest level.
	CompressZstd
)

// RetryPolicy is how often, and how far apart, a failed delivery is
// retried before the entry moves to the backup host or is suspended.
type RetryPolicy struct {
	// Count is the number of retries after the first attempt (0..1000).
	Count int
	// Interval is the wait before each retry.
	Interval time.Duration
}

// Clock tells the time and makes timers. Tests use a ManualClock so that
// leases, delays and retry intervals pass without sleeping.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the Clock of the time package.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

var (
	_ Clock = SystemClock{}
	_ Clock = (*ManualClock)(nil)
)

// ManualClock is a Clock that moves only when told to. It is safe for
// concurrent use.
type ManualClock struct {
	// mu guards now and waiters; cond signals a new waiter.
	mu      sync.Mutex
	cond    sync.Cond
	now     time.Time
	waiters []manualWaiter
}

type manualWaiter struct {
	at time.Time
	ch chan time.Time
}

// NewManualClock returns a clock reading start.
func NewManualClock(start time.Time) *ManualClock {
	c := &ManualClock{now: start}
	c.cond.L = &c.mu
	return c
}

// BlockUntil waits until at least n timers made by After are pending, so a
// test can advance the clock knowing a goroutine is waiting on it.
func (c *ManualClock) BlockUntil(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.waiters) < n {
		c.cond.Wait()
	}
}

// Now returns the clock's time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// After returns a channel that receives once Advance has moved the clock
// by d.
func (c *ManualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, manualWaiter{at: c.now.Add(d), ch: ch})
	c.cond.Broadcast()
	return ch
}

// Advance moves the clock forward by d and fires the timers that are due.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}

// TrackingOptions make the MessageBox stage a record of every change it
// makes in its own commit (BizTalk's TrackingData), for the tracking
// database to take in later and in order (see TakeTracking).
type TrackingOptions struct {
	// Detail says, at each publish, whether the record of a message keeps
	// its promoted properties, and its body and context: what the tracking
	// profile keeps anywhere. Nil keeps neither.
	Detail func() (properties, bodies bool)
}
