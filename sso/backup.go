package sso

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"io"
	"time"

	"github.com/biztier/biztier/internal/codec"
	"golang.org/x/crypto/argon2"
)

// BackupOptions configure BackupSecret. A nil *BackupOptions means
// defaults.
type BackupOptions struct {
	// Reminder is a password reminder, kept in clear in the backup (as
	// ssoconfig -backupSecret does). Never put the password in it.
	Reminder string
	// Time, MemoryKiB and Threads are argon2id's cost parameters. They
	// default to 3 passes over 64 MiB with 4 threads (RFC 9106's second
	// recommended option).
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// Limits a backup's parameters must respect, so a crafted file cannot make
// restore spend unbounded memory or time.
const (
	maxKDFTime   = 16
	maxKDFMemory = 1 << 20 // KiB: 1 GiB
	saltLen      = 16
)

// Backup layout: magic, version, then a codec value: reminder, KDF id and
// parameters, salt, nonce, and the keyring sealed with AES-256-GCM under
// the argon2id key, with everything before it as additional data.
const (
	backupMagic   = "BZSSOBAK"
	backupVersion = 1
	kdfArgon2id   = 1
)

// secretBackup is a parsed backup file.
type secretBackup struct {
	reminder      string
	time, memory  uint32
	threads       uint8
	salt, nonce   []byte
	header, ctext []byte
}

func parseBackup(b []byte) (*secretBackup, error) {
	if len(b) < len(backupMagic)+1 || string(b[:len(backupMagic)]) != backupMagic {
		return nil, corruptf("not a master secret backup (%d bytes)", len(b))
	}
	if v := b[len(backupMagic)]; v != backupVersion {
		if v > backupVersion {
			return nil, fmt.Errorf("%w: secret backup version %d", ErrFormatTooNew, v)
		}
		return nil, corruptf("secret backup version %d", v)
	}
	d := codec.NewDecoder(b[len(backupMagic)+1:])
	sb := &secretBackup{reminder: d.Text()}
	kdf := d.Uvarint()
	t, m, p := d.Uvarint(), d.Uvarint(), d.Uvarint()
	sb.salt = d.Bytes()
	sb.nonce = d.Bytes()
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("%w: secret backup: %w", ErrCorruption, err)
	}
	sb.header = b[:len(b)-d.Remaining()]
	sb.ctext = b[len(sb.header):]
	switch {
	case kdf != kdfArgon2id:
		return nil, corruptf("secret backup: unknown KDF %d", kdf)
	case t == 0 || t > maxKDFTime || m < 8*p || m > maxKDFMemory || p == 0 || p > 255:
		return nil, corruptf("secret backup: KDF parameters out of range")
	case len(sb.salt) != saltLen || len(sb.nonce) != nonceLen || len(sb.ctext) < 16:
		return nil, corruptf("secret backup: bad salt, nonce or ciphertext length")
	}
	sb.time, sb.memory, sb.threads = uint32(t), uint32(m), uint8(p)
	return sb, nil
}

func backupCipher(password Secret, salt []byte, t, m uint32, p uint8) (cipher.AEAD, error) {
	k := argon2.IDKey(password.b, salt, t, m, p, secretLen)
	defer wipe(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("sso: backup cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

// BackupReminder returns the password reminder of a secret backup.
func BackupReminder(backup []byte) (string, error) {
	sb, err := parseBackup(backup)
	if err != nil {
		return "", err
	}
	return sb.reminder, nil
}

// BackupSecret returns a backup of the master secret sealed with password
// (ssoconfig -backupSecret): argon2id derives the key, AES-256-GCM seals
// the secret, the reminder stays readable. Keep it apart from the group's
// backups. The caller must be an SSO administrator; it fails with
// ErrRegenerating while a regenerate is unfinished and ErrInvalid for an
// empty password.
func (s *Store) BackupSecret(ctx context.Context, password Secret, opts *BackupOptions) ([]byte, error) {
	c, err := s.start(ctx, "BackupSecret", "", "")
	if err != nil {
		return nil, err
	}
	if err := c.need(ctx, nil, RoleSSOAdmin); err != nil {
		return nil, err
	}
	var o BackupOptions
	if opts != nil {
		o = *opts
	}
	if o.Time == 0 {
		o.Time = 3
	}
	if o.MemoryKiB == 0 {
		o.MemoryKiB = 64 << 10
	}
	if o.Threads == 0 {
		o.Threads = 4
	}
	st, ring, _ := s.snapshot()
	switch {
	case password.Len() == 0:
		return nil, c.fail(ctx, fmt.Errorf("%w: empty password", ErrInvalid))
	case st.next != 0:
		return nil, c.fail(ctx, ErrRegenerating)
	case o.Time > maxKDFTime || o.MemoryKiB > maxKDFMemory || o.MemoryKiB < 8*uint32(o.Threads):
		return nil, c.fail(ctx, fmt.Errorf("%w: KDF parameters out of range", ErrInvalid))
	}
	salt := make([]byte, saltLen)
	nonce := make([]byte, nonceLen)
	if _, err := io.ReadFull(s.opts.Rand, salt); err != nil {
		return nil, c.fail(ctx, err)
	}
	if _, err := io.ReadFull(s.opts.Rand, nonce); err != nil {
		return nil, c.fail(ctx, err)
	}
	e := codec.NewEncoder([]byte(backupMagic))
	e.Version(backupVersion)
	e.String(o.Reminder)
	e.Uvarint(kdfArgon2id)
	e.Uvarint(uint64(o.Time))
	e.Uvarint(uint64(o.MemoryKiB))
	e.Uvarint(uint64(o.Threads))
	e.Bytes(salt)
	e.Bytes(nonce)
	header := e.Encoded()
	aead, err := backupCipher(password, salt, o.Time, o.MemoryKiB, o.Threads)
	if err != nil {
		return nil, c.fail(ctx, err)
	}
	plain := encodeKeyring(ring.only(st.gen))
	// Seal's additional data must not overlap its dst.
	out := aead.Seal(header, nonce, plain, append([]byte(nil), header...))
	wipe(plain)
	if err := c.done(ctx, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// openBackup unseals a backup's keyring.
func openBackup(backup []byte, password Secret) (*keyring, error) {
	sb, err := parseBackup(backup)
	if err != nil {
		return nil, err
	}
	aead, err := backupCipher(password, sb.salt, sb.time, sb.memory, sb.threads)
	if err != nil {
		return nil, err
	}
	plain, err := aead.Open(nil, sb.nonce, sb.ctext, sb.header)
	if err != nil {
		return nil, ErrWrongPassword
	}
	defer wipe(plain)
	return decodeKeyring(plain)
}

// RestoreSecret restores the master secret from a backup into keys
// (ssoconfig -restoreSecret), for the SSO database in db: on a new master
// secret server, a node whose key file was lost, or a restored or shipped
// group. The backup is accepted only if it matches the database's
// key-check value (or leads to the current secret through the database's
// link, for a backup taken before a regenerate): otherwise ErrWrongSecret,
// and ErrWrongPassword if the password does not open it. The caller in
// ctx must be one of the database's SSO administrators. The attempt is
// audited in db.
func RestoreSecret(ctx context.Context, db Database, keys KeyProvider, backup []byte, password Secret) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if db == nil || keys == nil {
		return fmt.Errorf("%w: nil database or key provider", ErrInvalid)
	}
	if err := checkFormat(db.Reader()); err != nil {
		return err
	}
	st, err := readSecretState(db.Reader())
	if err != nil {
		return err
	}
	if st == nil {
		return fmt.Errorf("%w: the database holds no SSO system to restore a secret for", ErrNotFound)
	}
	// A Store without a secret, for the access check and the audit only.
	s := &Store{db: db, opts: Options{Keys: keys, Now: time.Now, PollInterval: -1}}
	if err := s.load(); err != nil {
		return err
	}
	s.state = st
	c, err := s.start(ctx, "RestoreSecret", "", "")
	if err != nil {
		return err
	}
	if err := c.need(ctx, nil, RoleSSOAdmin); err != nil {
		return err
	}
	ring, err := openBackup(backup, password)
	if err != nil {
		return c.fail(ctx, err)
	}
	ring, err = resolve(st, ring)
	if err != nil {
		return c.fail(ctx, err)
	}
	// Audit first: a restore whose record cannot be written changes
	// nothing. (A passive node, whose log refuses commits, therefore
	// cannot restore through here; see CheckSecret.)
	if err := c.done(ctx, nil); err != nil {
		return err
	}
	if err := s.saveRing(ctx, ring); err != nil {
		return c.fail(ctx, err)
	}
	return nil
}

// CheckSecret reports whether keys holds the master secret of the SSO
// database in db, changing nothing: nil if it does (directly, or through
// the database's link after a regenerate) or if db holds no SSO system,
// an error wrapping ErrNoSecret, ErrWrongSecret or ErrKeyFile otherwise.
// A passive node calls it before it is promoted to active (and so to
// master secret server) and refuses promotion on an error.
func CheckSecret(ctx context.Context, db Database, keys KeyProvider) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if db == nil || keys == nil {
		return fmt.Errorf("%w: nil database or key provider", ErrInvalid)
	}
	if err := checkFormat(db.Reader()); err != nil {
		return err
	}
	st, err := readSecretState(db.Reader())
	if err != nil || st == nil {
		return err
	}
	blob, err := keys.Load(ctx)
	if err != nil {
		return err
	}
	ring, err := decodeKeyring(blob)
	wipe(blob)
	if err != nil {
		return err
	}
	_, err = resolve(st, ring)
	return err
}
