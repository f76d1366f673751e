package cluster

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestTracing_failover: with a tracer provider installed, a switchover and
// the promotion it causes are spans, the promotion naming the node and
// the new epoch.
func TestTracing_failover(t *testing.T) {
	rec := installRecorder()
	start := time.Now()

	w := NewLocalWitness(testTTL)
	a := openTestNode(t, w, "a", nil, Sync, nil)
	waitActive(t, 5*time.Second, a)
	b := openTestNode(t, w, "b", nil, Sync, nil)
	waitInSync(t, a)
	require.NoError(t, a.Switchover(context.Background()))
	waitActive(t, 5*time.Second, b)

	var switched, promotedB bool
	require.Eventually(t, func() bool {
		for _, s := range rec.Ended() {
			if s.StartTime().Before(start) {
				continue
			}
			switch s.Name() {
			case "cluster.switchover":
				switched = true
			case "cluster.promote":
				for _, kv := range s.Attributes() {
					if kv.Key == "cluster.node" && kv.Value.AsString() == "b" {
						promotedB = true
					}
				}
			}
		}
		return switched && promotedB
	}, 5*time.Second, 10*time.Millisecond, "switchover %t, b promoted %t", switched, promotedB)
}

var (
	recorderOnce sync.Once
	recorder     *tracetest.SpanRecorder
)

// installRecorder installs, once per test binary, a tracer provider that
// records every span: the package's tracer is bound to the first provider
// installed, so every test shares it and looks at the spans it started.
func installRecorder() *tracetest.SpanRecorder {
	recorderOnce.Do(func() {
		recorder = tracetest.NewSpanRecorder()
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)))
	})
	return recorder
}
