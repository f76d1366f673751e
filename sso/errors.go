package sso

import (
	"errors"
	"fmt"

	"github.com/biztier/biztier/internal/sentinel"
)

// Sentinels, one per failure kind. Callers test them with errors.Is; no
// error this package returns ever holds a secret, a credential or a field
// value, only names (applications, identities, files) and counts.
var (
	// ErrClosed is returned by calls after Close. It wraps the module-wide
	// closed sentinel, so errors.Is(err, biztier.ErrClosed) holds.
	ErrClosed = sentinel.New("sso: closed", sentinel.ErrClosed)
	// ErrCorruption marks stored data (a record, a value, a key file, a
	// backup file) that cannot be decoded or authenticated. A record whose
	// authentication tag fails (tampered, or copied under another key) is
	// corruption: nothing of it is returned.
	ErrCorruption = sentinel.New("sso: corruption", sentinel.ErrCorruption)
	// ErrNoSecret is returned when the key provider holds no master secret
	// for a store that has one: a missing key file, or a node or a restored
	// group whose secret has not been restored yet.
	ErrNoSecret = errors.New("sso: master secret not available")
	// ErrWrongSecret is returned when the master secret offered (by the key
	// provider, or by a backup being restored) does not match the store's
	// key-check value.
	ErrWrongSecret = errors.New("sso: master secret does not match the store")
	// ErrKeyFile is returned for a key file that cannot be unsealed: it is
	// truncated, tampered with, or sealed with another key-encryption key.
	ErrKeyFile = errors.New("sso: key file cannot be unsealed")
	// ErrWrongPassword is returned by RestoreSecret for a backup that the
	// password does not open (or that was tampered with).
	ErrWrongPassword = errors.New("sso: wrong password for the secret backup")
	// ErrSecretServerUnavailable is returned by writes that seal new
	// secrets while the master secret server (the key provider) cannot be
	// reached. Lookups keep working from the cached secret.
	ErrSecretServerUnavailable = errors.New("sso: master secret server unavailable")
	// ErrAccessDenied is returned, inside an *AccessError, when the
	// caller's identity lacks the role a call needs, or when no identity
	// was given. The refusal is audited.
	ErrAccessDenied = errors.New("sso: access denied")
	// ErrAudit is returned when the audit record of an access cannot be
	// written: the access is then refused (fail closed).
	ErrAudit = errors.New("sso: audit record could not be written")
	// ErrNotFound is returned for an application, mapping or config entry
	// that does not exist.
	ErrNotFound = errors.New("sso: not found")
	// ErrExists is returned when creating an application whose name is
	// taken.
	ErrExists = errors.New("sso: already exists")
	// ErrInvalid is returned for arguments that break a rule: an empty
	// name, an unknown type, credentials that do not match the fields.
	ErrInvalid = errors.New("sso: invalid argument")
	// ErrImmutable is returned by UpdateApplication for a change to what
	// cannot change after creation: name, type, fields and the "admin
	// account same as affiliate admins" flag.
	ErrImmutable = errors.New("sso: cannot change after creation")
	// ErrDisabled is returned for a lookup in a disabled application.
	ErrDisabled = errors.New("sso: application disabled")
	// ErrWrongDirection is returned for a Windows-initiated lookup in a
	// host-initiated application, or the reverse.
	ErrWrongDirection = errors.New("sso: application does not serve this direction")
	// ErrTicketsDisabled is returned for ticket calls where tickets are
	// off: in the system settings or for the application.
	ErrTicketsDisabled = errors.New("sso: tickets are not allowed")
	// ErrTicketExpired is returned for a ticket past its expiry.
	ErrTicketExpired = errors.New("sso: ticket expired")
	// ErrTicketReplayed is returned for a ticket already redeemed.
	ErrTicketReplayed = errors.New("sso: ticket already redeemed")
	// ErrTicketInvalid is returned for a ticket that does not open, belongs
	// to another application, or whose sender does not match.
	ErrTicketInvalid = errors.New("sso: ticket not valid")
	// ErrRegenerating is returned by BackupSecret while a regenerate is
	// unfinished: the backup would hold a secret about to be replaced.
	ErrRegenerating = errors.New("sso: master secret regenerate in progress")
	// ErrFormatTooNew is returned by Open for a store, key file or backup
	// written by a newer version.
	ErrFormatTooNew = errors.New("sso: format newer than this build")
)

// IsCorruption reports whether err marks corrupt stored data.
func IsCorruption(err error) bool { return errors.Is(err, ErrCorruption) }

// corruptf returns an error wrapping ErrCorruption. Its arguments must be
// names and positions only, never secret material.
func corruptf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorruption, fmt.Sprintf(format, args...))
}

// AccessError reports a refused access: who asked for what. It wraps
// ErrAccessDenied.
type AccessError struct {
	// Op is the call, such as "GetCredentials".
	Op string
	// App is the affiliate application, empty for system calls.
	App string
	// User is the caller's user name, empty if none was given.
	User string
	// Need is the role the call needs.
	Need Role
}

// Error names the call, the caller and the role it lacks.
func (e *AccessError) Error() string {
	who := e.User
	if who == "" {
		who = "(no identity)"
	}
	if e.App == "" {
		return fmt.Sprintf("sso: %s: access denied to %s: needs %s", e.Op, who, e.Need)
	}
	return fmt.Sprintf("sso: %s %q: access denied to %s: needs %s", e.Op, e.App, who, e.Need)
}

// Unwrap returns ErrAccessDenied.
func (e *AccessError) Unwrap() error { return ErrAccessDenied }
