package sso

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/biztier/biztier/internal/keys"
)

// Mapping links a Windows identity to an external account in an
// application. In an individual application WindowsAccount is a user, in
// a group application a group (one of the application's UserAccounts); in
// a host group application many ExternalUsers map to one WindowsAccount,
// and the mapping is keyed by the external user.
type Mapping struct {
	WindowsAccount string
	ExternalUser   string
}

// mappingAccount is the account a mapping of app is keyed by.
func mappingAccount(a *Application, m Mapping) string {
	if a.Type == HostGroup {
		return m.ExternalUser
	}
	return m.WindowsAccount
}

// SetMapping creates or replaces a mapping and its credentials, one value
// per field of the application, sealed with the master secret. Application
// administrators and higher may set any mapping; in an individual
// application a user may set their own. It fails with
// ErrSecretServerUnavailable if the master secret server cannot be reached.
func (s *Store) SetMapping(ctx context.Context, app string, m Mapping, fields []Secret) error {
	c, err := s.start(ctx, "SetMapping", app, m.WindowsAccount)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	a := s.app(app)
	if !isSelf(c, a, m) {
		if err := c.need(ctx, a, RoleAppAdmin); err != nil {
			return err
		}
	}
	switch {
	case a == nil:
		return c.fail(ctx, fmt.Errorf("%w: application %q", ErrNotFound, app))
	case a.Type == ConfigStore:
		return c.fail(ctx, fmt.Errorf("%w: %q is a config store application; use SetConfigInfo", ErrInvalid, app))
	case m.WindowsAccount == "" || (a.Type == HostGroup && m.ExternalUser == ""):
		return c.fail(ctx, fmt.Errorf("%w: mapping in %q needs its accounts", ErrInvalid, app))
	case len(fields) != len(a.Fields):
		return c.fail(ctx, fmt.Errorf("%w: %q has %d fields, %d values given", ErrInvalid, app, len(a.Fields), len(fields)))
	}
	if err := s.requireServer(ctx); err != nil {
		return c.fail(ctx, err)
	}
	rec := &mapping{windows: m.WindowsAccount, external: m.ExternalUser}
	for _, f := range fields {
		rec.fields = append(rec.fields, f.b)
	}
	plain := encodeMapping(rec)
	key := mappingKey(app, mappingAccount(a, m))
	sealed, err := s.sealRecord(key, plain)
	wipe(plain)
	if err != nil {
		return c.fail(ctx, err)
	}
	tx, b := s.begin()
	defer tx.Abort()
	if err := b.Set(key, sealed, nil); err != nil {
		return c.fail(ctx, err)
	}
	if err := c.done(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sso: set mapping in %q: %w", app, err)
	}
	return nil
}

// isSelf reports whether the caller manages its own mapping in an
// individual application whose user it is, which BizTalk allows.
func isSelf(c *call, a *Application, m Mapping) bool {
	return a != nil && a.Type == Individual && strings.EqualFold(c.id.User, m.WindowsAccount) &&
		(len(a.UserAccounts) == 0 || c.id.isAny(a.UserAccounts))
}

// DeleteMapping deletes a mapping, with the same rights as SetMapping.
func (s *Store) DeleteMapping(ctx context.Context, app string, m Mapping) error {
	c, err := s.start(ctx, "DeleteMapping", app, m.WindowsAccount)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	a := s.app(app)
	if !isSelf(c, a, m) {
		if err := c.need(ctx, a, RoleAppAdmin); err != nil {
			return err
		}
	}
	if a == nil {
		return c.fail(ctx, fmt.Errorf("%w: application %q", ErrNotFound, app))
	}
	key := mappingKey(app, mappingAccount(a, m))
	if _, closer, err := s.db.Reader().Get(key); err != nil {
		return c.fail(ctx, fmt.Errorf("%w: mapping in %q", ErrNotFound, app))
	} else {
		closer.Close()
	}
	tx, b := s.begin()
	defer tx.Abort()
	if err := b.Delete(key, nil); err != nil {
		return c.fail(ctx, err)
	}
	if err := c.done(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sso: delete mapping in %q: %w", app, err)
	}
	return nil
}

// Mappings lists an application's mappings (without credentials). The
// caller must be an application administrator or higher.
func (s *Store) Mappings(ctx context.Context, app string) ([]Mapping, error) {
	c, err := s.start(ctx, "Mappings", app, "")
	if err != nil {
		return nil, err
	}
	a := s.app(app)
	if err := c.need(ctx, a, RoleAppAdmin); err != nil {
		return nil, err
	}
	if a == nil {
		return nil, c.fail(ctx, fmt.Errorf("%w: application %q", ErrNotFound, app))
	}
	var out []Mapping
	err = scan(s.db.Reader(), appPrefix(keys.TableSSOMappings, app), func(k, v []byte) error {
		m, err := s.unsealMapping(ctx, k, v)
		if err != nil {
			return err
		}
		out = append(out, Mapping{WindowsAccount: m.windows, ExternalUser: m.external})
		for _, f := range m.fields {
			wipe(f)
		}
		return nil
	})
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	if err := c.done(ctx, nil); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) unsealMapping(ctx context.Context, key, v []byte) (*mapping, error) {
	gen, err := sealedGen(v)
	if err != nil {
		return nil, err
	}
	k, err := s.keyFor(ctx, gen)
	if err != nil {
		return nil, err
	}
	plain, err := k.open(v, key)
	if err != nil {
		return nil, err
	}
	defer wipe(plain)
	return decodeMapping(plain)
}

// readMapping returns the mapping at key, ErrNotFound if there is none.
func (s *Store) readMapping(ctx context.Context, key []byte) (*mapping, error) {
	plain, err := s.openRecord(ctx, key)
	if err != nil {
		return nil, err
	}
	defer wipe(plain)
	return decodeMapping(plain)
}

// GetCredentials is the Windows-initiated lookup: the external credentials
// the caller (from ctx) is mapped to in app. In an individual application
// that is the caller's own mapping, and only the caller can obtain it; in
// a group application the first of the application's UserAccounts that the
// caller belongs to and that has a mapping. Anyone else is refused with
// ErrAccessDenied. A record that does not authenticate is ErrCorruption and
// nothing of it is returned. The lookup is audited before it returns.
func (s *Store) GetCredentials(ctx context.Context, app string) (Credentials, error) {
	c, err := s.start(ctx, "GetCredentials", app, "")
	if err != nil {
		return Credentials{}, err
	}
	c.rec.Subject = c.id.User
	a := s.app(app)
	if a == nil {
		// Refused rather than "not found": a caller cannot probe for names.
		return Credentials{}, c.deny(ctx, RoleAppUser)
	}
	switch {
	case a.Disabled:
		return Credentials{}, c.fail(ctx, fmt.Errorf("%w: %q", ErrDisabled, app))
	case !a.WindowsInitiated || a.Type == ConfigStore:
		return Credentials{}, c.fail(ctx, fmt.Errorf("%w: %q is not Windows-initiated", ErrWrongDirection, app))
	}
	m, acct, err := s.credentialsFor(ctx, a, c.id)
	if errors.Is(err, ErrAccessDenied) {
		return Credentials{}, c.deny(ctx, RoleAppUser)
	}
	if err != nil {
		return Credentials{}, c.fail(ctx, fmt.Errorf("sso: credentials in %q: %w", app, err))
	}
	c.rec.Subject = acct
	if err := c.done(ctx, nil); err != nil {
		return Credentials{}, err
	}
	return m.credentials(), nil
}

// credentialsFor finds the mapping id obtains in a (Windows-initiated):
// its own in an individual application, the first of the application's
// user accounts it belongs to in a group application. It returns
// ErrAccessDenied if there is none, and the mapped account.
func (s *Store) credentialsFor(ctx context.Context, a *Application, id Identity) (*mapping, string, error) {
	var accounts []string
	switch a.Type {
	case Individual:
		if len(a.UserAccounts) > 0 && !id.isAny(a.UserAccounts) {
			return nil, "", ErrAccessDenied
		}
		accounts = []string{id.User}
	case Group:
		for _, g := range a.UserAccounts {
			if id.is(g) {
				accounts = append(accounts, g)
			}
		}
	}
	for _, acct := range accounts {
		m, err := s.readMapping(ctx, mappingKey(a.Name, acct))
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, "", err
		}
		return m, acct, nil
	}
	return nil, "", ErrAccessDenied
}

// GetHostCredentials is the host-initiated lookup of a host group
// application, or of an individual application that is also
// host-initiated: the Windows account and credentials externalUser is
// mapped to. The caller must be an application user or higher.
func (s *Store) GetHostCredentials(ctx context.Context, app, externalUser string) (Credentials, error) {
	c, err := s.start(ctx, "GetHostCredentials", app, externalUser)
	if err != nil {
		return Credentials{}, err
	}
	a := s.app(app)
	if err := c.need(ctx, a, RoleAppUser); err != nil {
		return Credentials{}, err
	}
	switch {
	case a == nil:
		return Credentials{}, c.fail(ctx, fmt.Errorf("%w: application %q", ErrNotFound, app))
	case a.Disabled:
		return Credentials{}, c.fail(ctx, fmt.Errorf("%w: %q", ErrDisabled, app))
	case !a.HostInitiated || (a.Type != HostGroup && a.Type != Individual):
		return Credentials{}, c.fail(ctx, fmt.Errorf("%w: %q is not host-initiated", ErrWrongDirection, app))
	}
	var m *mapping
	if a.Type == HostGroup {
		m, err = s.readMapping(ctx, mappingKey(app, externalUser))
	} else {
		m, err = s.findByExternal(ctx, app, externalUser)
	}
	if err != nil {
		return Credentials{}, c.fail(ctx, fmt.Errorf("sso: host credentials in %q: %w", app, err))
	}
	if err := c.done(ctx, nil); err != nil {
		return Credentials{}, err
	}
	return m.credentials(), nil
}

// findByExternal finds the mapping of an individual application whose
// external user is externalUser. Individual mappings are keyed by Windows
// user and the external user is sealed, so this scans the application's
// mappings: host-initiated lookups in individual applications are rare.
func (s *Store) findByExternal(ctx context.Context, app, externalUser string) (*mapping, error) {
	var found *mapping
	err := scan(s.db.Reader(), appPrefix(keys.TableSSOMappings, app), func(k, v []byte) error {
		m, err := s.unsealMapping(ctx, k, v)
		if err != nil {
			return err
		}
		if strings.EqualFold(m.external, externalUser) {
			found = m
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("%w: no mapping for the external user", ErrNotFound)
	}
	return found, nil
}

func (m *mapping) credentials() Credentials {
	out := Credentials{ExternalUser: m.external, WindowsAccount: m.windows, Fields: make([]Secret, len(m.fields))}
	for i, f := range m.fields {
		out.Fields[i] = Secret{b: f}
	}
	return out
}
