package sso

import (
	"context"
	"fmt"
)

// configApp checks that app is a config store application.
func (s *Store) configApp(ctx context.Context, c *call, app string, role Role) (*Application, error) {
	a := s.app(app)
	if err := c.need(ctx, a, role); err != nil {
		return nil, err
	}
	switch {
	case a == nil:
		return nil, c.fail(ctx, fmt.Errorf("%w: application %q", ErrNotFound, app))
	case a.Flags&FlagAppConfigStore == 0:
		return nil, c.fail(ctx, fmt.Errorf("%w: %q is not a config store application", ErrInvalid, app))
	}
	return a, nil
}

// SetConfigInfo stores info under identifier in the config store
// application app (ISSOConfigStore::SetConfigInfo), sealed with the master
// secret, replacing what was there. The caller must be an application
// administrator or higher. It fails with ErrSecretServerUnavailable if the
// master secret server cannot be reached.
func (s *Store) SetConfigInfo(ctx context.Context, app, identifier string, info ConfigInfo) error {
	c, err := s.start(ctx, "SetConfigInfo", app, identifier)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	tx := s.db.Begin()
	defer tx.Abort()
	if err := s.setConfigInto(ctx, c, tx, app, identifier, info); err != nil {
		return err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sso: set config info in %q: %w", app, err)
	}
	return nil
}

// SetConfigInfoTx is SetConfigInfo inside tx, a transaction the caller
// commits: the secret and the configuration change it belongs to (a send
// port and its password) commit together or not at all, and so does the
// audit record. Nothing is visible until tx commits. The same rights and
// errors apply, checked now; a refusal is audited in a commit of its own.
//
// Commit tx promptly: the record is sealed now, with the current secret,
// and opens as long as that secret is current or previous, that is,
// unless two regenerates complete before tx commits.
func (s *Store) SetConfigInfoTx(ctx context.Context, tx Tx, app, identifier string, info ConfigInfo) error {
	c, err := s.start(ctx, "SetConfigInfo", app, identifier)
	if err != nil {
		return err
	}
	if tx == nil {
		return c.fail(ctx, fmt.Errorf("%w: nil transaction", ErrInvalid))
	}
	return s.setConfigInto(ctx, c, tx, app, identifier, info)
}

// setConfigInto checks, seals and writes a config entry and its audit
// record into tx.
func (s *Store) setConfigInto(ctx context.Context, c *call, tx Tx, app, identifier string, info ConfigInfo) error {
	if _, err := s.configApp(ctx, c, app, RoleAppAdmin); err != nil {
		return err
	}
	if identifier == "" {
		return c.fail(ctx, fmt.Errorf("%w: empty config identifier", ErrInvalid))
	}
	if err := s.requireServer(ctx); err != nil {
		return c.fail(ctx, err)
	}
	key := configKey(app, identifier)
	plain := encodeConfig(info)
	sealed, err := s.sealRecord(key, plain)
	wipe(plain)
	if err != nil {
		return c.fail(ctx, err)
	}
	b, err := s.batch(tx)
	if err != nil {
		return c.fail(ctx, err)
	}
	if err := b.Set(key, sealed, nil); err != nil {
		return c.fail(ctx, err)
	}
	return c.done(ctx, tx)
}

// GetConfigInfo returns what SetConfigInfo stored under identifier
// (ISSOConfigStore::GetConfigInfo). The caller must be an application user
// or higher. It fails with ErrNotFound if there is nothing there.
func (s *Store) GetConfigInfo(ctx context.Context, app, identifier string) (ConfigInfo, error) {
	c, err := s.start(ctx, "GetConfigInfo", app, identifier)
	if err != nil {
		return nil, err
	}
	if _, err := s.configApp(ctx, c, app, RoleAppUser); err != nil {
		return nil, err
	}
	plain, err := s.openRecord(ctx, configKey(app, identifier))
	if err != nil {
		return nil, c.fail(ctx, fmt.Errorf("sso: config info in %q: %w", app, err))
	}
	info, err := decodeConfig(plain)
	wipe(plain)
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	if err := c.done(ctx, nil); err != nil {
		return nil, err
	}
	return info, nil
}

// DeleteConfigInfo deletes what is stored under identifier
// (ISSOConfigStore::DeleteConfigInfo). The caller must be an application
// administrator or higher.
func (s *Store) DeleteConfigInfo(ctx context.Context, app, identifier string) error {
	c, err := s.start(ctx, "DeleteConfigInfo", app, identifier)
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if _, err := s.configApp(ctx, c, app, RoleAppAdmin); err != nil {
		return err
	}
	key := configKey(app, identifier)
	if _, closer, err := s.db.Reader().Get(key); err != nil {
		return c.fail(ctx, fmt.Errorf("%w: config %q in %q", ErrNotFound, identifier, app))
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
		return fmt.Errorf("sso: delete config info in %q: %w", app, err)
	}
	return nil
}
