package sso

import (
	"crypto/rand"
	"testing"
)

// BenchmarkMasterKey_open measures the decryption half of a lookup alone:
// unsealing and decoding one mapping with the cached secret, without the
// Pebble read and the audit commit that GetCredentials adds.
//
//	go test ./sso -run '^$' -bench 'MasterKey_open'
func BenchmarkMasterKey_open(b *testing.B) {
	k, err := generateKey(rand.Reader, 1)
	if err != nil {
		b.Fatal(err)
	}
	key := mappingKey("ERP", "u000001")
	rec, err := k.seal(nil, rand.Reader, key, encodeMapping(&mapping{windows: "u000001", external: "X", fields: [][]byte{[]byte("pw-000001")}}))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		plain, err := k.open(rec, key)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := decodeMapping(plain); err != nil {
			b.Fatal(err)
		}
	}
}
