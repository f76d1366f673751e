package sso

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Every decoder of stored or supplied bytes is fuzzed: it must never panic,
// every failure must be corruption (or a newer format), and what decodes
// must encode to something that decodes the same.
//
//	go test ./sso -run '^$' -fuzz FuzzDecoders -fuzztime 1m

func FuzzDecoders(f *testing.F) {
	app := &Application{Name: "ERP", Type: Group, Flags: FlagAllowTickets, AdminAccounts: []string{"a"},
		UserAccounts: []string{"u1", "u2"}, Fields: []Field{{Name: "P", Masked: true}}, TicketTimeout: time.Minute}
	st := &secretState{gen: 3, next: 4, linkFrom: 3, linkTo: 4, link: []byte{1, 2, 3}}
	r, _ := generateKey(rand.Reader, 1)
	seeds := [][]byte{
		encodeApp(app),
		encodeMapping(&mapping{windows: "w", external: "e", fields: [][]byte{[]byte("p"), nil}}),
		encodeConfig(ConfigInfo{"a": NewSecret("b")}),
		encodeSecretState(st),
		encodeSettings(&Settings{AdminGroup: "x", TicketTimeout: time.Second}),
		encodeAudit(&AuditRecord{At: time.Unix(5, 0), User: "u", Op: "o", Granted: true}),
		encodeTicket(&ticket{app: "a", user: "u", groups: []string{"g"}, expires: time.Unix(9, 0)}),
		encodeKeyring((*keyring)(nil).with(r)),
	}
	for i, s := range seeds {
		f.Add(uint8(i), s)
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) {
		type codec struct {
			dec func([]byte) (any, error)
			enc func(any) []byte
		}
		codecs := []codec{
			{func(b []byte) (any, error) { return decodeApp(b) }, func(v any) []byte { return encodeApp(v.(*Application)) }},
			{func(b []byte) (any, error) { return decodeMapping(b) }, func(v any) []byte { return encodeMapping(v.(*mapping)) }},
			{func(b []byte) (any, error) { return decodeConfig(b) }, func(v any) []byte { return encodeConfig(v.(ConfigInfo)) }},
			{func(b []byte) (any, error) { return decodeSecretState(b) }, func(v any) []byte { return encodeSecretState(v.(*secretState)) }},
			{func(b []byte) (any, error) { return decodeSettings(b) }, func(v any) []byte { return encodeSettings(v.(*Settings)) }},
			{func(b []byte) (any, error) { return decodeAudit(0, b) }, func(v any) []byte { r := v.(AuditRecord); return encodeAudit(&r) }},
			{func(b []byte) (any, error) { return decodeTicket(b) }, func(v any) []byte { return encodeTicket(v.(*ticket)) }},
			{func(b []byte) (any, error) { return decodeKeyring(b) }, func(v any) []byte { return encodeKeyring(v.(*keyring)) }},
		}
		c := codecs[int(which)%len(codecs)]
		v, err := c.dec(b)
		if err != nil {
			if !IsCorruption(err) && !errors.Is(err, ErrFormatTooNew) {
				t.Fatalf("decode error is not corruption: %v", err)
			}
			return
		}
		again, err := c.dec(c.enc(v))
		if err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
		if _, ok := v.(*keyring); ok {
			return // holds ciphers; compared by encoding below
		}
		if !reflect.DeepEqual(normalizeNil(v), normalizeNil(again)) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", v, again)
		}
	})
}

// normalizeNil makes empty and nil slices compare equal.
func normalizeNil(v any) any {
	switch x := v.(type) {
	case *mapping:
		c := *x
		for i, f := range c.fields {
			if len(f) == 0 {
				c.fields[i] = nil
			}
		}
		return &c
	}
	return v
}

// FuzzOpen feeds arbitrary bytes to everything that authenticates: sealed
// records, the key file, secret backups and tickets. None may panic or
// accept bytes they did not seal.
func FuzzOpen(f *testing.F) {
	k, _ := generateKey(rand.Reader, 1)
	rec, _ := k.seal(nil, rand.Reader, []byte("key"), []byte("plain"))
	f.Add(rec)
	f.Add([]byte(keyFileMagic + "\x01" + "0123456789ab0123456789abcdef"))
	f.Add([]byte(backupMagic + "\x01\x00\x01\x01\x08\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if plain, err := k.open(b, []byte("key")); err == nil && !bytes.Equal(b, rec) {
			t.Fatalf("opened foreign bytes: %q", plain)
		} else if err != nil && !IsCorruption(err) && !errors.Is(err, ErrFormatTooNew) {
			t.Fatalf("open error is not corruption: %v", err)
		}
		fs := vfs.NewMem()
		kf := NewKeyFile(fs, "k", StaticKEK(make([]byte, 32)))
		w, _ := fs.Create("k", vfs.WriteCategoryUnspecified)
		_, _ = w.Write(b)
		_ = w.Close()
		if _, err := kf.Load(context.Background()); err == nil {
			t.Fatal("loaded a key file it did not write")
		}
		if sb, err := parseBackup(b); err == nil {
			// Only parse: deriving the key is argon2id's cost, bounded by
			// parseBackup's limits.
			if sb.memory > maxKDFMemory || sb.time > maxKDFTime {
				t.Fatal("backup parameters out of bounds")
			}
		}
	})
}

// TestRedactedInternals checks that the internal types holding secrets
// print redacted too.
func TestRedactedInternals(t *testing.T) {
	k, _ := generateKey(rand.Reader, 7)
	m := &mapping{windows: "w", external: "e", fields: [][]byte{[]byte("pw-internal")}}
	for _, v := range []any{k, (*keyring)(nil).with(k), m, *m} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
			out := fmt.Sprintf(verb, v)
			if bytes.Contains([]byte(out), []byte("pw-internal")) || bytes.Contains([]byte(out), []byte(fmt.Sprintf("%x", k.raw[:4]))) {
				t.Errorf("%s of %T reveals a secret: %s", verb, v, out)
			}
		}
	}
}
