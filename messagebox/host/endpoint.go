package host

import (
	"context"
	"errors"
	"fmt"

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
// it. Submit waits while publishing is throttled. The messages become the
// host's.
func (e *Endpoint) Submit(ctx context.Context, msgs ...*messagebox.Message) ([]Received, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	out := make([]Received, len(msgs))
	var batch []*messagebox.Message
	owner := make([]int, 0, len(msgs)) // owner[j]: the input of batch[j]
	for i, m := range msgs {
		e.stamp(m)
		res, err := e.pipe.Run(ctx, m)
		if err != nil {
			em := messagebox.ErrorMessage(m, pipelineFailureCode, err.Error())
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
	if len(batch) == 0 {
		return out, nil
	}
	pub, err := e.inst.mb.PublishBatch(ctx, batch)
	if err != nil && !onlyRoutingFailures(err) {
		return nil, err
	}
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
	e.inst.stats.received.Add(int64(len(msgs)))
	return out, nil
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

// onlyRoutingFailures reports whether a PublishBatch error only reports
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
