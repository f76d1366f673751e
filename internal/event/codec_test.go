package event

import (
	"errors"
	"testing"

	"github.com/biztier/biztier/internal/sentinel"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func sample() []Event {
	return []Event{
		{Kind: Published, At: 1_700_000_000_000_000_001, MessageID: uuid.New(), Instance: uuid.New(),
			Message: &Message{Size: 2048, ReceivePort: "RP", Adapter: "FILE", URL: `C:\in\*.xml`,
				Properties: []Property{{Name: "ns#OrderID", Value: "42"}},
				Body: &Body{Context: []Property{{Name: "ns#OrderID", Value: "42"}, {Name: "x", Value: ""}},
					Parts: []Part{{Name: "body", ContentType: "text/xml", Data: []byte("<a/>")}, {Name: "att"}}}}},
		{Kind: Routed, At: -5, MessageID: uuid.New(), Entry: 7, Subscription: uuid.New(), Port: "SP", Host: "H"},
		{Kind: Delivered, Entry: 1 << 60, Service: "Orders.Process", Activation: true},
		{Kind: Suspended, Reason: "too many retries", Message: &Message{}},
		{Kind: InstanceEnded, Instance: uuid.New()},
	}
}

func TestCodec_RoundTrip(t *testing.T) {
	for _, evs := range [][]Event{nil, sample(), sample()[1:2]} {
		rec := Encode(nil, evs)
		got, err := Decode(nil, rec)
		require.NoError(t, err)
		if len(evs) == 0 {
			require.Empty(t, got)
			continue
		}
		require.Equal(t, evs, got)
	}
	// Decode appends.
	rec := Encode(nil, sample())
	got, err := Decode(sample()[:1], rec)
	require.NoError(t, err)
	require.Len(t, got, 1+len(sample()))
}

func TestCodec_RefusesDamage(t *testing.T) {
	rec := Encode(nil, sample())
	for _, bad := range [][]byte{
		nil,
		{9},                                // unknown version
		rec[:len(rec)-1],                   // truncated
		append(rec[:len(rec):len(rec)], 0), // trailing byte
		{version, 1, 0},                    // kind 0
		{version, 1, byte(maxKind) + 1},
	} {
		_, err := Decode(nil, bad)
		require.Error(t, err, "%x", bad)
		require.True(t, errors.Is(err, ErrCorrupt) && errors.Is(err, sentinel.ErrCorruption), "%v", err)
	}
}

func TestKind_String(t *testing.T) {
	require.Equal(t, "Routed", Routed.String())
	require.Equal(t, "Kind(99)", Kind(99).String())
}

// FuzzDecode: any input decodes or fails with ErrCorrupt, never panics or
// allocates beyond its size; what decodes encodes back to an equal record.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(nil, sample()))
	f.Add(Encode(nil, nil))
	f.Add([]byte{version, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, rec []byte) {
		evs, err := Decode(nil, rec)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		again, err := Decode(nil, Encode(nil, evs))
		if err != nil {
			t.Fatal(err)
		}
		require.Equal(t, len(evs), len(again))
	})
}
