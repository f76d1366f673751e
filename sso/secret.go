package sso

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/biztier/biztier/internal/codec"
)

// redacted is what every secret-holding type prints.
const redacted = "[redacted]"

// Secret is a secret value: a password, a credential field or a config
// store property. It prints as "[redacted]" with every fmt verb, and
// marshals to nothing, so a Secret cannot reach a log line or an error by
// accident; Reveal returns the value. The zero Secret is empty.
type Secret struct {
	b []byte
}

// NewSecret returns a Secret holding a copy of s.
func NewSecret(s string) Secret { return Secret{b: []byte(s)} }

// Reveal returns the value.
func (s Secret) Reveal() string { return string(s.b) }

// Len is the value's length in bytes.
func (s Secret) Len() int { return len(s.b) }

// Equal reports whether s and o hold the same value, in constant time.
func (s Secret) Equal(o Secret) bool { return subtle.ConstantTimeCompare(s.b, o.b) == 1 }

// String returns "[redacted]".
func (Secret) String() string { return redacted }

// GoString returns "[redacted]".
func (Secret) GoString() string { return redacted }

// Format prints "[redacted]" for every verb.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalText returns "[redacted]", so encoders never see the value.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// secretLen is the master secret's length: 256 bits, for AES-256.
const secretLen = 32

// kcvLen is the length of a key-check value.
const kcvLen = 16

// kcvLabel is what the key-check value is computed over. A KCV is an HMAC
// under the secret, so it identifies the secret without revealing it.
const kcvLabel = "biztier sso key check v1"

// masterKey is one generation of the master secret with its cipher. It is
// immutable and safe for concurrent use (AES-GCM's Seal and Open are).
type masterKey struct {
	gen  uint64
	raw  [secretLen]byte
	kcv  [kcvLen]byte
	aead cipher.AEAD
}

// String and Format keep the secret out of any output.
func (k *masterKey) String() string { return fmt.Sprintf("masterKey(gen %d, %s)", k.gen, redacted) }

// GoString returns the same as String.
func (k *masterKey) GoString() string { return k.String() }

// Format prints String for every verb.
func (k *masterKey) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

func newMasterKey(gen uint64, raw []byte) (*masterKey, error) {
	if len(raw) != secretLen {
		return nil, corruptf("master secret of %d bytes, want %d", len(raw), secretLen)
	}
	k := &masterKey{gen: gen}
	copy(k.raw[:], raw)
	block, err := aes.NewCipher(k.raw[:])
	if err != nil {
		return nil, fmt.Errorf("sso: cipher: %w", err)
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("sso: cipher: %w", err)
	}
	k.kcv = kcvOf(k.raw[:])
	return k, nil
}

// generateKey draws a new secret of generation gen from rnd.
func generateKey(rnd io.Reader, gen uint64) (*masterKey, error) {
	var raw [secretLen]byte
	if _, err := io.ReadFull(rnd, raw[:]); err != nil {
		return nil, fmt.Errorf("sso: generate master secret: %w", err)
	}
	return newMasterKey(gen, raw[:])
}

func kcvOf(raw []byte) [kcvLen]byte {
	m := hmac.New(sha256.New, raw)
	m.Write([]byte(kcvLabel))
	var out [kcvLen]byte
	copy(out[:], m.Sum(nil))
	return out
}

// matches reports whether k is the secret whose key-check value is kcv.
func (k *masterKey) matches(kcv [kcvLen]byte) bool {
	return subtle.ConstantTimeCompare(k.kcv[:], kcv[:]) == 1
}

// Sealed records: version, generation (8 bytes big-endian), nonce, then
// the AES-256-GCM ciphertext and tag. The additional data is the version,
// the generation and the record's Pebble key, so a record moved under
// another key, or relabelled with another generation, fails to open.
const (
	sealVersion  = 1
	nonceLen     = 12
	sealOverhead = 1 + 8 + nonceLen + 16
)

// seal encrypts plain for key under k with a fresh nonce from rnd and
// appends the record to dst.
func (k *masterKey) seal(dst []byte, rnd io.Reader, key, plain []byte) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, sealOverhead+len(plain))
	dst = append(dst, sealVersion)
	dst = binary.BigEndian.AppendUint64(dst, k.gen)
	dst = dst[:len(dst)+nonceLen]
	nonce := dst[len(dst)-nonceLen:]
	if _, err := io.ReadFull(rnd, nonce); err != nil {
		return nil, fmt.Errorf("sso: nonce: %w", err)
	}
	ad := sealAD(dst[start:start+9], key)
	return k.aead.Seal(dst, nonce, plain, ad), nil
}

func sealAD(header, key []byte) []byte {
	ad := make([]byte, 0, len(header)+len(key))
	return append(append(ad, header...), key...)
}

// sealedGen returns the generation a sealed record was written with.
func sealedGen(rec []byte) (uint64, error) {
	if len(rec) < sealOverhead {
		return 0, corruptf("sealed record of %d bytes", len(rec))
	}
	switch v := rec[0]; {
	case v == 0:
		return 0, corruptf("sealed record version 0")
	case v > sealVersion:
		return 0, fmt.Errorf("%w: sealed record version %d", ErrFormatTooNew, v)
	}
	return binary.BigEndian.Uint64(rec[1:9]), nil
}

// open authenticates and decrypts rec, stored under key, with k; the
// result is a new slice. Any failure wraps ErrCorruption.
func (k *masterKey) open(rec, key []byte) ([]byte, error) {
	gen, err := sealedGen(rec)
	if err != nil {
		return nil, err
	}
	if gen != k.gen {
		return nil, corruptf("record sealed with generation %d, opened with %d", gen, k.gen)
	}
	nonce := rec[9 : 9+nonceLen]
	plain, err := k.aead.Open(nil, nonce, rec[9+nonceLen:], sealAD(rec[:9], key))
	if err != nil {
		return nil, corruptf("record does not authenticate")
	}
	return plain, nil
}

// keyring is the master secrets a node holds: the current generation and,
// during a regenerate, the next one. It is immutable once built.
type keyring struct {
	keys []*masterKey // by generation, ascending
}

func (r *keyring) get(gen uint64) *masterKey {
	if r == nil {
		return nil
	}
	for _, k := range r.keys {
		if k.gen == gen {
			return k
		}
	}
	return nil
}

// with returns a keyring holding r's keys and k (replacing one of k's
// generation).
func (r *keyring) with(k *masterKey) *keyring {
	out := &keyring{}
	if r != nil {
		for _, x := range r.keys {
			if x.gen != k.gen {
				out.keys = append(out.keys, x)
			}
		}
	}
	out.keys = append(out.keys, k)
	slices.SortFunc(out.keys, func(a, b *masterKey) int { return cmpU64(a.gen, b.gen) })
	return out
}

// only returns a keyring with the keys of gens that r holds.
func (r *keyring) only(gens ...uint64) *keyring {
	out := &keyring{}
	for _, g := range gens {
		if k := r.get(g); k != nil && out.get(g) == nil {
			out = out.with(k)
		}
	}
	return out
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// String keeps secrets out of any output.
func (r *keyring) String() string {
	if r == nil {
		return "keyring(empty)"
	}
	gens := make([]uint64, len(r.keys))
	for i, k := range r.keys {
		gens[i] = k.gen
	}
	return fmt.Sprintf("keyring(gens %v, %s)", gens, redacted)
}

// keyringVersion is the format of an encoded keyring, the plaintext a key
// provider keeps and a secret backup seals.
const keyringVersion = 1

// encodeKeyring returns r's plaintext encoding. The caller must wipe it
// when done (see wipe).
func encodeKeyring(r *keyring) []byte {
	e := codec.NewEncoder(make([]byte, 0, 2+len(r.keys)*(secretLen+10)))
	e.Version(keyringVersion)
	e.Uvarint(uint64(len(r.keys)))
	for _, k := range r.keys {
		e.Uvarint(k.gen)
		e.Bytes(k.raw[:])
	}
	return e.Encoded()
}

// decodeKeyring parses an encoded keyring. Errors wrap ErrCorruption.
func decodeKeyring(b []byte) (*keyring, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(keyringVersion); err != nil {
		return nil, fmt.Errorf("%w: keyring: %w", ErrCorruption, err)
	}
	n := d.Uvarint()
	if n > uint64(d.Remaining()) {
		return nil, corruptf("keyring: %d keys in %d bytes", n, d.Remaining())
	}
	r := &keyring{}
	for range n {
		gen := d.Uvarint()
		raw := d.Bytes()
		if d.Err() != nil {
			break
		}
		if gen == 0 || r.get(gen) != nil {
			return nil, corruptf("keyring: bad or repeated generation %d", gen)
		}
		k, err := newMasterKey(gen, raw)
		if err != nil {
			return nil, err
		}
		r = r.with(k)
	}
	if err := d.Finish(); err != nil {
		return nil, fmt.Errorf("%w: keyring: %w", ErrCorruption, err)
	}
	if len(r.keys) == 0 {
		return nil, corruptf("keyring: no keys")
	}
	return r, nil
}

// wipe zeroes b. Go cannot promise no copy survives elsewhere, but the
// buffers this package owns do not linger with secrets in them.
func wipe(b []byte) { clear(b) }
