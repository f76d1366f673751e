package sso

import (
	"context"
	"errors"
	"fmt"
)

// call is one access being checked and audited: every public call makes
// one, and every path out of it writes an audit record, granted or refused.
type call struct {
	s   *Store
	id  Identity
	rec AuditRecord
}

// start checks the Store and the context and takes the caller from ctx.
// A call without an identity is refused and audited.
func (s *Store) start(ctx context.Context, op, app, subject string) (*call, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if s == nil || s.closed.Load() {
		return nil, ErrClosed
	}
	s.maybePoll(ctx)
	id, ok := IdentityFrom(ctx)
	c := &call{s: s, id: id, rec: AuditRecord{User: id.User, Op: op, App: app, Subject: subject}}
	if !ok {
		return nil, c.deny(ctx, RoleAppUser)
	}
	return c, nil
}

// roleIn is the caller's role in app (nil for the system).
func (c *call) roleIn(app *Application) Role {
	_, _, set := c.s.snapshot()
	switch {
	case c.id.is(set.AdminGroup):
		return RoleSSOAdmin
	case c.id.is(set.AffiliateAdminGroup):
		return RoleAffiliateAdmin
	case app == nil:
		return RoleNone
	case app.Flags&FlagAdminAccountSame == 0 && c.id.isAny(app.AdminAccounts):
		return RoleAppAdmin
	case c.id.isAny(app.UserAccounts):
		return RoleAppUser
	}
	return RoleNone
}

// need refuses the call unless the caller has at least role in app.
func (c *call) need(ctx context.Context, app *Application, role Role) error {
	if c.roleIn(app) >= role {
		return nil
	}
	return c.deny(ctx, role)
}

// deny audits a refusal in a commit of its own and returns the
// *AccessError, or ErrAudit if the refusal could not be recorded.
func (c *call) deny(ctx context.Context, need Role) error {
	aerr := &AccessError{Op: c.rec.Op, App: c.rec.App, User: c.id.User, Need: need}
	c.rec.Granted = false
	c.rec.Reason = "needs " + need.String()
	if err := c.commit(ctx, nil); err != nil {
		return errors.Join(aerr, err)
	}
	return aerr
}

// fail audits a granted call that failed (not found, invalid, ...) and
// returns err. The reason kept is the failure's kind, never its message,
// which could name a value.
func (c *call) fail(ctx context.Context, err error) error {
	c.rec.Granted = true
	c.rec.Reason = reasonOf(err)
	if aerr := c.commit(ctx, nil); aerr != nil {
		return errors.Join(err, aerr)
	}
	return err
}

// done commits the granted audit record: in tx, with the call's own
// writes, or alone if tx is nil. If it cannot be written the call fails
// with ErrAudit and, for a lookup, nothing is returned.
func (c *call) done(ctx context.Context, tx Tx) error {
	c.rec.Granted = true
	return c.commit(ctx, tx)
}

// commit writes the audit record into tx (nil: a transaction of its own,
// committed here).
func (c *call) commit(ctx context.Context, tx Tx) error {
	s := c.s
	c.rec.At = s.opts.Now()
	c.rec.Seq = s.auditSeq.Add(1)
	var own Txn
	if tx == nil {
		own = s.db.Begin()
		defer own.Abort()
		tx = own
	}
	b, err := s.batch(tx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrAudit, err)
	}
	if err := b.Set(auditKey(c.rec.Seq), encodeAudit(&c.rec), nil); err != nil {
		return fmt.Errorf("%w: %w", ErrAudit, err)
	}
	if own == nil {
		return nil
	}
	if _, err := own.Commit(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrAudit, err)
	}
	return nil
}

// reasons are the failure kinds an audit record names.
var reasons = []error{ErrNotFound, ErrExists, ErrInvalid, ErrImmutable, ErrDisabled, ErrWrongDirection,
	ErrTicketsDisabled, ErrTicketExpired, ErrTicketReplayed, ErrTicketInvalid, ErrSecretServerUnavailable,
	ErrNoSecret, ErrWrongSecret, ErrWrongPassword, ErrCorruption, ErrRegenerating, ErrClosed}

func reasonOf(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r) {
			return r.Error()
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "sso: cancelled"
	}
	return "sso: failed"
}
