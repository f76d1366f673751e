package sso

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/biztier/biztier/internal/codec"
	"github.com/cockroachdb/pebble/v2"
)

// ticketAD is the additional data tickets are sealed with.
var ticketAD = []byte("sso ticket")

// IssueTicket issues a ticket for the caller (from ctx) in app: an opaque
// string holding the caller's identity and an expiry, sealed with the
// master secret, that a trusted component can redeem for the caller's
// credentials. Tickets must be enabled in the settings and allowed by the
// application (ErrTicketsDisabled otherwise); they expire after the
// application's TicketTimeout or the system's (2 minutes by default).
func (s *Store) IssueTicket(ctx context.Context, app string) (string, error) {
	c, err := s.start(ctx, "IssueTicket", app, "")
	if err != nil {
		return "", err
	}
	c.rec.Subject = c.id.User
	a := s.app(app)
	if a == nil {
		return "", c.deny(ctx, RoleAppUser)
	}
	_, _, set := s.snapshot()
	if !set.TicketsEnabled || a.Flags&FlagAllowTickets == 0 {
		return "", c.fail(ctx, fmt.Errorf("%w: %q", ErrTicketsDisabled, app))
	}
	timeout := set.TicketTimeout
	if a.TicketTimeout > 0 {
		timeout = a.TicketTimeout
	}
	t := &ticket{app: app, user: c.id.User, groups: c.id.Groups, expires: s.opts.Now().Add(timeout)}
	if _, err := io.ReadFull(s.opts.Rand, t.id[:]); err != nil {
		return "", c.fail(ctx, err)
	}
	plain := encodeTicket(t)
	sealed, err := s.sealRecord(ticketAD, plain)
	wipe(plain)
	if err != nil {
		return "", c.fail(ctx, err)
	}
	if err := c.done(ctx, nil); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// RedeemTicket redeems a ticket for the credentials of the identity it was
// issued to (redeem-only). The caller must be an administrator of the
// application or higher. If ticket validation is on (for the system or the
// application) use ValidateAndRedeemTicket: RedeemTicket then fails with
// ErrTicketInvalid. A ticket is redeemed once: ErrTicketReplayed after;
// ErrTicketExpired past its expiry.
func (s *Store) RedeemTicket(ctx context.Context, app, tkt string) (Credentials, error) {
	return s.redeem(ctx, "RedeemTicket", app, tkt, "", false)
}

// ValidateAndRedeemTicket redeems a ticket only if sender, the identity
// that presented it (as an adapter sees it), is the identity the ticket
// was issued to. The caller must be a user of the application or higher.
func (s *Store) ValidateAndRedeemTicket(ctx context.Context, app, tkt, sender string) (Credentials, error) {
	return s.redeem(ctx, "ValidateAndRedeemTicket", app, tkt, sender, true)
}

func (s *Store) redeem(ctx context.Context, op, app, tkt, sender string, validate bool) (Credentials, error) {
	c, err := s.start(ctx, op, app, sender)
	if err != nil {
		return Credentials{}, err
	}
	a := s.app(app)
	need := RoleAppAdmin
	if validate {
		need = RoleAppUser
	}
	if err := c.need(ctx, a, need); err != nil {
		return Credentials{}, err
	}
	if a == nil {
		return Credentials{}, c.fail(ctx, fmt.Errorf("%w: application %q", ErrNotFound, app))
	}
	_, _, set := s.snapshot()
	if !set.TicketsEnabled || a.Flags&FlagAllowTickets == 0 {
		return Credentials{}, c.fail(ctx, fmt.Errorf("%w: %q", ErrTicketsDisabled, app))
	}
	if !validate && (set.ValidateTickets || a.Flags&FlagValidateTickets != 0) {
		return Credentials{}, c.fail(ctx, fmt.Errorf("%w: %q requires validate-and-redeem", ErrTicketInvalid, app))
	}
	t, err := s.openTicket(ctx, tkt)
	if err != nil {
		return Credentials{}, c.fail(ctx, err)
	}
	c.rec.Subject = t.user
	switch {
	case t.app != app:
		return Credentials{}, c.fail(ctx, fmt.Errorf("%w: issued for another application", ErrTicketInvalid))
	case validate && !strings.EqualFold(sender, t.user):
		return Credentials{}, c.fail(ctx, fmt.Errorf("%w: the sender is not the ticket's user", ErrTicketInvalid))
	case !s.opts.Now().Before(t.expires):
		return Credentials{}, c.fail(ctx, ErrTicketExpired)
	}
	m, _, err := s.credentialsFor(ctx, a, Identity{User: t.user, Groups: t.groups})
	if err != nil {
		if errors.Is(err, ErrAccessDenied) {
			err = fmt.Errorf("%w: no mapping for the ticket's user", ErrNotFound)
		}
		return Credentials{}, c.fail(ctx, err)
	}
	// ticketMu makes the replay check and the commit that records the
	// redemption one step, so a ticket redeemed twice at once wins once.
	s.ticketMu.Lock()
	defer s.ticketMu.Unlock()
	key := ticketKey(t.id[:])
	if _, closer, err := s.db.Reader().Get(key); err == nil {
		closer.Close()
		return Credentials{}, c.fail(ctx, ErrTicketReplayed)
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return Credentials{}, c.fail(ctx, err)
	}
	tx, b := s.begin()
	defer tx.Abort()
	e := codec.NewEncoder(nil)
	e.Version(valueVersion)
	e.Time(t.expires)
	if err := b.Set(key, e.Encoded(), nil); err != nil {
		return Credentials{}, c.fail(ctx, err)
	}
	if err := c.done(ctx, tx); err != nil {
		return Credentials{}, err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return Credentials{}, fmt.Errorf("%w: %w", ErrAudit, err)
	}
	return m.credentials(), nil
}

func (s *Store) openTicket(ctx context.Context, tkt string) (*ticket, error) {
	raw, err := base64.RawURLEncoding.DecodeString(tkt)
	if err != nil {
		return nil, fmt.Errorf("%w: not a ticket", ErrTicketInvalid)
	}
	gen, err := sealedGen(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: not a ticket", ErrTicketInvalid)
	}
	_, ring, _ := s.snapshot()
	k := ring.get(gen)
	if k == nil {
		return nil, fmt.Errorf("%w: sealed with a retired secret", ErrTicketInvalid)
	}
	plain, err := k.open(raw, ticketAD)
	if err != nil {
		return nil, fmt.Errorf("%w: does not authenticate", ErrTicketInvalid)
	}
	defer wipe(plain)
	t, err := decodeTicket(plain)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTicketInvalid, err)
	}
	return t, nil
}
