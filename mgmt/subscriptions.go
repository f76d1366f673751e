package mgmt

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Subscriptions is what mgmt needs from the MessageBox. The root package
// wires the MessageBox to it; mgmt does not import messagebox.
//
// Every call that takes a Txn writes into it: the subscription change and
// the configuration change that caused it commit in one log frame, or not
// at all. Implementations must not commit or abort the Txn, and must not
// assume it commits: mgmt may still refuse the change after Subscribe
// returns. They are called with the Store's writer lock held, so they must
// not call the Store's write methods (its queries are fine).
type Subscriptions interface {
	// Subscribe adds sub, or replaces the subscription with the same ID
	// (its filter, host, priority or Active flag changed), inside tx.
	Subscribe(tx GroupTx, sub Subscription) error
	// Unsubscribe removes the subscription id inside tx. Removing one that
	// does not exist is not an error. Messages already queued for it are
	// the MessageBox's to handle (mgmt refuses an unforced unenlist while
	// there are any; see Queued).
	Unsubscribe(tx GroupTx, id uuid.UUID) error
	// Queued reports how many messages are queued or suspended for the
	// subscription id (for orchestrations: its live service instances).
	// It reads committed state.
	Queued(id uuid.UUID) (int, error)
}

// Subscription is an activation subscription an artifact owns in the
// MessageBox. mgmt derives subscriptions from the configuration and the
// artifact's state; their IDs are deterministic (see SubscriptionID), so
// enlisting again is idempotent.
type Subscription struct {
	ID uuid.UUID
	// Name describes the subscription, such as "SendPort:Out/filter".
	Name string
	// Owner is the artifact whose enlistment created the subscription: a
	// send port, a send port group or an orchestration.
	Owner Ref
	// Target is the service matching messages are delivered to: the send
	// port itself, a member of the owning group, or the orchestration.
	Target Ref
	// Host is the host whose queue receives the matches: the send port's
	// primary send handler, or the orchestration's host. It is empty for a
	// dynamic send port, whose handler the adapter chosen at run time
	// decides.
	Host string
	// Priority is 1 (highest) to 10.
	Priority int
	// Active is false while the owner or target is stopped (enlisted but
	// not started): the subscription still matches, but matching messages
	// are suspended (resumable) until it is active again.
	Active bool
	// Filter is the predicate: an OR of AND groups.
	Filter Filter
	// Delivery is how the target send port's messages are delivered, from
	// its transports: nil for an orchestration's subscription.
	Delivery *Delivery
	// Service is the orchestration an activation subscription starts an
	// instance of ("" for a send port's): the MessageBox creates a service
	// instance for each message it routes there.
	Service string
}

// Delivery holds a send port's settings that the MessageBox applies when it
// delivers the port's messages.
type Delivery struct {
	// RetryCount and RetryInterval are the primary transport's retries.
	RetryCount    int
	RetryInterval time.Duration
	// BackupHost is the backup transport's send handler ("" without a
	// backup transport); its own retries follow.
	BackupHost          string
	BackupRetryCount    int
	BackupRetryInterval time.Duration
	// Ordered is the port's ordered delivery; StopOnFailure its "stop
	// sending subsequent messages on current message failure".
	Ordered, StopOnFailure bool
	// Window is the primary transport's service window, nil when it is not
	// enabled.
	Window *Window
}

// Window is a daily service window, as offsets from midnight (UTC).
type Window struct {
	Start, Stop time.Duration
}

func (d *Delivery) equal(e *Delivery) bool {
	switch {
	case d == nil || e == nil:
		return d == e
	case (d.Window == nil) != (e.Window == nil):
		return false
	case d.Window != nil && *d.Window != *e.Window:
		return false
	}
	dc, ec := *d, *e
	dc.Window, ec.Window = nil, nil
	return dc == ec
}

// Equal reports whether s and t are the same subscription in every field.
func (s *Subscription) Equal(t *Subscription) bool {
	return s.ID == t.ID && s.Name == t.Name && s.Owner == t.Owner && s.Target == t.Target &&
		s.Host == t.Host && s.Priority == t.Priority && s.Active == t.Active && s.Filter.Equal(t.Filter) &&
		s.Delivery.equal(t.Delivery) && s.Service == t.Service
}

// portDelivery reads p's delivery settings. Retry counts are taken as
// stated: a binding file always states them, and 0 means no retry.
func portDelivery(p *SendPort) *Delivery {
	d := &Delivery{Ordered: p.OrderedDelivery, StopOnFailure: p.StopSendingOnFailure}
	if t := p.Primary; t != nil {
		d.RetryCount, d.RetryInterval = t.RetryCount, time.Duration(t.RetryInterval)*time.Minute
		if t.ServiceWindow.Enabled {
			d.Window = serviceWindow(t.ServiceWindow)
		}
	}
	if b := p.Backup; b != nil && b.Adapter != "" {
		d.BackupHost = b.Handler
		if d.BackupHost == "" {
			d.BackupHost = portHost(p)
		}
		d.BackupRetryCount, d.BackupRetryInterval = b.RetryCount, time.Duration(b.RetryInterval)*time.Minute
	}
	return d
}

// serviceWindow reads a binding file's FromTime/ToTime, date-times of
// which only the time of day counts ("2000-01-01T06:00:00"). A window that
// cannot be read, or is empty, is no window.
func serviceWindow(w ServiceWindow) *Window {
	tod := func(s string) (time.Duration, bool) {
		for _, layout := range []string{"2006-01-02T15:04:05", time.RFC3339, "2006-01-02T15:04:05.9999999", "15:04:05"} {
			if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
				return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second, true
			}
		}
		return 0, false
	}
	start, ok1 := tod(w.From)
	stop, ok2 := tod(w.To)
	if !ok1 || !ok2 || start == stop {
		return nil
	}
	return &Window{Start: start, Stop: stop}
}

// Properties mgmt writes into subscriptions, named as binding-file filters
// name properties.
const (
	// PropSPTransportID is the property a message sent through a bound
	// send port (or group) carries: the port's TransportID.
	PropSPTransportID = "BTS.SPTransportID"
	// PropReceivePortName is the receive port a message arrived on.
	PropReceivePortName = "BTS.ReceivePortName"
)

// idSpace is the name space of mgmt's deterministic UUIDs. Never change it:
// stored subscriptions and published messages carry IDs derived from it.
var idSpace = uuid.MustParse("5b0b7c1e-3f0e-4c55-9a53-2f4d6f1c7a10")

// SubscriptionID returns the ID of the subscription owner holds in role
// (such as "transport", "filter" or "member/Port/filter").
func SubscriptionID(owner Ref, role string) uuid.UUID {
	return uuid.NewSHA1(idSpace, []byte("subscription\x00"+owner.Kind.String()+"\x00"+owner.Name+"\x00"+role))
}

// TransportID returns the transport ID of a send port or send port group:
// the value of BTS.SPTransportID that routes a message to it.
func TransportID(r Ref) uuid.UUID {
	return uuid.NewSHA1(idSpace, []byte("transport\x00"+r.Kind.String()+"\x00"+r.Name))
}

// Default subscription priorities (BizTalk's): activation subscriptions 7;
// a send port's own priority defaults to 5.
const (
	defaultActivationPriority = 7
	defaultPortPriority       = 5
)

func portPriority(p *SendPort) int {
	if p.Priority >= 1 && p.Priority <= 10 {
		return p.Priority
	}
	return defaultPortPriority
}

func portHost(p *SendPort) string {
	if p.Primary != nil && p.Primary.Handler != "" {
		return p.Primary.Handler
	}
	return ""
}

// desired computes the subscriptions every enlisted artifact of m should
// own, keyed by owner.
func (m *model) desired() map[Ref][]Subscription {
	out := map[Ref][]Subscription{}
	add := func(owner Ref, role string, target Ref, host string, prio int, active bool, f Filter) {
		var dl *Delivery
		var service string
		switch target.Kind {
		case KindSendPort:
			dl = portDelivery(m.sendPorts[target.Name])
		case KindOrchestration:
			service = target.Name
		}
		out[owner] = append(out[owner], Subscription{
			ID:       SubscriptionID(owner, role),
			Name:     owner.String() + "/" + role,
			Owner:    owner,
			Target:   target,
			Host:     host,
			Priority: prio,
			Active:   active,
			Filter:   f,
			Delivery: dl,
			Service:  service,
		})
	}
	for _, p := range m.sendPorts {
		if !p.State.Enlisted() {
			continue
		}
		ref := Ref{KindSendPort, p.Name}
		active := p.State == PortStarted
		// An enlisted port always has a subscription on its own transport
		// ID, so whatever a bound orchestration sends reaches it.
		add(ref, "transport", ref, portHost(p), portPriority(p), active,
			Filter{{{Property: PropSPTransportID, Op: OpEqual, Value: Text(TransportID(ref).String())}}})
		if len(p.Filter) > 0 {
			add(ref, "filter", ref, portHost(p), portPriority(p), active, p.Filter.Clone())
		}
	}
	for _, g := range m.groups {
		if !g.State.Enlisted() {
			continue
		}
		ref := Ref{KindSendPortGroup, g.Name}
		for _, member := range g.SendPorts {
			p, ok := m.sendPorts[member]
			if !ok || !p.State.Enlisted() {
				continue
			}
			target := Ref{KindSendPort, p.Name}
			// Through the group a message is processed only if both the
			// group and the port are started; otherwise it is suspended.
			active := g.State == PortStarted && p.State == PortStarted
			add(ref, "member/"+member+"/transport", target, portHost(p), portPriority(p), active,
				Filter{{{Property: PropSPTransportID, Op: OpEqual, Value: Text(TransportID(ref).String())}}})
			if len(g.Filter) > 0 {
				add(ref, "member/"+member+"/filter", target, portHost(p), portPriority(p), active, g.Filter.Clone())
			}
		}
	}
	for _, o := range m.orchs {
		if !o.State.Enlisted() {
			continue
		}
		ref := Ref{KindOrchestration, o.Name}
		active := o.State == OrchestrationStarted
		n := 0
		for _, pb := range o.Ports {
			if pb.ReceivePort == "" {
				continue
			}
			if len(o.ActivatingPorts) > 0 && !slices.Contains(o.ActivatingPorts, pb.Name) {
				continue // a correlated receive: no activation
			}
			n++
			add(ref, "activate/"+pb.Name, ref, o.Host, defaultActivationPriority, active,
				o.Activation.And(Statement{Property: PropReceivePortName, Op: OpEqual, Value: Text(pb.ReceivePort)}))
		}
		if n == 0 && len(o.Activation) > 0 {
			add(ref, "activate", ref, o.Host, defaultActivationPriority, active, o.Activation.Clone())
		}
	}
	for k := range out {
		slices.SortFunc(out[k], func(a, b Subscription) int { return compareUUID(a.ID, b.ID) })
	}
	return out
}

func compareUUID(a, b uuid.UUID) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}
