package tracking

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/codec"
	"github.com/stretchr/testify/require"
)

// FuzzDecodeValues feeds arbitrary bytes to every stored-value decoder.
// They must never panic, must fail only with ErrCorruption (or a version
// error that also wraps it), and whatever decodes must re-encode to the
// same bytes: each value has exactly one encoding.
func FuzzDecodeValues(f *testing.F) {
	var e codec.Encoder
	seed := func(encode func(e *codec.Encoder)) {
		e.Reset(nil)
		encode(&e)
		f.Add(append([]byte(nil), e.Encoded()...))
	}
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	seed((&instanceRow{service: "S", state: StateCompleted, start: 1, end: 2, last: 2, startedAt: at, endedAt: at, lastError: "x"}).encode)
	seed((&histRow{kind: InstanceSuspended, at: at, host: "h", error: "e"}).encode)
	seed((&eventRow{kind: MessageSent, at: at, messageID: m1, port: "P", size: 7, direction: DirectionOut,
		properties: []Property{{Name: "n", Value: "v"}}, hasBody: true}).encode)
	seed(func(e *codec.Encoder) {
		encodeBody(e, &Body{Context: []Property{{Name: "a", Value: "b"}}, Parts: []Part{{Name: "body", ContentType: "text/xml", Data: []byte("<x/>")}}})
	})
	seed((&progress{nextBatch: 3, batches: 3, instances: 10, rows: 40, lastRun: 99}).encode)
	f.Add([]byte{})
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		// check: a failure is corruption; a success re-encodes to bytes
		// that decode to the same value (the codec accepts non-minimal
		// varints, so the bytes themselves may differ).
		check := func(err error, reencode func(e *codec.Encoder), redecode func([]byte) (any, error), got any) {
			if err != nil {
				require.True(t, IsCorruption(err), "%v", err)
				return
			}
			var e codec.Encoder
			reencode(&e)
			again, err := redecode(e.Encoded())
			require.NoError(t, err)
			require.Equal(t, got, again)
		}
		ir, err := decodeInstance(b)
		check(err, ir.encode, func(b []byte) (any, error) { return decodeInstance(b) }, ir)
		hr, err := decodeHistory(b)
		check(err, hr.encode, func(b []byte) (any, error) { return decodeHistory(b) }, hr)
		er, err := decodeEvent(b)
		check(err, er.encode, func(b []byte) (any, error) { return decodeEvent(b) }, er)
		body, err := decodeBody(b)
		check(err, func(e *codec.Encoder) { encodeBody(e, &body) }, func(b []byte) (any, error) { return decodeBody(b) }, body)
		pr, err := decodeProgress(b)
		check(err, pr.encode, func(b []byte) (any, error) { return decodeProgress(b) }, pr)
	})
}

// FuzzDecodeArchive feeds arbitrary decompressed archive contents to the
// archive decoder and the index rebuild: no panics, only ErrCorruption or
// ErrFormatTooNew.
func FuzzDecodeArchive(f *testing.F) {
	var e codec.Encoder
	(&eventRow{kind: MessageReceived, messageID: m1, port: "P"}).encode(&e)
	b := &batch{units: []unit{{rows: []kv{{eventKey(nil, orchID, 5), e.Encoded()}}}}}
	var buf bytes.Buffer
	require.NoError(f, encodeArchivePlain(&buf, b))
	f.Add(buf.Bytes())
	f.Add([]byte(archiveMagic))
	f.Add(append([]byte(archiveMagic), formatVersion, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		err := decodeArchive(data, func(k, v []byte) error {
			return indexArchived(k, v, func([]byte) error { return nil })
		})
		if err != nil {
			require.True(t, IsCorruption(err) || errors.Is(err, ErrFormatTooNew), "%v", err)
		}
	})
}
