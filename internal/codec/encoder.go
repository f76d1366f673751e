package codec

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/google/uuid"
)

// Encoder appends the fields of one value to a byte slice. Write the
// version first with Version, then the fields; Encoded returns the result.
//
// The zero Encoder is ready to use and appends to a nil slice. An Encoder is
// not safe for concurrent use.
type Encoder struct {
	buf []byte
}

// NewEncoder returns an Encoder that appends to dst. Pass buf[:0] to reuse
// a buffer's capacity.
func NewEncoder(dst []byte) *Encoder {
	return &Encoder{buf: dst}
}

// Reset makes e append to dst from now on, forgetting what it held. Pass
// buf[:0] to reuse a buffer's capacity.
func (e *Encoder) Reset(dst []byte) {
	e.buf = dst
}

// Encoded returns the bytes written so far, including whatever the slice
// given to NewEncoder or Reset already held. It aliases the encoder's
// buffer: writing more fields leaves its contents alone, but don't append to
// it while e is still in use, and a Reset to the same buffer lets later
// writes overwrite it.
func (e *Encoder) Encoded() []byte {
	return e.buf
}

// Len returns len(e.Encoded()).
func (e *Encoder) Len() int {
	return len(e.buf)
}

// Version writes the format-version byte that starts every value. It panics
// if v is 0: version 0 is reserved so that zeroed or empty data never
// decodes, and writing it is a bug in the caller.
func (e *Encoder) Version(v byte) {
	if v == 0 {
		panic("codec: format version 0 is reserved")
	}
	e.buf = append(e.buf, v)
}

// Uvarint writes v as a varint of 1 to 10 bytes; small values are short.
func (e *Encoder) Uvarint(v uint64) {
	e.buf = binary.AppendUvarint(e.buf, v)
}

// Varint writes v as a zig-zag varint, so small negative values are short
// too.
func (e *Encoder) Varint(v int64) {
	e.buf = binary.AppendVarint(e.buf, v)
}

// Uint64 writes v as 8 bytes. Prefer it to Uvarint for values that are
// usually large, such as hashes.
func (e *Encoder) Uint64(v uint64) {
	e.buf = binary.LittleEndian.AppendUint64(e.buf, v)
}

// Float64 writes the IEEE 754 bits of v as 8 bytes, so every value,
// including NaN payloads and -0, decodes bit for bit.
func (e *Encoder) Float64(v float64) {
	e.Uint64(math.Float64bits(v))
}

// Bytes writes len(b) as a uvarint and then b. A nil and an empty slice are
// written alike.
func (e *Encoder) Bytes(b []byte) {
	e.buf = binary.AppendUvarint(e.buf, uint64(len(b)))
	e.buf = append(e.buf, b...)
}

// String writes s exactly as Bytes writes []byte(s), without converting it.
func (e *Encoder) String(s string) {
	e.buf = binary.AppendUvarint(e.buf, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// Bool writes v as one byte, 0 or 1.
func (e *Encoder) Bool(v bool) {
	var b byte
	if v {
		b = 1
	}
	e.buf = append(e.buf, b)
}

// UUID writes the 16 bytes of id.
func (e *Encoder) UUID(id uuid.UUID) {
	e.buf = append(e.buf, id[:]...)
}

// minTime and maxTime bound the instants Time can write exactly. The lower
// bound is one nanosecond above what int64 nanoseconds hold because its
// encoding, 1 + zigzag(math.MinInt64), would overflow the uvarint.
var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64)
)

// Time writes t as a uvarint: 0 for the zero Time, so that it decodes back
// as the zero Time (time.Time.UnixNano is undefined for it), and otherwise 1 + the zig-zag of t.UnixNano, which is
// 9 bytes for current dates. Neither location nor monotonic clock reading
// is kept.
//
// Instants other than the zero Time that lie outside
// 1677-09-21T00:12:43.145224193Z..2262-04-11T23:47:16.854775807Z are clamped
// to the nearer end, because int64 nanoseconds cannot hold them; use
// Varint of t.Unix() for fields that need a wider range.
func (e *Encoder) Time(t time.Time) {
	if t.IsZero() {
		e.buf = append(e.buf, 0)
		return
	}
	var n int64
	switch {
	case t.Before(minTime):
		n = math.MinInt64 + 1
	case t.After(maxTime):
		n = math.MaxInt64
	default:
		n = t.UnixNano()
	}
	e.buf = binary.AppendUvarint(e.buf, zigzag(n)+1)
}

// zigzag maps signed to unsigned so that values near zero stay small, as
// binary.AppendVarint does.
func zigzag(n int64) uint64 {
	return uint64(n<<1) ^ uint64(n>>63)
}

// unzigzag inverts zigzag.
func unzigzag(u uint64) int64 {
	return int64(u>>1) ^ -int64(u&1)
}
