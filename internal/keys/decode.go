package keys

import (
	"bytes"
	"encoding/binary"
	"math"
	"time"

	"github.com/google/uuid"
)

// Each Decode function reads one component from the front of b and returns
// its value and the bytes after it (rest aliases b). On error the value is
// the zero value, rest is nil and the error wraps ErrCorrupt.

// DecodeTable reads the table prefix written by AppendTable. Any byte is
// accepted: whether the table is known is the caller's concern.
func DecodeTable(b []byte) (t Table, rest []byte, err error) {
	if len(b) < 1 {
		return 0, nil, corruptf("table: empty key")
	}
	return Table(b[0]), b[1:], nil
}

// DecodeUint64 reads a component written by AppendUint64.
func DecodeUint64(b []byte) (v uint64, rest []byte, err error) {
	if len(b) < 8 {
		return 0, nil, corruptf("uint64: need 8 bytes, have %d", len(b))
	}
	return binary.BigEndian.Uint64(b), b[8:], nil
}

// DecodeUint64Desc reads a component written by AppendUint64Desc.
func DecodeUint64Desc(b []byte) (v uint64, rest []byte, err error) {
	if len(b) < 8 {
		return 0, nil, corruptf("uint64 desc: need 8 bytes, have %d", len(b))
	}
	return ^binary.BigEndian.Uint64(b), b[8:], nil
}

// DecodeInt64 reads a component written by AppendInt64.
func DecodeInt64(b []byte) (v int64, rest []byte, err error) {
	if len(b) < 8 {
		return 0, nil, corruptf("int64: need 8 bytes, have %d", len(b))
	}
	return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)), b[8:], nil
}

// DecodeInt64Desc reads a component written by AppendInt64Desc.
func DecodeInt64Desc(b []byte) (v int64, rest []byte, err error) {
	if len(b) < 8 {
		return 0, nil, corruptf("int64 desc: need 8 bytes, have %d", len(b))
	}
	return int64(^binary.BigEndian.Uint64(b) ^ (1 << 63)), b[8:], nil
}

// DecodeUUID reads a component written by AppendUUID.
func DecodeUUID(b []byte) (id uuid.UUID, rest []byte, err error) {
	if len(b) < len(id) {
		return uuid.UUID{}, nil, corruptf("uuid: need 16 bytes, have %d", len(b))
	}
	copy(id[:], b)
	return id, b[len(id):], nil
}

// DecodeTime reads a component written by AppendTime. The result is in UTC,
// so decoding is independent of the machine's time zone; compare it with
// time.Time.Equal. The smallest encoded time decodes as the zero Time (see
// AppendTime).
func DecodeTime(b []byte) (t time.Time, rest []byte, err error) {
	n, rest, err := DecodeInt64(b)
	if err != nil {
		return time.Time{}, nil, corruptf("time: need 8 bytes, have %d", len(b))
	}
	return nanosTime(n), rest, nil
}

// DecodeTimeDesc reads a component written by AppendTimeDesc, with the same
// results as DecodeTime.
func DecodeTimeDesc(b []byte) (t time.Time, rest []byte, err error) {
	n, rest, err := DecodeInt64Desc(b)
	if err != nil {
		return time.Time{}, nil, corruptf("time desc: need 8 bytes, have %d", len(b))
	}
	return nanosTime(n), rest, nil
}

// nanosTime inverts timeNanos; math.MinInt64 stands for every instant at or
// below the range, of which the zero Time is the one worth getting back.
func nanosTime(n int64) time.Time {
	if n == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// DecodeBytes reads a component written by AppendBytes or AppendString,
// appends its unescaped contents to dst and returns the extended slice as v.
// The value never aliases b (escapes must be removed), so pass dst[:0] of a
// reused buffer to decode without allocating. An empty component with a nil
// dst gives a nil v.
//
// Only the exact encoding is accepted: a 0x00 must be followed by 0xFF or by
// the terminator 0x01, and the terminator must be present.
func DecodeBytes(dst, b []byte) (v, rest []byte, err error) {
	return decodeEscaped(dst, b, "bytes")
}

// decodeEscaped implements DecodeBytes; what names the component type in
// errors.
func decodeEscaped(dst, b []byte, what string) (v, rest []byte, err error) {
	rest = b
	for {
		i := bytes.IndexByte(rest, escape)
		if i < 0 || i+1 >= len(rest) {
			return nil, nil, corruptf("%s: missing terminator", what)
		}
		dst = append(dst, rest[:i]...)
		switch rest[i+1] {
		case terminator:
			return dst, rest[i+2:], nil
		case escapedNul:
			dst = append(dst, 0)
			rest = rest[i+2:]
		default:
			return nil, nil, corruptf("%s: invalid escape 0x00 0x%02x at offset %d",
				what, rest[i+1], len(b)-len(rest)+i)
		}
	}
}

// DecodeString reads a component written by AppendString or AppendBytes.
// A string with no 0x00 in it costs one allocation.
func DecodeString(b []byte) (s string, rest []byte, err error) {
	// Fast path: the first 0x00 is the terminator, so nothing is escaped
	// and the string can be taken straight from b.
	if i := bytes.IndexByte(b, escape); i >= 0 && i+1 < len(b) && b[i+1] == terminator {
		return string(b[:i]), b[i+2:], nil
	}
	v, rest, err := decodeEscaped(nil, b, "string")
	if err != nil {
		return "", nil, err
	}
	return string(v), rest, nil
}
