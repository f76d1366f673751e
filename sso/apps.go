package sso

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/biztier/biztier/internal/keys"
)

// app returns the cached application named name.
func (s *Store) app(name string) *Application {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.apps[name]
}

// publishApps swaps in apps with a changed (nil: deleted) after a commit.
func (s *Store) publishApp(name string, a *Application) {
	s.mu.Lock()
	defer s.mu.Unlock()
	apps := maps.Clone(s.apps)
	if a == nil {
		delete(apps, name)
	} else {
		apps[name] = a
	}
	s.apps = apps
}

// CreateApplication creates an affiliate application. The caller must be
// an SSO administrator or an affiliate administrator. It fails with
// ErrExists if the name is taken and ErrInvalid for a bad definition
// (see Application).
func (s *Store) CreateApplication(ctx context.Context, app Application) error {
	c, err := s.start(ctx, "CreateApplication", app.Name, "")
	if err != nil {
		return err
	}
	if err := c.need(ctx, nil, RoleAffiliateAdmin); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	a := app.clone()
	a.normalize()
	if err := a.validate(); err != nil {
		return c.fail(ctx, err)
	}
	if s.app(a.Name) != nil {
		return c.fail(ctx, fmt.Errorf("%w: application %q", ErrExists, a.Name))
	}
	tx, b := s.begin()
	defer tx.Abort()
	if err := b.Set(appKey(a.Name), encodeApp(a), nil); err != nil {
		return c.fail(ctx, err)
	}
	if err := c.done(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sso: create application %q: %w", a.Name, err)
	}
	s.publishApp(a.Name, a)
	return nil
}

// UpdateApplication replaces an application's changeable settings:
// description, contact, enabled state, directions (within the type's
// rules), accounts, ticket flags and timeout. Changing the name, type,
// fields or FlagAdminAccountSame fails with ErrImmutable. The caller must
// be an affiliate administrator or higher, or an administrator of the
// application.
func (s *Store) UpdateApplication(ctx context.Context, app Application) error {
	c, err := s.start(ctx, "UpdateApplication", app.Name, "")
	if err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	old := s.app(app.Name)
	if err := c.need(ctx, old, RoleAppAdmin); err != nil {
		return err
	}
	if old == nil {
		return c.fail(ctx, fmt.Errorf("%w: application %q", ErrNotFound, app.Name))
	}
	a := app.clone()
	a.normalize()
	if err := a.validate(); err != nil {
		return c.fail(ctx, err)
	}
	if a.Type != old.Type || !slices.Equal(a.Fields, old.Fields) ||
		a.Flags&FlagAdminAccountSame != old.Flags&FlagAdminAccountSame {
		return c.fail(ctx, fmt.Errorf("%w: application %q: name, type, fields and the admin-account-same flag are fixed", ErrImmutable, a.Name))
	}
	tx, b := s.begin()
	defer tx.Abort()
	if err := b.Set(appKey(a.Name), encodeApp(a), nil); err != nil {
		return c.fail(ctx, err)
	}
	if err := c.done(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sso: update application %q: %w", a.Name, err)
	}
	s.publishApp(a.Name, a)
	return nil
}

// DeleteApplication deletes an application with its mappings and config
// entries. The caller must be an affiliate administrator or higher.
func (s *Store) DeleteApplication(ctx context.Context, name string) error {
	c, err := s.start(ctx, "DeleteApplication", name, "")
	if err != nil {
		return err
	}
	if err := c.need(ctx, nil, RoleAffiliateAdmin); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.app(name) == nil {
		return c.fail(ctx, fmt.Errorf("%w: application %q", ErrNotFound, name))
	}
	tx, b := s.begin()
	defer tx.Abort()
	err = b.Delete(appKey(name), nil)
	for _, t := range []keys.Table{keys.TableSSOMappings, keys.TableSSOConfig} {
		p := appPrefix(t, name)
		err = errors.Join(err, b.DeleteRange(p, keys.PrefixSuccessor(p), nil))
	}
	if err != nil {
		return c.fail(ctx, err)
	}
	if err := c.done(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sso: delete application %q: %w", name, err)
	}
	s.publishApp(name, nil)
	return nil
}

// Application returns an application's definition. The caller must be one
// of its users or administrators, or an affiliate or SSO administrator.
func (s *Store) Application(ctx context.Context, name string) (Application, error) {
	c, err := s.start(ctx, "Application", name, "")
	if err != nil {
		return Application{}, err
	}
	a := s.app(name)
	if err := c.need(ctx, a, RoleAppUser); err != nil {
		return Application{}, err
	}
	if a == nil {
		return Application{}, c.fail(ctx, fmt.Errorf("%w: application %q", ErrNotFound, name))
	}
	if err := c.done(ctx, nil); err != nil {
		return Application{}, err
	}
	return *a.clone(), nil
}

// Applications lists the applications the caller may see, by name:
// all of them for affiliate and SSO administrators.
func (s *Store) Applications(ctx context.Context) ([]Application, error) {
	c, err := s.start(ctx, "Applications", "", "")
	if err != nil {
		return nil, err
	}
	s.mu.RLock()
	apps := s.apps
	s.mu.RUnlock()
	var out []Application
	for _, a := range apps {
		if c.roleIn(a) >= RoleAppUser {
			out = append(out, *a.clone())
		}
	}
	slices.SortFunc(out, func(a, b Application) int { return strings.Compare(a.Name, b.Name) })
	if err := c.done(ctx, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// Settings returns the system settings. The caller must be an affiliate
// or SSO administrator.
func (s *Store) Settings(ctx context.Context) (Settings, error) {
	c, err := s.start(ctx, "Settings", "", "")
	if err != nil {
		return Settings{}, err
	}
	if err := c.need(ctx, nil, RoleAffiliateAdmin); err != nil {
		return Settings{}, err
	}
	if err := c.done(ctx, nil); err != nil {
		return Settings{}, err
	}
	_, _, set := s.snapshot()
	return *set, nil
}

// SetSettings replaces the system settings; zero fields take their
// defaults. The caller must be an SSO administrator.
func (s *Store) SetSettings(ctx context.Context, set Settings) error {
	c, err := s.start(ctx, "SetSettings", "", "")
	if err != nil {
		return err
	}
	if err := c.need(ctx, nil, RoleSSOAdmin); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	set.withDefaults()
	tx, b := s.begin()
	defer tx.Abort()
	if err := b.Set(settingsKey, encodeSettings(&set), nil); err != nil {
		return c.fail(ctx, err)
	}
	if err := c.done(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("sso: set settings: %w", err)
	}
	s.mu.Lock()
	s.settings = &set
	s.mu.Unlock()
	return nil
}
