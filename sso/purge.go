package sso

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/biztier/biztier/internal/codec"
	"github.com/biztier/biztier/internal/keys"
)

// PurgeResult counts what Purge deleted.
type PurgeResult struct {
	AuditRecords int
	Tickets      int
}

// Purge deletes the audit records written before auditBefore and the
// records of redeemed tickets that have expired (a ticket past its expiry
// is refused anyway, so its replay guard is no longer needed). The audit
// trail and the ticket table otherwise grow without bound. The caller
// must be an SSO administrator; the purge itself is audited in the same
// commit.
func (s *Store) Purge(ctx context.Context, auditBefore time.Time) (PurgeResult, error) {
	c, err := s.start(ctx, "Purge", "", "")
	if err != nil {
		return PurgeResult{}, err
	}
	if err := c.need(ctx, nil, RoleSSOAdmin); err != nil {
		return PurgeResult{}, err
	}
	var res PurgeResult
	tx, b := s.begin()
	defer tx.Abort()
	// Audit records are numbered in commit order and stamped when written,
	// so those before auditBefore are a prefix of the table (up to clock
	// steps, which leave a few records for the next purge).
	lower := keys.AppendTable(nil, keys.TableSSOAudit)
	var end []byte
	err = scan(s.db.Reader(), lower, func(k, v []byte) error {
		r, err := decodeAudit(0, v)
		if err != nil {
			return err
		}
		if !r.At.Before(auditBefore) {
			return errStop
		}
		end = append(end[:0], k...)
		res.AuditRecords++
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return PurgeResult{}, c.fail(ctx, err)
	}
	if end != nil {
		if err := b.DeleteRange(lower, append(end, 0), nil); err != nil {
			return PurgeResult{}, c.fail(ctx, err)
		}
	}
	now := s.opts.Now()
	err = scan(s.db.Reader(), keys.AppendTable(nil, keys.TableSSOTickets), func(k, v []byte) error {
		d := codec.NewDecoder(v)
		if _, err := d.ExpectVersion(valueVersion); err != nil {
			return decodeErr("redeemed ticket", err)
		}
		exp := d.Time()
		if err := d.Finish(); err != nil {
			return decodeErr("redeemed ticket", err)
		}
		if exp.Before(now) {
			res.Tickets++
			return b.Delete(k, nil)
		}
		return nil
	})
	if err != nil {
		return PurgeResult{}, c.fail(ctx, err)
	}
	if err := c.done(ctx, tx); err != nil {
		return PurgeResult{}, err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return PurgeResult{}, fmt.Errorf("sso: purge: %w", err)
	}
	return res, nil
}

// errStop ends a scan early.
var errStop = errors.New("sso: stop scan")
