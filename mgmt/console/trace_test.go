package console_test

import (
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/biztier/biztier/mgmt/console"
)

// TestHandler_spans: each write is a span named after its action, with the
// count it touched, and an error status when refused.
func TestHandler_spans(t *testing.T) {
	rec := installRecorder()
	start := time.Now()

	f := newFixture(t, console.Options{Authorizer: allowAlice})
	f.publish(t, "SendHost", 2)
	f.suspend(t, "SendHost", 2, "disk full")
	cookie, token := f.session(t)
	for _, user := range []string{"mallory", "alice"} {
		r := post("/suspended/terminate", url.Values{"confirm": {"2"}, "csrf_token": {token}})
		r.AddCookie(cookie)
		r.Header.Set("X-User", user)
		f.do(t, r)
	}
	// The MessageBox's own spans (publish, dequeue, settle) are there too:
	// look at the console's.
	var spans []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if strings.HasPrefix(s.Name(), "biztier.console.") && !s.StartTime().Before(start) {
			spans = append(spans, s)
		}
	}
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	for i, want := range []struct {
		code  codes.Code
		count int64
	}{{codes.Error, 0}, {codes.Unset, 2}} {
		s := spans[i]
		if s.Name() != "biztier.console.terminate" || s.Status().Code != want.code {
			t.Errorf("span %d: %s %v", i, s.Name(), s.Status())
		}
		var count int64 = -1
		for _, a := range s.Attributes() {
			if a.Key == attribute.Key("biztier.count") {
				count = a.Value.AsInt64()
			}
		}
		if count != want.count {
			t.Errorf("span %d: count %d, want %d", i, count, want.count)
		}
	}
}

var (
	recorderOnce sync.Once
	recorder     *tracetest.SpanRecorder
)

// installRecorder installs, once per test binary, a tracer provider that
// records every span: a package's tracer is bound to the first provider
// installed, so the tests share it and look at the spans they started.
func installRecorder() *tracetest.SpanRecorder {
	recorderOnce.Do(func() {
		recorder = tracetest.NewSpanRecorder()
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder)))
	})
	return recorder
}
