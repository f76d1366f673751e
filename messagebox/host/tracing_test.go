package host_test

import (
	"context"
	"sync"
	"testing"

	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/messagebox/host"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// traceSender records the trace of each send's context.
type traceSender struct {
	mu     sync.Mutex
	traces []trace.TraceID
	sent   chan struct{}
}

func (s *traceSender) Send(ctx context.Context, _ *host.Transport, _ *messagebox.Message) error {
	s.mu.Lock()
	s.traces = append(s.traces, trace.SpanContextFromContext(ctx).TraceID())
	s.mu.Unlock()
	s.sent <- struct{}{}
	return nil
}

// TestTracing_receiveToSend: with a tracer provider installed, a message
// received in a span is sent in the same trace: the send adapter's context
// continues the trace the message carried through the MessageBox.
func TestTracing_receiveToSend(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(tracetest.NewSpanRecorder()))
	otel.SetTracerProvider(tp)
	f := newFlow(t)
	snd := &traceSender{sent: make(chan struct{}, 4)}
	reg := host.NewRegistry()
	if err := reg.Register("FILE", struct {
		host.ReceiveAdapter
		host.SendAdapter
	}{f.mem, snd}); err != nil {
		t.Fatal(err)
	}
	f.opts.Adapters = reg
	f.run(t, "ReceiveHost")
	f.run(t, "SendHost")
	ctx, span := tp.Tracer("test").Start(testCtx(t), "receive")
	if err := f.mem.ReceiveBody(ctx, "ReceiveOrders_FILE", order("A", 250)); err != nil {
		t.Fatal(err)
	}
	span.End()
	<-snd.sent
	snd.mu.Lock()
	defer snd.mu.Unlock()
	if got, want := snd.traces[0], span.SpanContext().TraceID(); got != want {
		t.Fatalf("send in trace %s, receive in %s", got, want)
	}
}
