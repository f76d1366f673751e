package messagebox

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/biztier/biztier/messagebox/predicate"
	"github.com/google/uuid"
)

// Kind is a subscription's kind.
type Kind uint8

// Subscription kinds.
const (
	// Activation subscriptions start a new service instance per message
	// (send ports, activating receives).
	Activation Kind = 1
	// Instance subscriptions route to a running instance, named by the
	// subscription's InstanceID (correlated receives).
	Instance Kind = 2
	// RoutingFailure marks a suspended entry that holds a message no
	// subscription matched (BizTalk's routing failure report). It is never
	// a subscription's kind.
	RoutingFailure Kind = 3
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Activation:
		return "activation"
	case Instance:
		return "instance"
	case RoutingFailure:
		return "routing failure"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Subscription routes every published message its predicate matches to a
// host queue.
type Subscription struct {
	// ID identifies the subscription; Subscribe assigns one when zero.
	ID uuid.UUID
	// Name is a label for people (a send port's or orchestration's name).
	Name string
	// Host is the host whose queue receives matching messages. It must
	// exist (see CreateHost).
	Host string
	// Kind is Activation or Instance. Defaults to Activation.
	Kind Kind
	// InstanceID is the service instance an Instance subscription routes
	// to. Required for Instance subscriptions, zero for Activation ones.
	InstanceID uuid.UUID
	// Priority orders dequeue within a host, 1 (highest) to 10. Defaults to
	// DefaultActivationPriority or DefaultInstancePriority.
	Priority int
	// Predicate selects the messages.
	Predicate Predicate
	// Retry is the retry policy of deliveries; nil means Options.Retry.
	// The policy is fixed when the subscription is created.
	Retry *RetryPolicy
	// BackupHost, if set, is the host (the backup transport) that receives
	// an entry whose retries on Host are used up. It retries with
	// BackupRetry; then the entry is suspended.
	BackupHost string
	// BackupRetry is the retry policy on BackupHost (a backup transport's
	// own retry count and interval); nil means Retry's.
	BackupRetry *RetryPolicy
	// Port names the send port the subscription delivers to, for
	// tracking: its deliveries are tracked as that port's service
	// instances. Management sets it; empty for other subscriptions.
	Port string
	// Service, on an Activation subscription, names the service
	// (orchestration) each matching message starts a new instance of; see
	// ServiceInstance. Empty for messaging subscriptions (send ports).
	Service string
	// Correlation, on an Activation subscription with a Service, makes it
	// a convoy: up to MaxCorrelationProperties promoted properties whose
	// values form a convoy set. The first message with a given set of
	// values starts an instance and, in the same commit, records the set;
	// later messages with the same values, matched by any activation
	// subscription of the same Service with the same Correlation, go to
	// that instance (sequential and parallel convoys).
	Correlation []string
	// Ordered delivers the subscription's entries one at a time in publish
	// order (an ordered send port); see Ordering.
	Ordered Ordering
	// Window, if set, is a daily service window: entries published outside
	// it wait, scheduled, until it opens.
	Window *ServiceWindow
	// Paused marks the subscription of an enlisted but stopped port or
	// orchestration: it still matches, but what it matches is held. A
	// messaging subscription's message is suspended (resumable, with reason
	// PausedReason) instead of queued; an activation of a Service starts
	// its instance suspended (resumable, with PausedServiceReason), its
	// message queued behind it. Starting the port resumes them.
	Paused bool
}

// PausedReason is the suspension reason of a message routed to a paused
// subscription.
const PausedReason = "The message was routed to a send port that is enlisted but stopped."

// PausedServiceReason is the error of a service instance activated
// through a paused subscription (an orchestration enlisted but stopped).
const PausedServiceReason = "The orchestration is enlisted but stopped: the instance waits, suspended, until it is started."

// UnsubscribedReason is the suspension reason of a message that was queued
// for a subscription when it was removed (its port unenlisted with force).
const UnsubscribedReason = "The subscription this message was queued for was removed (its port was unenlisted); resume it once the port is enlisted again."

// MaxCorrelationProperties is the most properties a correlation set or a
// convoy has, as in BizTalk.
const MaxCorrelationProperties = 3

// Ordering is a subscription's ordered-delivery mode.
type Ordering uint8

// Ordering modes.
const (
	// Unordered entries are delivered as capacity allows.
	Unordered Ordering = iota
	// OrderedStop delivers one entry at a time in publish order; when one
	// is suspended, later entries wait until it is resumed or terminated
	// (BizTalk's "stop sending subsequent messages on current message
	// failure").
	OrderedStop
	// OrderedSkip delivers one entry at a time in publish order; a failed
	// entry is suspended, not resumable, and the sequence goes on.
	OrderedSkip
)

// ServiceWindow is a daily window, in offsets from midnight UTC on the
// store's Clock, during which entries are delivered. Stop before Start
// wraps past midnight.
type ServiceWindow struct {
	Start, Stop time.Duration
}

// next returns the first time at or after t inside the window.
func (w *ServiceWindow) next(t time.Time) time.Time {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	off := t.Sub(day)
	open := func(o time.Duration) bool {
		if w.Start <= w.Stop {
			return o >= w.Start && o < w.Stop
		}
		return o >= w.Start || o < w.Stop
	}
	if open(off) {
		return t
	}
	if off < w.Start {
		return day.Add(w.Start)
	}
	return day.Add(24 * time.Hour).Add(w.Start)
}

// subState is a subscription as the store holds it.
type subState struct {
	Subscription
	// anchors[g] is the index key of group g's equality anchor, or nil
	// when group g is in the scan list.
	anchors [][]byte
	// holder is, for an ordered subscription, the entry in flight (leased,
	// waiting to retry, or suspended under OrderedStop): the only one that
	// may be delivered until it leaves.
	holder EntryID
	// parked holds its ready entries waiting behind holder.
	parked entryHeap
}

// subIndex finds the subscriptions a message may match. Each group with an
// equality condition is filed under that condition's (property, value), so
// a message only meets the groups filed under one of its own promoted
// (property, value) pairs plus the groups with no equality at all. Not
// safe for concurrent use.
type subIndex struct {
	eq   map[string][]groupRef
	scan []groupRef
}

type groupRef struct {
	sub *subState
	g   int
}

func newSubIndex() subIndex { return subIndex{eq: make(map[string][]groupRef)} }

// anchorKey appends the index key of property name holding v.
func anchorKey(dst []byte, name string, v Value) ([]byte, bool) {
	dst = append(dst, name...)
	dst = append(dst, 0)
	return v.IndexKey(dst)
}

func (x *subIndex) add(s *subState) {
	s.anchors = make([][]byte, len(s.Predicate))
	for gi, g := range s.Predicate {
		ref := groupRef{sub: s, g: gi}
		var key []byte
		for _, c := range g {
			if c.Op != OpEqual {
				continue
			}
			if k, ok := anchorKey(nil, c.Property, c.Value); ok {
				key = k
				break
			}
		}
		s.anchors[gi] = key
		if key == nil {
			x.scan = append(x.scan, ref)
		} else {
			x.eq[string(key)] = append(x.eq[string(key)], ref)
		}
	}
}

func (x *subIndex) remove(s *subState) {
	drop := func(refs []groupRef) []groupRef {
		return slices.DeleteFunc(refs, func(r groupRef) bool { return r.sub == s })
	}
	for gi := range s.Predicate {
		if key := s.anchors[gi]; key != nil {
			refs := drop(x.eq[string(key)])
			if len(refs) == 0 {
				delete(x.eq, string(key))
			} else {
				x.eq[string(key)] = refs
			}
		}
	}
	x.scan = drop(x.scan)
}

// match returns the subscriptions m matches, sorted by ID, without
// duplicates. buf is scratch space.
func (x *subIndex) match(m *Message, buf []byte) []*subState {
	var out []*subState
	try := func(r groupRef) {
		if slices.Contains(out, r.sub) {
			return
		}
		if r.sub.Predicate[r.g].Matches(m.Context) {
			out = append(out, r.sub)
		}
	}
	for i := range m.Context {
		p := &m.Context[i]
		if !p.Promoted {
			continue
		}
		key, ok := anchorKey(buf[:0], p.Name, p.Value)
		buf = key
		if !ok {
			continue
		}
		for _, r := range x.eq[string(key)] {
			try(r)
		}
	}
	for _, r := range x.scan {
		try(r)
	}
	slices.SortFunc(out, func(a, b *subState) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	return out
}

// validate fills defaults into s and checks it; it does not check the
// host.
func (s *Subscription) validate(defaultRetry RetryPolicy, schemas *predicate.Schemas) error {
	if s.Kind == 0 {
		s.Kind = Activation
	}
	switch s.Kind {
	case Activation:
		if s.InstanceID != uuid.Nil {
			return fmt.Errorf("%w: activation subscription with an instance id", ErrInvalidSubscription)
		}
		if s.Priority == 0 {
			s.Priority = DefaultActivationPriority
		}
	case Instance:
		if s.InstanceID == uuid.Nil {
			return fmt.Errorf("%w: instance subscription without an instance id", ErrInvalidSubscription)
		}
		if s.Priority == 0 {
			s.Priority = DefaultInstancePriority
		}
	default:
		return fmt.Errorf("%w: unknown kind %d", ErrInvalidSubscription, s.Kind)
	}
	if s.Priority < 1 || s.Priority > 10 {
		return fmt.Errorf("%w: priority %d outside 1..10", ErrInvalidSubscription, s.Priority)
	}
	if s.Host == "" {
		return fmt.Errorf("%w: no host", ErrInvalidSubscription)
	}
	if s.Retry == nil {
		r := defaultRetry
		s.Retry = &r
	} else {
		r := *s.Retry
		s.Retry = &r
	}
	if s.Retry.Count < 0 || s.Retry.Count > 1000 || s.Retry.Interval < 0 {
		return fmt.Errorf("%w: retry policy %+v", ErrInvalidSubscription, *s.Retry)
	}
	if s.BackupRetry != nil {
		r := *s.BackupRetry
		s.BackupRetry = &r
		if r.Count < 0 || r.Count > 1000 || r.Interval < 0 {
			return fmt.Errorf("%w: backup retry policy %+v", ErrInvalidSubscription, r)
		}
	}
	p, err := s.Predicate.Resolve(schemas)
	if err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	s.Predicate = p
	s.Correlation = slices.Clone(s.Correlation)
	for i, name := range s.Correlation {
		s.Correlation[i] = CanonicalName(name)
	}
	switch {
	case s.Service != "" && s.Kind != Activation:
		return fmt.Errorf("%w: service on an instance subscription", ErrInvalidSubscription)
	case len(s.Correlation) > 0 && s.Service == "":
		return fmt.Errorf("%w: convoy correlation without a service", ErrInvalidSubscription)
	case len(s.Correlation) > MaxCorrelationProperties:
		return fmt.Errorf("%w: %d convoy properties, at most %d", ErrInvalidSubscription, len(s.Correlation), MaxCorrelationProperties)
	case s.Ordered > OrderedSkip:
		return fmt.Errorf("%w: unknown ordering %d", ErrInvalidSubscription, s.Ordered)
	case s.Window != nil && (s.Window.Start < 0 || s.Window.Start >= 24*time.Hour || s.Window.Stop < 0 || s.Window.Stop >= 24*time.Hour || s.Window.Start == s.Window.Stop):
		return fmt.Errorf("%w: service window %+v", ErrInvalidSubscription, *s.Window)
	}
	for i, p := range s.Correlation {
		if p == "" || slices.Contains(s.Correlation[:i], p) {
			return fmt.Errorf("%w: convoy property %q empty or repeated", ErrInvalidSubscription, p)
		}
	}
	return nil
}

func (s *Subscription) clone() Subscription {
	c := *s
	c.Predicate = s.Predicate.Clone()
	if s.Retry != nil {
		r := *s.Retry
		c.Retry = &r
	}
	if s.BackupRetry != nil {
		r := *s.BackupRetry
		c.BackupRetry = &r
	}
	c.Correlation = slices.Clone(s.Correlation)
	if s.Window != nil {
		w := *s.Window
		c.Window = &w
	}
	return c
}
