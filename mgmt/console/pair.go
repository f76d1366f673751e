package console

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/biztier/biztier/mgmt/audit"
)

// switchoverResult is the answer to a switchover.
type switchoverResult struct {
	Action Action `json:"action"`
	From   string `json:"from"`
	Role   string `json:"role"` // this node's role afterwards
}

// switchover returns the handler that hands the pair's active role to the
// passive. The audit trail gets the begin record only: once the switchover
// succeeds this node is passive and can commit nothing, and the new active's
// epoch is the record of the end.
func (h *Handler) switchover(api bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := h.doSwitchover(r)
		if err != nil {
			h.opts.Logger.LogAttrs(r.Context(), slog.LevelWarn, "console write failed",
				slog.String("action", string(ActionSwitchover)), slog.Int("status", status(err)),
				slog.String("error", err.Error()), slog.String("remote", r.RemoteAddr))
			h.fail(w, r, err)
			return
		}
		if api {
			writeJSON(w, http.StatusOK, res)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
}

func (h *Handler) doSwitchover(r *http.Request) (switchoverResult, error) {
	res := switchoverResult{Action: ActionSwitchover}
	ctx, span := tracer.Start(r.Context(), "biztier.console.switchover")
	defer span.End()
	who, err := h.guard(r.WithContext(ctx), ActionSwitchover)
	if err != nil {
		span.RecordError(err)
		return res, err
	}
	n := h.opts.Node
	if n == nil {
		return res, fmt.Errorf("%w: switchover needs a cluster node (Options.Node)", ErrNotConfigured)
	}
	res.From = n.ID()
	rec := audit.Record{Principal: who, Tool: "console", Action: string(ActionSwitchover), Phase: "begin", Target: "from " + n.ID(), Count: 1}
	if _, err := h.trail().Append(ctx, rec); err != nil {
		span.RecordError(err)
		return res, err
	}
	err = n.Switchover(context.WithoutCancel(ctx))
	res.Role = n.Role().String()
	h.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "console write", slog.String("action", string(ActionSwitchover)),
		slog.String("principal", who), slog.String("from", res.From), slog.String("role", res.Role), slog.Any("error", err))
	if err != nil {
		span.RecordError(err)
	}
	return res, err
}
