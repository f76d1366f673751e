package keys

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Bytes of the escape scheme for byte and string components.
const (
	escape     = 0x00 // starts an escape or the terminator
	escapedNul = 0xFF // escape, 0xFF: a literal 0x00 in the component
	terminator = 0x01 // escape, 0x01: end of the component
)

// minTime and maxTime bound the instants whose UnixNano fits an int64.
// time.Time.UnixNano is undefined outside them, so AppendTime clamps.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// AppendTable appends the table prefix t to dst and returns the extended
// slice. Every key starts with it.
func AppendTable(dst []byte, t Table) []byte {
	return append(dst, byte(t))
}

// AppendUint64 appends v as 8 bytes big-endian, which sorts in numeric order.
func AppendUint64(dst []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(dst, v)
}

// AppendUint64Desc appends v so that larger values sort first. Read it back
// with DecodeUint64Desc.
func AppendUint64Desc(dst []byte, v uint64) []byte {
	return binary.BigEndian.AppendUint64(dst, ^v)
}

// AppendInt64 appends v as 8 bytes big-endian with the sign bit flipped.
// Two's complement would sort negative numbers after positive ones; flipping
// the sign bit moves them below zero while keeping each half in order.
func AppendInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^(1<<63))
}

// AppendInt64Desc appends v so that larger values sort first. Read it back
// with DecodeInt64Desc.
func AppendInt64Desc(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, ^(uint64(v) ^ (1 << 63)))
}

// AppendBytes appends b so that byte strings sort lexicographically and a
// string sorts before its extensions: each 0x00 in b is written as 0x00 0xFF
// and the component ends with 0x00 0x01. The terminator sorts below every
// byte a longer string could continue with (0x00 0xFF or 0x01..0xFF), and it
// makes the component self delimiting so more components may follow.
func AppendBytes(dst, b []byte) []byte {
	for {
		i := bytes.IndexByte(b, escape)
		if i < 0 {
			break
		}
		dst = append(dst, b[:i+1]...)
		dst = append(dst, escapedNul)
		b = b[i+1:]
	}
	dst = append(dst, b...)
	return append(dst, escape, terminator)
}

// AppendString appends s encoded exactly as AppendBytes encodes []byte(s),
// without converting it.
func AppendString(dst []byte, s string) []byte {
	for {
		i := strings.IndexByte(s, escape)
		if i < 0 {
			break
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, escapedNul)
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, escape, terminator)
}

// AppendUUID appends the 16 bytes of id unchanged, so UUIDs sort by their
// bytes. Version 7 UUIDs, which start with a timestamp, therefore sort by
// creation time.
func AppendUUID(dst []byte, id uuid.UUID) []byte {
	return append(dst, id[:]...)
}

// AppendTime appends t as its UnixNano in the int64 encoding, so instants
// sort chronologically regardless of location. Neither the location nor the
// monotonic clock reading is kept.
//
// int64 nanoseconds cover 1677-09-21T00:12:43.145224192Z to
// 2262-04-11T23:47:16.854775807Z. Instants outside are clamped to those
// ends, which keeps the order (ties aside) instead of the undefined result of
// time.Time.UnixNano. The zero Time lies below the range, so it encodes as
// the smallest time and DecodeTime gives the zero Time back for it.
func AppendTime(dst []byte, t time.Time) []byte {
	return AppendInt64(dst, timeNanos(t))
}

// AppendTimeDesc appends t so that later instants sort first, with the same
// range as AppendTime. Read it back with DecodeTimeDesc.
func AppendTimeDesc(dst []byte, t time.Time) []byte {
	return AppendInt64Desc(dst, timeNanos(t))
}

// timeNanos returns t's UnixNano clamped to the int64 range.
func timeNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}
