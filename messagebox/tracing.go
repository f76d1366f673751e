package messagebox

import (
	"context"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The MessageBox's OpenTelemetry spans, through the otel API only: an
// application that installs a tracer provider sees publish, dequeue,
// settle and persistence-point spans; without one they cost a no-op.

// TraceParentProperty is the context property that carries a message's
// trace context (W3C traceparent) from the publish that stored it to its
// deliveries, so one trace follows a message from receive to send. It is
// written, not promoted, and only when tracing is on (an application
// installed a tracer provider): the message's parent is then the publish's
// span, itself a child of the caller's span if there is one. TraceContext
// reads it back.
const TraceParentProperty = "http://schemas.biztier.dev/2026/tracing#traceparent"

var (
	tracer     = otel.Tracer("github.com/biztier/biztier/messagebox")
	traceProps = propagation.TraceContext{}
)

// startSpan starts span name under ctx; attrs are set only on a span that
// records, so the hot path builds none under the no-op provider.
func startSpan(ctx context.Context, name string, attrs func() []attribute.KeyValue) (context.Context, trace.Span) {
	ctx, span := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindInternal))
	if attrs != nil && span.IsRecording() {
		span.SetAttributes(attrs()...)
	}
	return ctx, span
}

// endSpan ends span, recording err.
func endSpan(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// carryTrace writes ctx's span context into m as TraceParentProperty, when
// there is a valid one.
func carryTrace(ctx context.Context, m *Message) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	carrier := propagation.MapCarrier{}
	traceProps.Inject(ctx, carrier)
	if tp := carrier.Get("traceparent"); tp != "" {
		m.setProperty(Written(TraceParentProperty, String(tp)))
	}
}

// TraceContext returns ctx with the trace context m carries (see
// TraceParentProperty) as its remote parent, so the span that handles a
// delivery continues the trace of the publish; ctx itself if m carries
// none.
func TraceContext(ctx context.Context, m *Message) context.Context {
	if m == nil {
		return ctx
	}
	p, ok := m.Property(TraceParentProperty)
	if !ok {
		return ctx
	}
	return traceProps.Extract(ctx, propagation.MapCarrier{"traceparent": p.Value.Str()})
}

func publishAttrs(n int) func() []attribute.KeyValue {
	return func() []attribute.KeyValue { return []attribute.KeyValue{attribute.Int("messagebox.messages", n)} }
}

func settleAttrs(outcome string, n int) func() []attribute.KeyValue {
	return func() []attribute.KeyValue {
		return []attribute.KeyValue{attribute.String("messagebox.outcome", outcome), attribute.Int("messagebox.entries", n)}
	}
}

// setProperty replaces m's property of p's name, or adds p.
func (m *Message) setProperty(p Property) {
	for i := range m.Context {
		if CanonicalName(m.Context[i].Name) == CanonicalName(p.Name) {
			m.Context[i] = p
			return
		}
	}
	m.Context = append(m.Context, p)
}
