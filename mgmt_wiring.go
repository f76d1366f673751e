package biztier

import (
	"context"
	"fmt"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/google/uuid"
)

// DefaultHost is the host that receives the subscriptions of send ports
// with no send handler of their own (dynamic send ports), after BizTalk's
// default host.
const DefaultHost = "BizTalkServerApplication"

// mgmtSubscriptions is the mgmt.Subscriptions the Group gives the
// Management database: enlisting, starting and stopping artifacts change
// MessageBox subscriptions in the same transaction as the configuration.
//
// A filter is a MessageBox predicate (one type): the MessageBox resolves
// its property names ("BTS.ReceivePortName" is the system property, in
// either spelling) and types its text values from the property schemas.
type mgmtSubscriptions struct {
	mb *messagebox.Store
}

var _ mgmt.Subscriptions = mgmtSubscriptions{}

// Subscribe implements mgmt.Subscriptions. An inactive subscription (a
// stopped, enlisted port) is paused: its messages are suspended resumable.
// When a paused subscription becomes active, the messages it suspended for
// that reason are resumed once the transaction commits.
func (a mgmtSubscriptions) Subscribe(tx mgmt.GroupTx, sub mgmt.Subscription) error {
	host := sub.Host
	if host == "" {
		host = DefaultHost
	}
	// The host is created in the configuration's own commit.
	if err := a.mb.CreateHostTx(tx, host); err != nil {
		return fmt.Errorf("biztier: host %q for %s: %w", host, sub.Name, err)
	}
	prev, prevErr := a.mb.Subscription(sub.ID)
	wasPaused := prevErr == nil && prev.Paused
	ms := messagebox.Subscription{
		ID:        sub.ID,
		Name:      sub.Name,
		Host:      host,
		Priority:  sub.Priority,
		Paused:    !sub.Active,
		Predicate: sub.Filter,
		Service:   sub.Service,
	}
	if sub.Target.Kind == mgmt.KindSendPort {
		// Tracking names the port's deliveries after it.
		ms.Port = sub.Target.Name
	}
	if err := applyDelivery(&ms, sub.Delivery, func(h string) error {
		return a.mb.CreateHostTx(tx, h)
	}); err != nil {
		return fmt.Errorf("biztier: subscription %s: %w", sub.Name, err)
	}
	if _, err := a.mb.SubscribeTx(tx, ms); err != nil {
		return fmt.Errorf("biztier: subscription %s: %w", sub.Name, err)
	}
	if sub.Active && wasPaused && sub.Service != "" {
		service := sub.Service
		tx.OnCommit(func() {
			// The orchestration has started: the instances it held wake.
			// A failure leaves them suspended and resumable.
			_, _ = a.mb.ResumeInstances(context.Background(), messagebox.InstanceQuery{
				Service: service, ErrorContains: messagebox.PausedServiceReason})
		})
	} else if sub.Active && wasPaused {
		// The port has started: what it held suspended goes to its queue,
		// in the same commit.
		if err := a.mb.ResumePausedTx(tx, sub.ID); err != nil {
			return fmt.Errorf("biztier: resume what %s held: %w", sub.Name, err)
		}
	}
	return nil
}

// Unsubscribe implements mgmt.Subscriptions.
func (a mgmtSubscriptions) Unsubscribe(tx mgmt.GroupTx, id uuid.UUID) error {
	return a.mb.UnsubscribeTx(tx, id)
}

var _ mgmt.HostGate = mgmtSubscriptions{}

// GateHost implements mgmt.HostGate: a host none of whose instances runs
// has its queue held in the MessageBox, in the configuration's commit.
func (a mgmtSubscriptions) GateHost(tx mgmt.GroupTx, host string, held bool) error {
	return a.mb.SetHostHeldTx(tx, host, held)
}

// Queued implements mgmt.Subscriptions.
func (a mgmtSubscriptions) Queued(id uuid.UUID) (int, error) { return a.mb.Queued(id), nil }

// applyDelivery gives a send port's subscription the port's transport
// settings: the primary transport's retry count and interval, the backup
// transport (its handler host, created if need be, and its own retries),
// ordered delivery (stopping on a failure or skipping it) and the service
// window.
func applyDelivery(ms *messagebox.Subscription, d *mgmt.Delivery, createHost func(string) error) error {
	if d == nil {
		return nil
	}
	ms.Retry = &messagebox.RetryPolicy{Count: d.RetryCount, Interval: d.RetryInterval}
	if d.BackupHost != "" {
		if err := createHost(d.BackupHost); err != nil {
			return fmt.Errorf("backup host %q: %w", d.BackupHost, err)
		}
		ms.BackupHost = d.BackupHost
		ms.BackupRetry = &messagebox.RetryPolicy{Count: d.BackupRetryCount, Interval: d.BackupRetryInterval}
	}
	switch {
	case d.Ordered && d.StopOnFailure:
		ms.Ordered = messagebox.OrderedStop
	case d.Ordered:
		ms.Ordered = messagebox.OrderedSkip
	}
	if d.Window != nil {
		ms.Window = &messagebox.ServiceWindow{Start: d.Window.Start, Stop: d.Window.Stop}
	}
	return nil
}
