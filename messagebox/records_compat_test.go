package messagebox

import (
	"testing"
	"time"

	"github.com/biztier/biztier/internal/codec"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestRecords_Version1 decodes records written before service instances
// (entry, suspended and subscription format 1) and round-trips the new
// fields.
func TestRecords_Version1(t *testing.T) {
	msgID, subID := uuid.New(), uuid.New()
	e := codec.NewEncoder(nil)
	e.Version(1)
	e.UUID(msgID)
	e.UUID(subID)
	e.Uvarint(flagBackup)
	e.Uvarint(2)
	e.Uvarint(3)
	e.Varint(42)
	e.String("why")
	r, err := decodeEntry(e.Encoded())
	require.NoError(t, err)
	require.Equal(t, entryRec{msg: msgID, sub: subID, flags: flagBackup, attempts: 2, deliveries: 3, at: 42, reason: "why"}, r)

	e = codec.NewEncoder(nil)
	e.Version(1)
	e.String("send")
	e.String("h")
	e.Uvarint(uint64(Activation))
	e.UUID(uuid.Nil)
	e.Uvarint(7)
	e.Uvarint(3)
	e.Varint(int64(time.Minute))
	e.String("")
	e.Uvarint(1)
	e.Uvarint(1)
	e.String(typeProp)
	e.Uvarint(uint64(OpEqual))
	encodeValue(e, String("x"))
	sub, err := decodeSubscription(subID, e.Encoded())
	require.NoError(t, err)
	require.Equal(t, "send", sub.Name)
	require.Empty(t, sub.Service)
	require.Nil(t, sub.Window)

	s := Subscription{Name: "o", Host: "h", Kind: Activation, Priority: 7, Retry: &RetryPolicy{}, Predicate: Or(typed("x")),
		Service: "Svc", Correlation: []string{"a", "b"}, Ordered: OrderedSkip, Window: &ServiceWindow{Start: time.Hour, Stop: 2 * time.Hour}}
	got, err := decodeSubscription(subID, encodeSubscription(&s))
	require.NoError(t, err)
	s.ID = subID
	require.Equal(t, s, *got)

	inst := uuid.New()
	r2, err := decodeSuspended(encodeSuspended(&entryRec{msg: msgID, inst: inst, reason: "z"}))
	require.NoError(t, err)
	require.Equal(t, inst, r2.inst)
}
