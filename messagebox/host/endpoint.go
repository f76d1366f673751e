package host

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/biztier/biztier"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host/pipeline"
	"github.com/google/uuid"
)

// Context properties the host instance promotes on every received message,
// as BizTalk's messaging engine does before it publishes.
const (
	PropReceivePortName          = "BTS.ReceivePortName"
	PropInboundTransportLocation = "BTS.InboundTransportLocation"
	PropInboundTransportType     = "BTS.InboundTransportType"
	// PropOutboundTransportLocation and PropOutboundTransportType give a
	// dynamic send port's address and transport type.
	PropOutboundTransportLocation = "BTS.OutboundTransportLocation"
	PropOutboundTransportType     = "BTS.OutboundTransportType"
)

// pipelineFailureCode is the ErrorReport.FailureCode of a message whose
// receive pipeline failed.
const pipelineFailureCode = "PipelineFailure"

// Endpoint is one running receive location, as its ReceiveAdapter sees
// it: where to receive from and how to publish what arrives. It is safe
// for concurrent use.
type Endpoint struct {
	// Port and Location are the receive port's and the location's names.
	Port, Location string
	// Type is the transport type; Address and Data the location's address
	// and adapter configuration (see ParseTransportData).
	Type, Address, Data string
	// Clock is the host instance's clock, for polling.
	Clock messagebox.Clock

	inst        *Instance
	pipe        *pipeline.Pipeline
	routeFailed bool

	// forgetMu guards forget: receipt keys to delete with the next
	// commit.
	forgetMu sync.Mutex
	forget   []string
}

// Received is what Submit did with one message handed to it.
type Received struct {
	// IDs are the messages published for it (several if its pipeline
	// split it).
	IDs []uuid.UUID
	// Err, if not nil, is why it did not go where it was meant to although
	// it was committed: it wraps ErrSuspended for a message suspended
	// (with messagebox.ErrNoSubscribers for a routing failure, with
	// pipeline.ErrDisassembly for a failed receive pipeline, whose error
	// message carries the description in ErrorReport.Description), or
	// only the pipeline's error when failed-message routing routed the
	// error message.
	Err error
}

// Submit runs the location's receive pipeline on each message, promotes
// BTS.ReceivePortName, BTS.InboundTransportLocation and
// BTS.InboundTransportType, and publishes everything in one commit. When
// Submit returns a nil error, every message is committed (routed or
// suspended: see each Received.Err) and the adapter may remove it from its
// source; with an error nothing was committed and the source must keep
// it (ErrClosed once the host instance is stopping). Submit waits while
// publishing is throttled. The messages become the host's.
func (e *Endpoint) Submit(ctx context.Context, msgs ...*messagebox.Message) ([]Received, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := e.open(); err != nil {
		return nil, err
	}
	out, batch, owner := e.prepare(ctx, msgs)
	if len(batch) == 0 {
		return out, nil
	}
	pub, err := e.inst.mb.PublishBatch(ctx, batch)
	if err != nil && !onlyRoutingFailures(err) {
		return nil, err
	}
	e.account(out, pub, owner)
	return out, nil
}

// SubmitOnce is Submit for messages whose sources have keys (a file's name
// and version, say): keys[i] names the source of msgs[i]. Each key is
// recorded in the same commit as the messages, so a source found again
// after a crash that came between the commit and its removal is known
// (Committed) and removed without being published twice. Once a source is
// gone, Forget its key.
func (e *Endpoint) SubmitOnce(ctx context.Context, keys []string, msgs []*messagebox.Message) ([]Received, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if len(keys) != len(msgs) {
		return nil, fmt.Errorf("host: SubmitOnce: %d keys for %d messages", len(keys), len(msgs))
	}
	if err := e.open(); err != nil {
		return nil, err
	}
	out, batch, owner := e.prepare(ctx, msgs)
	e.forgetMu.Lock()
	forget := e.forget
	e.forget = nil
	e.forgetMu.Unlock()
	var pub []messagebox.Published
	_, err := e.inst.g.Update(ctx, func(tx *biztier.Tx) error {
		var err error
		if len(batch) > 0 {
			pub, err = e.inst.mb.PublishTx(ctx, tx, batch...)
			if err != nil && !onlyRoutingFailures(err) {
				return err
			}
		}
		for i, k := range keys {
			if err := tx.Set(biztier.MessageBox, e.receiptKey(k), []byte(msgs[i].ID.String())); err != nil {
				return err
			}
		}
		for _, k := range forget {
			if err := tx.Delete(biztier.MessageBox, e.receiptKey(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.forgetMu.Lock()
		e.forget = append(forget, e.forget...)
		e.forgetMu.Unlock()
		return nil, err
	}
	e.account(out, pub, owner)
	return out, nil
}

// open returns ErrClosed once the host instance has begun to stop: it
// receives nothing more.
func (e *Endpoint) open() error {
	if e.inst.recvCtx.Err() != nil {
		return fmt.Errorf("host: location %s: %w", e.Location, ErrClosed)
	}
	return nil
}

// Committed reports whether SubmitOnce committed the source key (and it
// was not forgotten since).
func (e *Endpoint) Committed(key string) (bool, error) {
	_, ok, err := e.inst.g.Get(biztier.MessageBox, e.receiptKey(key))
	return ok, err
}

// Forget drops the record of source keys whose sources are gone. The
// deletions ride the next SubmitOnce's commit; Flush commits them now.
func (e *Endpoint) Forget(keys ...string) {
	e.forgetMu.Lock()
	defer e.forgetMu.Unlock()
	e.forget = append(e.forget, keys...)
}

// Flush commits the deletions Forget queued.
func (e *Endpoint) Flush(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	e.forgetMu.Lock()
	forget := e.forget
	e.forget = nil
	e.forgetMu.Unlock()
	if len(forget) == 0 {
		return nil
	}
	_, err := e.inst.g.Update(ctx, func(tx *biztier.Tx) error {
		for _, k := range forget {
			if err := tx.Delete(biztier.MessageBox, e.receiptKey(k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.Forget(forget...)
	}
	return err
}

// receiptKey is where the receipt of a source key is kept: in the
// MessageBox database's application keyspace, per receive location.
func (e *Endpoint) receiptKey(key string) []byte {
	return []byte(receiptPrefix + e.Location + "\x00" + key)
}

// receiptPrefix starts every receipt key.
const receiptPrefix = "biztier.host.receipt\x00"

// prepare stamps and runs the pipeline on msgs: out has one Received per
// input, batch the messages to publish, owner[j] the input of batch[j].
func (e *Endpoint) prepare(ctx context.Context, msgs []*messagebox.Message) (out []Received, batch []*messagebox.Message, owner []int) {
	out = make([]Received, len(msgs))
	owner = make([]int, 0, len(msgs))
	for i, m := range msgs {
		if m.ID == uuid.Nil {
			// IDs are given before publishing so a receipt can name them.
			m.ID = uuid.Must(uuid.NewV7())
		}
		e.stamp(m)
		res, err := e.pipe.Run(ctx, m)
		if err != nil {
			em := messagebox.ErrorMessage(m, pipelineFailureCode, err.Error())
			em.ID = m.ID
			if !e.routeFailed {
				// Without failed-message routing the message is only
				// suspended: nothing may subscribe to its error report.
				for j := range em.Context {
					em.Context[j].Promoted = false
				}
			}
			out[i].Err = err
			res = []*messagebox.Message{em}
		}
		for _, r := range res {
			batch = append(batch, r)
			owner = append(owner, i)
		}
	}
	return out, batch, owner
}

// account fills out from what was published.
func (e *Endpoint) account(out []Received, pub []messagebox.Published, owner []int) {
	for j, p := range pub {
		i := owner[j]
		out[i].IDs = append(out[i].IDs, p.MessageID)
		if p.Routed {
			continue
		}
		if out[i].Err != nil {
			out[i].Err = fmt.Errorf("%w: %w", ErrSuspended, out[i].Err)
		} else {
			out[i].Err = fmt.Errorf("%w: %w", ErrSuspended, messagebox.ErrNoSubscribers)
		}
	}
	e.inst.stats.received.Add(int64(len(out)))
}

// stamp promotes the properties the engine sets on a received message.
func (e *Endpoint) stamp(m *messagebox.Message) {
	setProperty(m, messagebox.Promoted(PropReceivePortName, messagebox.String(e.Port)))
	setProperty(m, messagebox.Promoted(PropInboundTransportLocation, messagebox.String(e.Address)))
	setProperty(m, messagebox.Promoted(PropInboundTransportType, messagebox.String(e.Type)))
}

// setProperty sets p in m's context, replacing a property of the same
// canonical name.
func setProperty(m *messagebox.Message, p messagebox.Property) {
	name := messagebox.CanonicalName(p.Name)
	for i := range m.Context {
		if messagebox.CanonicalName(m.Context[i].Name) == name {
			m.Context[i] = p
			return
		}
	}
	m.Context = append(m.Context, p)
}

// onlyRoutingFailures reports whether a publish error only reports
// unrouted messages (the batch was committed).
func onlyRoutingFailures(err error) bool {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var re *messagebox.RoutingError
		if !errors.As(e, &re) {
			return false
		}
	}
	return len(errs) > 0
}
