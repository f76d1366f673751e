package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"
)

// Decoder reads the fields of one value in the order they were written.
//
// Errors are sticky: the first failure is kept, and from then on every
// method returns the zero value without reading, so a caller decodes all
// fields and checks Err (or Finish) once at the end. Every error wraps
// ErrCorrupt, except that ExpectVersion may return ErrVersion.
//
// The zero Decoder reads an empty value. A Decoder is not safe for
// concurrent use.
type Decoder struct {
	buf []byte
	off int   // next byte to read
	err error // first error, sticky
}

// NewDecoder returns a Decoder reading b. b must not be modified while the
// Decoder or any slice returned by Bytes is in use.
func NewDecoder(b []byte) *Decoder {
	return &Decoder{buf: b}
}

// Reset makes d read b from the start and clears its error.
func (d *Decoder) Reset(b []byte) {
	*d = Decoder{buf: b}
}

// Err returns the first error met, or nil.
func (d *Decoder) Err() error {
	return d.err
}

// Remaining returns the number of bytes not read yet.
func (d *Decoder) Remaining() int {
	return len(d.buf) - d.off
}

// Finish returns the first error met or, if there was none, an error
// wrapping ErrCorrupt when bytes are left over: a value that decodes but has
// a tail is not the value that was written. Call it after the last field.
func (d *Decoder) Finish() error {
	if d.err == nil && d.off != len(d.buf) {
		d.fail(corruptf("%d bytes left over at offset %d", len(d.buf)-d.off, d.off))
	}
	return d.err
}

// fail records err unless an error is already recorded.
func (d *Decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

// truncated records that a field of the named type did not fit.
func (d *Decoder) truncated(what string) {
	d.fail(corruptf("%s at offset %d: truncated", what, d.off))
}

// ExpectVersion reads the format-version byte that starts every value and
// returns it. It fails, returning the version read (or 0) and the sticky
// error, if the value is empty (ErrCorrupt), the version is newer than max,
// the newest the caller knows (ErrVersion), or it is 0, which is never
// written (ErrVersion and ErrCorrupt). ExpectVersion panics if max is 0,
// since no value could ever pass.
func (d *Decoder) ExpectVersion(max byte) (byte, error) {
	if max == 0 {
		panic("codec: ExpectVersion needs max >= 1")
	}
	if d.err != nil {
		return 0, d.err
	}
	if d.off >= len(d.buf) {
		d.truncated("version")
		return 0, d.err
	}
	v := d.buf[d.off]
	switch {
	case v == 0:
		d.fail(fmt.Errorf("%w (%w): version 0 at offset %d is never written", ErrVersion, ErrCorrupt, d.off))
		return 0, d.err
	case v > max:
		d.fail(fmt.Errorf("%w: version %d, newest known is %d", ErrVersion, v, max))
		return v, d.err
	}
	d.off++
	return v, nil
}

// Uvarint reads a field written by Encoder.Uvarint.
func (d *Decoder) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf[d.off:])
	switch {
	case n == 0:
		d.truncated("uvarint")
		return 0
	case n < 0:
		d.fail(corruptf("uvarint at offset %d: overflows 64 bits", d.off))
		return 0
	}
	d.off += n
	return v
}

// Varint reads a field written by Encoder.Varint.
func (d *Decoder) Varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf[d.off:])
	switch {
	case n == 0:
		d.truncated("varint")
		return 0
	case n < 0:
		d.fail(corruptf("varint at offset %d: overflows 64 bits", d.off))
		return 0
	}
	d.off += n
	return v
}

// Uint64 reads a field written by Encoder.Uint64.
func (d *Decoder) Uint64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.buf)-d.off < 8 {
		d.truncated("uint64")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.buf[d.off:])
	d.off += 8
	return v
}

// Float64 reads a field written by Encoder.Float64.
func (d *Decoder) Float64() float64 {
	if d.err != nil {
		return 0
	}
	if len(d.buf)-d.off < 8 {
		d.truncated("float64")
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(d.buf[d.off:]))
	d.off += 8
	return v
}

// Bytes reads a field written by Encoder.Bytes or Encoder.String without
// copying: the result aliases the decoder's input, so it is valid only as
// long as that input is (for a Pebble Get, until the closer is closed; for an
// iterator, until it moves). Its capacity is capped at its length, so
// appending to it copies rather than overwriting the input. An empty field
// reads as nil. Use BytesCopy to keep the bytes.
func (d *Decoder) Bytes() []byte {
	n := d.length("bytes")
	if n == 0 {
		return nil
	}
	b := d.buf[d.off : d.off+n : d.off+n]
	d.off += n
	return b
}

// BytesCopy is like Bytes but returns a new slice the caller owns.
func (d *Decoder) BytesCopy() []byte {
	n := d.length("bytes")
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	copy(b, d.buf[d.off:])
	d.off += n
	return b
}

// Text reads a field written by Encoder.String or Encoder.Bytes into a new
// string. It is Encoder.String's counterpart but not named String, because
// a String() string method would make Decoder a fmt.Stringer and printing a
// Decoder would then consume a field.
func (d *Decoder) Text() string {
	n := d.length("string")
	if n == 0 {
		return ""
	}
	s := string(d.buf[d.off : d.off+n])
	d.off += n
	return s
}

// length reads the uvarint length of a bytes or string field and checks
// that that many bytes follow. It returns 0 on error. Checking before use
// matters: a corrupt length must not become a huge allocation.
func (d *Decoder) length(what string) int {
	start := d.off
	n := d.Uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.buf)-d.off) {
		d.fail(corruptf("%s at offset %d: length %d, only %d bytes left", what, start, n, len(d.buf)-d.off))
		return 0
	}
	return int(n)
}

// Bool reads a field written by Encoder.Bool. A byte other than 0 or 1 is
// corruption rather than true, so a damaged flag is noticed.
func (d *Decoder) Bool() bool {
	if d.err != nil {
		return false
	}
	if d.off >= len(d.buf) {
		d.truncated("bool")
		return false
	}
	switch b := d.buf[d.off]; b {
	case 0, 1:
		d.off++
		return b == 1
	default:
		d.fail(corruptf("bool at offset %d: byte 0x%02x", d.off, b))
		return false
	}
}

// UUID reads a field written by Encoder.UUID.
func (d *Decoder) UUID() uuid.UUID {
	var id uuid.UUID
	if d.err != nil {
		return id
	}
	if len(d.buf)-d.off < len(id) {
		d.truncated("uuid")
		return id
	}
	d.off += copy(id[:], d.buf[d.off:])
	return id
}

// Time reads a field written by Encoder.Time. The zero Time reads back as
// the zero Time; any other instant reads back in UTC, so compare with
// time.Time.Equal.
func (d *Decoder) Time() time.Time {
	u := d.Uvarint()
	if d.err != nil || u == 0 {
		return time.Time{}
	}
	return time.Unix(0, unzigzag(u-1)).UTC()
}
