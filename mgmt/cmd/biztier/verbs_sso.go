package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/biztier/biztier/sso"
)

// passwordEnv holds the password that seals the master secret's backup: an
// environment variable, never a flag, which any user could read in the
// process list.
const passwordEnv = "BIZTIER_SSO_PASSWORD"

func init() {
	register(&verb{
		noun: "sso", name: "backup-secret", args: "-o FILE [-reminder TEXT]",
		summary: "back up the SSO master secret, sealed with $" + passwordEnv + " (ssoconfig -backupSecret)",
		flags: func(fs *flag.FlagSet) {
			fs.String("o", "", "the backup file to write (required)")
			fs.String("reminder", "", "a password reminder, kept in clear in the backup")
			adminGroupFlag(fs)
		},
		run: ssoBackupSecret,
	})
	register(&verb{
		noun: "sso", name: "restore-secret", args: "FILE",
		summary: "restore the SSO master secret from a backup, with $" + passwordEnv + " (ssoconfig -restoreSecret)",
		flags:   adminGroupFlag,
		run:     ssoRestoreSecret,
	})
}

func adminGroupFlag(fs *flag.FlagSet) {
	fs.String("admin-group", "SSO Administrators", "the SSO administrators group -user acts as a member of")
}

// ssoContext is ctx with the operator as an SSO administrator. The command
// runs with access to the group's files (its key files among them), so the
// identity it claims is a record for SSO's audit, not a barrier.
func ssoContext(ctx context.Context, e *env, fs *flag.FlagSet) context.Context {
	return sso.WithIdentity(ctx, sso.Identity{User: e.user, Groups: []string{flagString(fs, "admin-group")}})
}

func ssoPassword() (sso.Secret, error) {
	p := os.Getenv(passwordEnv)
	if p == "" {
		return sso.Secret{}, fmt.Errorf("%w: set $%s to the backup's password", errUsage, passwordEnv)
	}
	return sso.NewSecret(p), nil
}

func ssoBackupSecret(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := required(fs, "o"); err != nil {
		return err
	}
	pw, err := ssoPassword()
	if err != nil {
		return err
	}
	g, err := e.group()
	if err != nil {
		return err
	}
	sctx := ssoContext(ctx, e, fs)
	s, err := g.SSO(sctx, nil)
	if err != nil {
		return err
	}
	name := flagString(fs, "o")
	err = e.audited(ctx, "sso backup-secret", name, func() (int, error) {
		b, err := s.BackupSecret(sctx, pw, &sso.BackupOptions{Reminder: flagString(fs, "reminder")})
		if err != nil {
			return 0, err
		}
		return 1, os.WriteFile(name, b, 0o600)
	})
	if err != nil {
		return err
	}
	return e.result(map[string]string{"file": name}, "master secret backed up to %s (keep it apart from the group's backups)", name)
}

func ssoRestoreSecret(ctx context.Context, e *env, fs *flag.FlagSet, args []string) error {
	if err := needArgs(args, 1, "the secret's backup file"); err != nil {
		return err
	}
	pw, err := ssoPassword()
	if err != nil {
		return err
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	g, err := e.group()
	if err != nil {
		return err
	}
	sctx := ssoContext(ctx, e, fs)
	if err := e.audited(ctx, "sso restore-secret", args[0], func() (int, error) {
		return 1, g.RestoreSSOSecret(sctx, b, pw, nil)
	}); err != nil {
		return err
	}
	return e.result(map[string]string{"file": args[0]}, "master secret restored from %s", args[0])
}
