package sso

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// KeyProvider keeps the master secret outside the SSO store and the group
// log: it is the master secret server (in BizTalk, the registry of the
// machine that runs it). The store keeps only sealed records and a
// key-check value.
//
// The bytes a provider loads and saves are the plaintext keyring: secret.
// A provider must keep them sealed at rest and out of logs and errors.
// Implementations must be safe for concurrent use.
type KeyProvider interface {
	// Load returns the keyring last saved. It returns an error wrapping
	// ErrNoSecret if there is none, and ErrSecretServerUnavailable (or any
	// other error) if the provider cannot be reached. The caller owns the
	// returned slice and wipes it.
	Load(ctx context.Context) ([]byte, error)
	// Save replaces the keyring atomically and durably: after a crash,
	// Load returns the old keyring or the new one, never a mix.
	Save(ctx context.Context, keyring []byte) error
}

// KEKSource returns the 32-byte key-encryption key that seals a key file.
type KEKSource func(ctx context.Context) ([]byte, error)

// StaticKEK returns a KEKSource that always returns a copy of kek, for a
// KEK that comes from configuration, an environment variable or a secret
// manager. kek must be 32 bytes.
func StaticKEK(kek []byte) KEKSource {
	c := append([]byte(nil), kek...)
	return func(context.Context) ([]byte, error) { return append([]byte(nil), c...), nil }
}

// KEKFile returns a KEKSource that reads a 32-byte key-encryption key from
// path on fs, creating it (mode 0600, random) on first use. Keeping the KEK
// in a file of its own protects the key file when it is copied or backed
// up alone; it is no defence against someone who can read both files, so
// put them apart (another volume, another owner) or use StaticKEK with a
// KEK from a secret manager.
func KEKFile(fs vfs.FS, path string) KEKSource {
	return func(ctx context.Context) ([]byte, error) {
		// fileMu also serialises creating the KEK, so two sources on one
		// path never each create a KEK of their own.
		fileMu.Lock()
		defer fileMu.Unlock()
		b, err := readFile(fs, path)
		if err == nil {
			if len(b) != secretLen {
				return nil, fmt.Errorf("%w: KEK file %s holds %d bytes, want %d", ErrKeyFile, path, len(b), secretLen)
			}
			return b, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: read KEK file %s: %w", ErrSecretServerUnavailable, path, err)
		}
		kek := make([]byte, secretLen)
		if _, err := io.ReadFull(rand.Reader, kek); err != nil {
			return nil, fmt.Errorf("sso: generate KEK: %w", err)
		}
		if err := writeFileAtomic(fs, path, kek); err != nil {
			return nil, err
		}
		return kek, nil
	}
}

// KeyFile is the default KeyProvider: the keyring in one file, mode 0600,
// sealed with AES-256-GCM under a key-encryption key. Put it beside the
// group directory, never inside it, so that backups, log shipping and the
// passive node carry only ciphertext. It is safe for concurrent use.
type KeyFile struct {
	fs   vfs.FS
	path string
	kek  KEKSource
}

// fileMu serialises every write of a key or KEK file in the process, so
// two providers on one path (biztier.Group.DefaultSSOKeys makes a new one
// per call) never interleave their temporary files. Such writes are rare;
// other processes are kept out by the group directory's lock.
var fileMu sync.Mutex

var _ KeyProvider = (*KeyFile)(nil)

// NewKeyFile returns the key file at path on fs (vfs.Default if nil),
// sealed under the key from kek.
func NewKeyFile(fs vfs.FS, path string, kek KEKSource) *KeyFile {
	if fs == nil {
		fs = vfs.Default
	}
	return &KeyFile{fs: fs, path: path, kek: kek}
}

// Path is the key file's path.
func (f *KeyFile) Path() string { return f.path }

// Key file layout: magic, version, nonce, then the keyring sealed with
// AES-256-GCM under the KEK, the magic and version as additional data.
const (
	keyFileMagic   = "BZSSOKEY"
	keyFileVersion = 1
	keyFileHeader  = len(keyFileMagic) + 1
)

func (f *KeyFile) cipher(ctx context.Context) (cipher.AEAD, error) {
	if f.kek == nil {
		return nil, fmt.Errorf("%w: key file %s has no KEK source", ErrInvalid, f.path)
	}
	kek, err := f.kek(ctx)
	if err != nil {
		return nil, err
	}
	defer wipe(kek)
	if len(kek) != secretLen {
		return nil, fmt.Errorf("%w: KEK of %d bytes, want %d", ErrInvalid, len(kek), secretLen)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("sso: KEK cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

// Load implements KeyProvider. A missing file is ErrNoSecret; a truncated,
// tampered or foreign file is ErrKeyFile.
func (f *KeyFile) Load(ctx context.Context) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	b, err := readFile(f.fs, f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: no key file at %s", ErrNoSecret, f.path)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read key file %s: %w", ErrSecretServerUnavailable, f.path, err)
	}
	if len(b) < keyFileHeader+nonceLen+16 || string(b[:len(keyFileMagic)]) != keyFileMagic {
		return nil, fmt.Errorf("%w: %s is truncated or not a key file (%d bytes)", ErrKeyFile, f.path, len(b))
	}
	if v := b[len(keyFileMagic)]; v != keyFileVersion {
		if v > keyFileVersion {
			return nil, fmt.Errorf("%w: key file %s has version %d", ErrFormatTooNew, f.path, v)
		}
		return nil, fmt.Errorf("%w: key file %s has version %d", ErrKeyFile, f.path, v)
	}
	aead, err := f.cipher(ctx)
	if err != nil {
		return nil, err
	}
	nonce := b[keyFileHeader : keyFileHeader+nonceLen]
	plain, err := aead.Open(nil, nonce, b[keyFileHeader+nonceLen:], b[:keyFileHeader])
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not authenticate (tampered, or another KEK)", ErrKeyFile, f.path)
	}
	return plain, nil
}

// Save implements KeyProvider: it writes a temporary file (mode 0600),
// syncs it, renames it over the key file and syncs the directory.
func (f *KeyFile) Save(ctx context.Context, keyring []byte) error {
	if ctx == nil {
		ctx = context.Background()
	}
	aead, err := f.cipher(ctx)
	if err != nil {
		return err
	}
	out := make([]byte, 0, keyFileHeader+nonceLen+len(keyring)+16)
	out = append(out, keyFileMagic...)
	out = append(out, keyFileVersion)
	out = out[:keyFileHeader+nonceLen]
	if _, err := io.ReadFull(rand.Reader, out[keyFileHeader:]); err != nil {
		return fmt.Errorf("sso: nonce: %w", err)
	}
	// Seal's additional data must not overlap its dst: pass copies.
	hdr := append([]byte(nil), out[:keyFileHeader]...)
	nonce := append([]byte(nil), out[keyFileHeader:]...)
	out = aead.Seal(out, nonce, keyring, hdr)
	fileMu.Lock()
	defer fileMu.Unlock()
	return writeFileAtomic(f.fs, f.path, out)
}

func readFile(fs vfs.FS, path string) ([]byte, error) {
	r, err := fs.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// writeFileAtomic writes data to path through a synced temporary file and a
// rename, then syncs the directory, so a crash leaves the old file or the
// new one. On the OS file system the file is made 0600 before anything is
// written to it.
func writeFileAtomic(fs vfs.FS, path string, data []byte) error {
	dir := fs.PathDir(path)
	if _, err := fs.Stat(dir); err != nil {
		if err := fs.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("%w: create %s: %w", ErrSecretServerUnavailable, dir, err)
		}
		// The new directory's own entry must be durable too.
		if err := syncDir(fs, fs.PathDir(dir)); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	w, err := fs.Create(tmp, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("%w: create %s: %w", ErrSecretServerUnavailable, tmp, err)
	}
	if vfs.Root(fs) == vfs.Default {
		if err := os.Chmod(tmp, 0o600); err != nil {
			w.Close()
			return fmt.Errorf("sso: chmod %s: %w", tmp, err)
		}
	}
	// Pebble's vfs may scribble over what Write was given (its MemFS does
	// under invariants): write a copy, and wipe it after.
	buf := append([]byte(nil), data...)
	defer wipe(buf)
	if _, err := w.Write(buf); err != nil {
		w.Close()
		return fmt.Errorf("%w: write %s: %w", ErrSecretServerUnavailable, tmp, err)
	}
	if err := w.Sync(); err != nil {
		w.Close()
		return fmt.Errorf("%w: sync %s: %w", ErrSecretServerUnavailable, tmp, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("%w: close %s: %w", ErrSecretServerUnavailable, tmp, err)
	}
	if err := fs.Rename(tmp, path); err != nil {
		return fmt.Errorf("%w: rename %s: %w", ErrSecretServerUnavailable, tmp, err)
	}
	return syncDir(fs, dir)
}

func syncDir(fs vfs.FS, dir string) error {
	d, err := fs.OpenDir(dir)
	if err != nil {
		return fmt.Errorf("%w: open dir %s: %w", ErrSecretServerUnavailable, dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("%w: sync dir %s: %w", ErrSecretServerUnavailable, dir, err)
	}
	return nil
}
