package console

import (
	"context"

	"github.com/google/uuid"

	"github.com/biztier/biztier/messagebox"
)

// selection is a suspended query resolved against the MessageBox: the query
// alone, or, when it names a service (a send port or an orchestration, as
// BizTalk's Group Hub filters by "service name"), one query per subscription
// of that service. An empty selection matches nothing.
type selection []messagebox.SuspendedQuery

// resolve turns q into a selection. The service's subscriptions are those
// whose Port or Service is the name; a suspended entry whose subscription has
// since been removed no longer belongs to a service.
func (q suspendedQuery) resolve(mb *messagebox.Store) (selection, error) {
	base, err := q.messagebox()
	if err != nil {
		return nil, err
	}
	if q.Service == "" {
		return selection{base}, nil
	}
	var sel selection
	for _, s := range mb.Subscriptions() {
		if s.Port != q.Service && s.Service != q.Service {
			continue
		}
		if base.Subscription != uuid.Nil && base.Subscription != s.ID {
			continue
		}
		x := base
		x.Subscription = s.ID
		sel = append(sel, x)
	}
	return sel, nil
}

// resumable returns the selection narrowed to resumable entries.
func (s selection) resumable() selection {
	out := make(selection, len(s))
	for i, q := range s {
		q.ResumableOnly = true
		out[i] = q
	}
	return out
}

// count counts the entries the selection matches.
func (s selection) count(ctx context.Context, mb *messagebox.Store) (int, error) {
	total := 0
	for _, q := range s {
		n, err := mb.CountSuspended(ctx, q)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// list returns up to limit of the entries the selection matches.
func (s selection) list(ctx context.Context, mb *messagebox.Store, limit int) ([]messagebox.SuspendedEntry, error) {
	var out []messagebox.SuspendedEntry
	for _, q := range s {
		if len(out) >= limit {
			break
		}
		q.Limit = limit - len(out)
		es, err := mb.ListSuspended(ctx, q)
		if err != nil {
			return out, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// apply runs a bulk action (Resume or Terminate) on each query of the
// selection and returns how many entries it touched in all, even on error.
func (s selection) apply(ctx context.Context, act func(context.Context, messagebox.SuspendedQuery) (int, error)) (int, error) {
	total := 0
	for _, q := range s {
		n, err := act(ctx, q)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}
