package messagebox_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/messagebox"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestTracing: with a tracer provider installed, publish, dequeue and
// settle are spans, and a message published inside a span carries its
// trace to the delivery, so the consumer's work continues the trace.
// (Without a tracer provider the spans are no-ops and nothing is added to
// the message: every other test runs that way.)
func TestTracing(t *testing.T) {
	rec, tp := installRecorder()
	start := time.Now()

	g, err := biztier.OpenInMemory()
	require.NoError(t, err)
	defer g.Close()
	ctx := context.Background()
	mb, err := g.MessageBox()
	require.NoError(t, err)
	require.NoError(t, mb.CreateHost(ctx, "Send"))
	_, err = mb.Subscribe(ctx, messagebox.Subscription{Name: "S", Host: "Send",
		Predicate: messagebox.Or(messagebox.And(messagebox.Exists("Shop.Order")))})
	require.NoError(t, err)

	// A receive, in its own span, publishes.
	rctx, receive := tp.Tracer("test").Start(ctx, "receive")
	_, _, err = mb.Publish(rctx, messagebox.NewMessage([]byte("<o/>"), messagebox.Promoted("Shop.Order", messagebox.Int64(1))))
	require.NoError(t, err)
	receive.End()
	ds, err := mb.Dequeue(ctx, "Send", 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	_, ok := ds[0].Message.Property(messagebox.TraceParentProperty)
	require.True(t, ok, "the delivery carries the publish's trace")
	sctx, send := tp.Tracer("test").Start(messagebox.TraceContext(ctx, ds[0].Message), "send")
	require.NoError(t, mb.Complete(sctx, ds[0].Lease))
	send.End()
	require.Equal(t, receive.SpanContext().TraceID(), send.SpanContext().TraceID(), "one trace from receive to send")

	names := map[string]trace.SpanContext{}
	for _, s := range rec.Ended() {
		if !s.StartTime().Before(start) {
			names[s.Name()] = s.SpanContext()
		}
	}
	for _, n := range []string{"messagebox.publish", "messagebox.dequeue", "messagebox.settle"} {
		require.Contains(t, names, n)
	}
	require.Equal(t, receive.SpanContext().TraceID(), names["messagebox.publish"].TraceID())
	require.Equal(t, receive.SpanContext().TraceID(), names["messagebox.settle"].TraceID())

	// Published outside any span, the trace starts at the publish.
	_, _, err = mb.Publish(ctx, messagebox.NewMessage([]byte("<o/>"), messagebox.Promoted("Shop.Order", messagebox.Int64(2))))
	require.NoError(t, err)
	ds, err = mb.Dequeue(ctx, "Send", 1, time.Minute)
	require.NoError(t, err)
	got := trace.SpanContextFromContext(messagebox.TraceContext(ctx, ds[0].Message))
	require.True(t, got.IsValid())
	require.NotEqual(t, receive.SpanContext().TraceID(), got.TraceID())
}

var (
	recorderOnce sync.Once
	recorder     *tracetest.SpanRecorder
	provider     *sdktrace.TracerProvider
)

// installRecorder installs, once per test binary, a tracer provider that
// records every span: the package's tracer is bound to the first provider
// installed, so every test shares it and looks at the spans it started.
func installRecorder() (*tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	recorderOnce.Do(func() {
		recorder = tracetest.NewSpanRecorder()
		provider = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
		otel.SetTracerProvider(provider)
	})
	return recorder, provider
}
