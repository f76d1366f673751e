package wal

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadFrame_RoundTripAndDamage(t *testing.T) {
	var stream []byte
	var want []Frame
	prev := uint32(0)
	for i := range 5 {
		f := Frame{Type: TypeCommit, LSN: uint64(10 + i), Epoch: 2, Time: int64(i), PrevCRC: prev, Payload: bytes.Repeat([]byte{byte(i)}, i*3000)}
		stream = EncodeFrame(stream, &f)
		prev = f.CRC
		want = append(want, f)
	}
	r := bytes.NewReader(stream)
	var buf []byte
	for _, w := range want {
		f, b, err := ReadFrame(r, buf, 1<<20)
		require.NoError(t, err)
		buf = b
		require.Equal(t, w.LSN, f.LSN)
		require.Equal(t, w.CRC, f.CRC)
		require.Equal(t, w.PrevCRC, f.PrevCRC)
		require.Equal(t, w.Payload, f.Payload)
	}
	_, _, err := ReadFrame(r, buf, 1<<20)
	require.ErrorIs(t, err, io.EOF)

	for _, cut := range []int{1, frameHeaderSize - 1, frameHeaderSize + 1, len(stream) - 1} {
		r := bytes.NewReader(stream[:cut])
		var err error
		for err == nil {
			_, _, err = ReadFrame(r, nil, 1<<20)
		}
		require.ErrorIs(t, err, ErrCorrupt, "stream cut at %d", cut)
	}
	bad := bytes.Clone(stream)
	bad[len(bad)-100] ^= 1 // in the last frame's payload
	br := bytes.NewReader(bad)
	for err = nil; err == nil; {
		_, _, err = ReadFrame(br, nil, 1<<20)
	}
	require.ErrorIs(t, err, ErrCorrupt)
}
