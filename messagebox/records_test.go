package messagebox

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestRecords_RoundTrip(t *testing.T) {
	m := &Message{
		ID:          uuid.New(),
		PublishedAt: epoch,
		Parts: []Part{
			{Name: "body", ContentType: "text/xml", Body: bytes.Repeat([]byte("<a/>"), 5000), IsBody: true},
			{Name: "small", Body: []byte("x")},
		},
		Context: []Property{
			Promoted("s", String("v")), Promoted("i", Int64(-3)), Written("f", Float64(2.5)),
			Promoted("b", Bool(true)), Promoted("t", Time(epoch)), Promoted("d", Decimal("1.50")),
			Written("y", Bytes([]byte{0, 1})),
		},
	}
	rec, frags := encodeMessage(nil, m, 1024, 100, CompressS2)
	require.Empty(t, frags, "compressible body fits one fragment once compressed")
	got, hdrs, err := decodeMessage(m.ID, rec)
	require.NoError(t, err)
	require.Equal(t, byte(codecS2), hdrs[0].codec)
	require.Equal(t, m.Context, got.Context)
	require.Equal(t, m.Parts, got.Parts)
	require.True(t, got.PublishedAt.Equal(epoch))

	rec, _ = encodeMessage(nil, m, 1024, 100, CompressZstd)
	got, hdrs, err = decodeMessage(m.ID, rec)
	require.NoError(t, err)
	require.Equal(t, byte(codecZstd), hdrs[0].codec)
	require.Equal(t, m.Parts, got.Parts)

	sub := Subscription{ID: uuid.New(), Name: "n", Host: "h", Kind: Instance, InstanceID: uuid.New(), Priority: 3,
		Retry: &RetryPolicy{Count: 2, Interval: time.Minute}, BackupHost: "b",
		Predicate: Or(And(Eq("a", Int64(1)), Exists("b")), And(Cond("c", OpLess, Decimal("2"))))}
	s2, err := decodeSubscription(sub.ID, encodeSubscription(&sub))
	require.NoError(t, err)
	require.Equal(t, sub, *s2)

	r := entryRec{msg: uuid.New(), sub: uuid.New(), flags: 3, attempts: 2, deliveries: 5, at: 77, reason: "r",
		host: "h", prio: 4, kind: 2, near: []Near{{Subscription: uuid.New(), Name: "n", Host: "h", Holding: 1, Of: 2, Failed: "f"}}}
	r2, err := decodeSuspended(encodeSuspended(&r))
	require.NoError(t, err)
	require.Equal(t, r, r2)
	r.host, r.prio, r.kind, r.near = "", 0, 0, nil
	r3, err := decodeEntry(encodeEntry(nil, &r))
	require.NoError(t, err)
	require.Equal(t, r, r3)
}

// FuzzDecoders feeds arbitrary bytes to every value decoder: none may
// panic, and every failure must be marked as corruption.
func FuzzDecoders(f *testing.F) {
	m := NewMessage([]byte("hello"), Promoted("a", Int64(1)))
	rec, _ := encodeMessage(nil, m, 1024, -1, CompressS2)
	f.Add(rec)
	sub := Subscription{Host: "h", Kind: Activation, Priority: 7, Retry: &RetryPolicy{}, Predicate: Or(And(Exists("a")))}
	f.Add(encodeSubscription(&sub))
	f.Add(encodeSuspended(&entryRec{reason: "x", near: []Near{{Name: "n"}}}))
	f.Add(encodeEntry(nil, &entryRec{reason: "x"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		check := func(err error) {
			if err != nil && !errors.Is(err, ErrCorruption) {
				t.Fatalf("error not marked as corruption: %v", err)
			}
		}
		_, _, err := decodeMessage(uuid.Nil, b)
		check(err)
		_, err = decodeSubscription(uuid.Nil, b)
		check(err)
		_, err = decodeEntry(b)
		check(err)
		_, err = decodeSuspended(b)
		check(err)
		_, err = decodeFragment(b)
		check(err)
	})
}

func TestFormatKey(t *testing.T) {
	id := uuid.MustParse("01234567-89ab-cdef-0123-456789abcdef")
	for _, tc := range []struct {
		key  []byte
		want string
	}{
		{queueKey(nil, "SendHost", 7, 42), `QueueEntries/"SendHost"/7/42`},
		{suspKey(9), "Suspended/9"},
		{msgKey(id), "Messages/01234567-89ab-cdef-0123-456789abcdef"},
		{fragKey(id, 1, 2), "BodyFragments/01234567-89ab-cdef-0123-456789abcdef/1/2"},
		{hostKey("h"), `MessageBoxMeta/"host"/"h"`},
		{seqKey(), `MessageBoxMeta/"seq"`},
		{nil, "(empty)"},
	} {
		require.Equal(t, tc.want, FormatKey(tc.key))
	}
}
