package console

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/biztier/biztier/mgmt/audit"
)

// tracer makes the console's spans, from the global provider.
var tracer = otel.Tracer("github.com/biztier/biztier/mgmt/console")

// suspendedView is the suspended page: the query, how many entries it
// matches (what a bulk action acts on), and the first page of them.
type suspendedView struct {
	Query  suspendedQuery `json:"query"`
	Params string         `json:"-"` // the query as URL parameters, for links
	Count  int            `json:"count"`
	// Resumable is how many of them are resumable: what Resume acts on.
	Resumable int              `json:"resumable"`
	Shown     int              `json:"shown"`
	Entries   []suspendedEntry `json:"entries"`
	Done      string           `json:"-"` // what the last bulk action did, for the page
}

type suspendedEntry struct {
	ID           uint64    `json:"id"`
	MessageID    string    `json:"messageId"`
	Subscription string    `json:"subscription,omitempty"`
	Host         string    `json:"host"`
	Kind         string    `json:"kind"`
	Resumable    bool      `json:"resumable"`
	Error        string    `json:"error"`
	SuspendedAt  time.Time `json:"suspendedAt"`
	Attempts     int       `json:"attempts"`
}

func (h *Handler) suspended(r *http.Request) (any, error) {
	mb, err := h.messageBox()
	if err != nil {
		return nil, err
	}
	sq := parseSuspendedQuery(r.URL.Query())
	sel, err := sq.resolve(mb)
	if err != nil {
		return nil, err
	}
	n, err := sel.count(r.Context(), mb)
	if err != nil {
		return nil, err
	}
	nr, err := sel.resumable().count(r.Context(), mb)
	if err != nil {
		return nil, err
	}
	es, err := sel.list(r.Context(), mb, h.opts.PageSize)
	if err != nil {
		return nil, err
	}
	v := suspendedView{Query: sq, Params: sq.values().Encode(), Count: n, Resumable: nr, Shown: len(es), Entries: make([]suspendedEntry, 0, len(es))}
	if d := r.URL.Query().Get("done"); d != "" {
		v.Done = fmt.Sprintf("%s: %s entries", d, r.URL.Query().Get("n"))
	}
	for _, e := range es {
		se := suspendedEntry{
			ID: uint64(e.ID), MessageID: e.MessageID.String(), Host: e.Host, Kind: e.Kind.String(),
			Resumable: e.Resumable, Error: e.Error, SuspendedAt: e.SuspendedAt, Attempts: e.Attempts,
		}
		if e.Subscription != [16]byte{} {
			se.Subscription = e.Subscription.String()
		}
		v.Entries = append(v.Entries, se)
	}
	return v, nil
}

// writeResult is a bulk write's answer.
type writeResult struct {
	Action Action         `json:"action"`
	Query  suspendedQuery `json:"query"`
	Count  int            `json:"count"`
}

// guard runs a write's checks, in this order so that nothing is read for a
// forged request: same origin, anti-forgery token, then the Authorizer. It
// returns the principal.
func (h *Handler) guard(r *http.Request, a Action) (string, error) {
	if err := h.origin.Check(r); err != nil {
		return "", fmt.Errorf("%w: %v", ErrForbidden, err)
	}
	if err := r.ParseForm(); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	if !h.tokens.check(r) {
		return "", ErrBadToken
	}
	return h.opts.Authorizer.Authorize(r, a)
}

// write returns the handler of a bulk action on the suspended entries:
// guard's checks, then the count confirmed.
func (h *Handler) write(a Action, api bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := h.bulk(w, r, a)
		if err != nil {
			h.opts.Logger.LogAttrs(r.Context(), slog.LevelWarn, "console write failed",
				slog.String("action", string(a)), slog.String("query", res.Query.String()),
				slog.Int("count", res.Count), slog.Int("status", status(err)), slog.String("error", err.Error()),
				slog.String("remote", r.RemoteAddr))
			h.fail(w, r, err)
			return
		}
		if api {
			writeJSON(w, http.StatusOK, res)
			return
		}
		v := res.Query.values()
		v.Set("done", string(a))
		v.Set("n", fmt.Sprint(res.Count))
		http.Redirect(w, r, "/suspended?"+v.Encode(), http.StatusSeeOther)
	})
}

func (h *Handler) bulk(w http.ResponseWriter, r *http.Request, a Action) (res writeResult, err error) {
	// One span per write, through the otel API only: it records nothing
	// until the application installs a tracer provider.
	ctx, span := tracer.Start(r.Context(), "biztier.console."+string(a), trace.WithSpanKind(trace.SpanKindServer))
	defer func() {
		span.SetAttributes(attribute.Int("biztier.count", res.Count))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	r = r.WithContext(ctx)
	res = writeResult{Action: a}
	who, err := h.guard(r, a)
	if err != nil {
		return res, err
	}
	res.Query = parseSuspendedQuery(r.PostForm)
	confirmed, err := parseCount(r.PostFormValue("confirm"))
	if err != nil {
		return res, err
	}
	mb, err := h.messageBox()
	if err != nil {
		return res, err
	}
	sel, err := res.Query.resolve(mb)
	if err != nil {
		return res, err
	}
	if a == ActionResume {
		// Resume acts on the resumable entries only: the count to confirm
		// is theirs.
		sel = sel.resumable()
	}
	n, err := sel.count(ctx, mb)
	if err != nil {
		return res, err
	}
	if n != confirmed {
		return res, fmt.Errorf("%w: %d confirmed, %d match now", ErrCountChanged, confirmed, n)
	}
	rec := audit.Record{Principal: who, Tool: "console", Action: string(a), Target: res.Query.String(), Count: n, Phase: "begin"}
	if _, err := h.trail().Append(ctx, rec); err != nil {
		return res, err
	}
	var done int
	var actErr error
	switch a {
	case ActionResume:
		done, actErr = sel.apply(ctx, mb.Resume)
	case ActionTerminate:
		done, actErr = sel.apply(ctx, mb.Terminate)
	}
	res.Count = done
	h.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "console write",
		slog.String("action", string(a)), slog.String("principal", who), slog.String("query", res.Query.String()),
		slog.Int("count", done), slog.Any("error", actErr))
	rec.Phase, rec.Count, rec.Error = "end", done, errText(actErr)
	// The end record is written even if the request was cancelled midway:
	// the trail must say how many entries the action did touch.
	if _, err := h.trail().Append(context.WithoutCancel(ctx), rec); err != nil && actErr == nil {
		actErr = err
	}
	return res, actErr
}
