package codec

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestEncoder pins the bytes of every field type: they are an on-disk
// format, so a change here is a format change.
func TestEncoder(t *testing.T) {
	id := uuid.MustParse("00112233-4455-6677-8899-aabbccddeeff")
	tests := []struct {
		name  string
		write func(e *Encoder)
		want  []byte
	}{
		{"version", func(e *Encoder) { e.Version(3) }, []byte{3}},
		{"uvarint/0", func(e *Encoder) { e.Uvarint(0) }, []byte{0}},
		{"uvarint/300", func(e *Encoder) { e.Uvarint(300) }, []byte{0xAC, 0x02}},
		{"uvarint/max", func(e *Encoder) { e.Uvarint(math.MaxUint64) },
			[]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}},
		{"varint/-1", func(e *Encoder) { e.Varint(-1) }, []byte{0x01}},
		{"varint/1", func(e *Encoder) { e.Varint(1) }, []byte{0x02}},
		{"uint64", func(e *Encoder) { e.Uint64(0x0102030405060708) }, []byte{8, 7, 6, 5, 4, 3, 2, 1}},
		{"float64/1", func(e *Encoder) { e.Float64(1) }, []byte{0, 0, 0, 0, 0, 0, 0xF0, 0x3F}},
		{"bytes/nil", func(e *Encoder) { e.Bytes(nil) }, []byte{0}},
		{"bytes", func(e *Encoder) { e.Bytes([]byte{0xAA, 0xBB}) }, []byte{2, 0xAA, 0xBB}},
		{"string", func(e *Encoder) { e.String("hi") }, []byte{2, 'h', 'i'}},
		{"bool/false", func(e *Encoder) { e.Bool(false) }, []byte{0}},
		{"bool/true", func(e *Encoder) { e.Bool(true) }, []byte{1}},
		{"uuid", func(e *Encoder) { e.UUID(id) }, id[:]},
		{"time/zero", func(e *Encoder) { e.Time(time.Time{}) }, []byte{0}},
		{"time/epoch", func(e *Encoder) { e.Time(time.Unix(0, 0)) }, []byte{1}},
		{"time/epoch+1ns", func(e *Encoder) { e.Time(time.Unix(0, 1)) }, []byte{3}},
		{"time/epoch-1ns", func(e *Encoder) { e.Time(time.Unix(0, -1)) }, []byte{2}},
		{"sequence", func(e *Encoder) { e.Version(1); e.Bool(true); e.String("a") }, []byte{1, 1, 1, 'a'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Encoder
			tt.write(&e)
			require.Equal(t, tt.want, e.Encoded())
			require.Equal(t, len(tt.want), e.Len())
		})
	}
}

func TestEncoder_appends(t *testing.T) {
	e := NewEncoder([]byte{0xEE})
	e.Version(1)
	require.Equal(t, []byte{0xEE, 1}, e.Encoded())

	buf := make([]byte, 0, 16)
	e.Reset(buf)
	e.Version(2)
	require.Equal(t, []byte{2}, e.Encoded())
	require.Equal(t, &buf[:1][0], &e.Encoded()[0], "Reset should reuse the buffer")
}

func TestEncoder_VersionZeroPanics(t *testing.T) {
	var e Encoder
	require.Panics(t, func() { e.Version(0) })
}

// TestDecoder_corrupt checks that malformed input fails with ErrCorrupt,
// returns zero values, and that the error sticks for later fields.
func TestDecoder_corrupt(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		read func(d *Decoder) any
	}{
		{"uvarint/empty", nil, func(d *Decoder) any { return d.Uvarint() }},
		{"uvarint/truncated", []byte{0x80}, func(d *Decoder) any { return d.Uvarint() }},
		{"uvarint/overflow", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02}, func(d *Decoder) any { return d.Uvarint() }},
		{"uvarint/too long", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, func(d *Decoder) any { return d.Uvarint() }},
		{"varint/truncated", []byte{0xFF}, func(d *Decoder) any { return d.Varint() }},
		{"varint/overflow", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02}, func(d *Decoder) any { return d.Varint() }},
		{"uint64/short", make([]byte, 7), func(d *Decoder) any { return d.Uint64() }},
		{"float64/short", make([]byte, 7), func(d *Decoder) any { return d.Float64() }},
		{"bytes/no length", nil, func(d *Decoder) any { return d.Bytes() }},
		{"bytes/short", []byte{3, 'a', 'b'}, func(d *Decoder) any { return d.Bytes() }},
		{"bytes/huge length", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, func(d *Decoder) any { return d.Bytes() }},
		{"bytescopy/short", []byte{3, 'a'}, func(d *Decoder) any { return d.BytesCopy() }},
		{"text/short", []byte{3, 'a'}, func(d *Decoder) any { return d.Text() }},
		{"bool/empty", nil, func(d *Decoder) any { return d.Bool() }},
		{"bool/2", []byte{2}, func(d *Decoder) any { return d.Bool() }},
		{"uuid/short", make([]byte, 15), func(d *Decoder) any { return d.UUID() }},
		{"time/truncated", []byte{0x80}, func(d *Decoder) any { return d.Time() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tt.in)
			got := tt.read(d)
			require.ErrorIs(t, d.Err(), ErrCorrupt)
			require.Zero(t, got)

			// Sticky: later reads return zero values and keep the first error.
			first := d.Err()
			require.Zero(t, d.Uvarint())
			require.Nil(t, d.Bytes())
			require.Equal(t, first, d.Err())
			require.Equal(t, first, d.Finish())
		})
	}
}

func TestDecoder_ExpectVersion(t *testing.T) {
	tests := []struct {
		name        string
		in          []byte
		max         byte
		want        byte
		wantVersion bool // error wraps ErrVersion
		wantCorrupt bool // error wraps ErrCorrupt
	}{
		{"current", []byte{2}, 2, 2, false, false},
		{"older", []byte{1}, 2, 1, false, false},
		{"newer", []byte{3}, 2, 3, true, false},
		{"zero", []byte{0}, 2, 0, true, true},
		{"empty", nil, 2, 0, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tt.in)
			v, err := d.ExpectVersion(tt.max)
			require.Equal(t, tt.want, v)
			require.Equal(t, tt.wantVersion, errors.Is(err, ErrVersion), "err %v", err)
			require.Equal(t, tt.wantCorrupt, errors.Is(err, ErrCorrupt), "err %v", err)
			require.Equal(t, err, d.Err())
			if err == nil {
				require.NoError(t, d.Finish())
			}
		})
	}
	require.Panics(t, func() { _, _ = NewDecoder([]byte{1}).ExpectVersion(0) })
}

func TestDecoder_Finish(t *testing.T) {
	d := NewDecoder([]byte{1, 5, 0xAA})
	_, err := d.ExpectVersion(1)
	require.NoError(t, err)
	require.Equal(t, uint64(5), d.Uvarint())
	require.Equal(t, 1, d.Remaining())
	require.ErrorIs(t, d.Finish(), ErrCorrupt)
	require.ErrorIs(t, d.Err(), ErrCorrupt, "Finish's error should stick")

	d.Reset([]byte{1})
	require.NoError(t, d.Err(), "Reset should clear the error")
	require.True(t, d.Bool())
	require.NoError(t, d.Finish())

	var zero Decoder
	require.NoError(t, zero.Finish(), "the zero Decoder reads an empty value")
}

// TestDecoder_Bytes checks the aliasing contract of Bytes and the copy
// contract of BytesCopy.
func TestDecoder_Bytes(t *testing.T) {
	in := []byte{2, 'a', 'b', 2, 'c', 'd', 0, 0xEE}
	d := NewDecoder(in)
	alias := d.Bytes()
	cp := d.BytesCopy()
	require.Nil(t, d.Bytes(), "empty field reads as nil")
	require.Equal(t, []byte("ab"), alias)
	require.Equal(t, []byte("cd"), cp)
	require.Equal(t, 2, cap(alias), "capacity should be capped at the length")

	in[1], in[4] = 'X', 'Y'
	require.Equal(t, []byte("Xb"), alias, "Bytes should alias the input")
	require.Equal(t, []byte("cd"), cp, "BytesCopy should not alias the input")

	_ = append(alias, 'Z')
	require.Equal(t, byte(2), in[3], "appending to Bytes' result must not overwrite the input")
}

func TestDecoder_Time(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"zero", time.Time{}, time.Time{}},
		{"epoch", time.Unix(0, 0), time.Unix(0, 0)},
		{"now-ish", time.Unix(1_700_000_000, 987654321), time.Unix(1_700_000_000, 987654321)},
		{"zoned", time.Date(2024, 5, 1, 12, 0, 0, 0, time.FixedZone("CEST", 7200)), time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},
		{"max", time.Unix(0, math.MaxInt64), time.Unix(0, math.MaxInt64)},
		{"min", time.Unix(0, math.MinInt64+1), time.Unix(0, math.MinInt64+1)},
		{"below range clamps", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, math.MinInt64+1)},
		{"int64 min clamps", time.Unix(0, math.MinInt64), time.Unix(0, math.MinInt64+1)},
		{"above range clamps", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, math.MaxInt64)},
		{"year 1 but not zero", time.Time{}.Add(1), time.Unix(0, math.MinInt64+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Encoder
			e.Time(tt.in)
			d := NewDecoder(e.Encoded())
			got := d.Time()
			require.NoError(t, d.Finish())
			require.True(t, tt.want.Equal(got), "got %v, want %v", got, tt.want)
			require.Equal(t, tt.want.IsZero(), got.IsZero())
			if !got.IsZero() {
				require.Equal(t, time.UTC, got.Location())
			}
		})
	}
}

// TestAllocs guards the allocation contract: encoding into a reused buffer
// and decoding fixed-size and aliased fields allocate nothing.
func TestAllocs(t *testing.T) {
	id := uuid.New()
	now := time.Now()
	body := []byte("payload")
	var e Encoder
	buf := make([]byte, 0, 128)
	var d Decoder
	allocs := testing.AllocsPerRun(100, func() {
		e.Reset(buf[:0])
		e.Version(1)
		e.Uvarint(300)
		e.Varint(-5)
		e.Uint64(7)
		e.Float64(1.5)
		e.Bytes(body)
		e.String("name")
		e.Bool(true)
		e.UUID(id)
		e.Time(now)

		d.Reset(e.Encoded())
		_, _ = d.ExpectVersion(1)
		d.Uvarint()
		d.Varint()
		d.Uint64()
		d.Float64()
		d.Bytes()
		d.Bytes()
		d.Bool()
		d.UUID()
		d.Time()
		if d.Finish() != nil {
			panic(d.Err())
		}
	})
	require.Zero(t, allocs)
}
