package biztier

import (
	"context"
	"fmt"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/sso"
)

// This file opens package sso on the group (its Database adapter is in
// databases.go).

// DefaultSSOKeys returns the group's default master secret server: a key
// file beside the group directory, not inside it (<dir>.sso-key), sealed
// with a key-encryption key kept in a file of its own (<dir>.sso-kek),
// both mode 0600 on FS. Backups, shipped logs and the passive node then
// carry only ciphertext. Give Options.Keys a provider of your own to keep
// the KEK elsewhere (see sso.StaticKEK).
func (g *Group) DefaultSSOKeys() sso.KeyProvider {
	fs := g.opts.FS
	base := fs.PathJoin(fs.PathDir(g.dir), fs.PathBase(g.dir))
	return sso.NewKeyFile(fs, base+".sso-key", sso.KEKFile(fs, base+".sso-kek"))
}

func (g *Group) ssoOptions(opts *sso.Options) *sso.Options {
	var o sso.Options
	if opts != nil {
		o = *opts
	}
	if o.Keys == nil {
		o.Keys = g.DefaultSSOKeys()
	}
	if o.Now == nil {
		o.Now = g.opts.Now
	}
	return &o
}

// SSO returns the group's SSO database (SSODB), opening it on first use
// with opts (nil: defaults, with DefaultSSOKeys as the master secret
// server); later calls return the same Store and ignore opts. Opening
// creates the SSO system and its master secret if the group has none, and
// otherwise fails closed: sso.ErrNoSecret if the key provider holds no
// secret (a restored or shipped group before RestoreSSOSecret),
// sso.ErrWrongSecret if it holds another. It fails with ErrClosed after
// Close.
func (g *Group) SSO(ctx context.Context, opts *sso.Options) (*sso.Store, error) {
	g.typed.mu.Lock()
	defer g.typed.mu.Unlock()
	if g.closed.Load() {
		return nil, ErrClosed
	}
	if g.typed.sso != nil {
		return g.typed.sso, nil
	}
	s, err := sso.Open(ctx, g.ssoDatabase(), g.ssoOptions(opts))
	if err != nil {
		return nil, fmt.Errorf("biztier: open sso: %w", err)
	}
	g.typed.sso = s
	return s, nil
}

// CheckSSOSecret reports whether this node can open the group's SSO
// database with the master secret its key provider holds (keys nil:
// DefaultSSOKeys), without changing anything: nil if it can (or if the
// group has no SSO system yet), sso.ErrNoSecret or sso.ErrWrongSecret
// otherwise. A passive node calls it before promotion: a node that cannot
// decrypt SSODB must not become the master secret server.
func (g *Group) CheckSSOSecret(ctx context.Context, keys sso.KeyProvider) error {
	if g.closed.Load() {
		return ErrClosed
	}
	if keys == nil {
		keys = g.DefaultSSOKeys()
	}
	return sso.CheckSecret(ctx, g.ssoDatabase(), keys)
}

// RestoreSSOSecret restores the master secret from a backup written by
// sso.Store.BackupSecret (ssoconfig -restoreSecret) into keys (nil:
// DefaultSSOKeys), after checking it against the group's SSO database: it
// fails with sso.ErrWrongPassword for a wrong password and
// sso.ErrWrongSecret for a backup of another SSO system. The caller in
// ctx must be an SSO administrator of the group's SSO system.
func (g *Group) RestoreSSOSecret(ctx context.Context, backup []byte, password sso.Secret, keys sso.KeyProvider) error {
	if g.closed.Load() {
		return ErrClosed
	}
	if keys == nil {
		keys = g.DefaultSSOKeys()
	}
	return sso.RestoreSecret(ctx, g.ssoDatabase(), keys, backup, password)
}

// closeSSOLocked closes the SSO store if it was opened; g.typed.mu is held.
func (g *Group) closeSSOLocked() error {
	if g.typed.sso == nil {
		return nil
	}
	err := g.typed.sso.Close()
	g.typed.sso = nil
	return err
}

func (g *Group) ssoDatabase() ssoDatabase {
	return ssoDatabase{database{set: g.set, id: store.SSO}}
}
