package keys

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind names a component type, so that FormatTuple can render a key whose
// schema the caller knows. Keys carry no type tags themselves.
type Kind uint8

// Component kinds, one per Append function.
const (
	KindUint64     Kind = iota + 1 // AppendUint64
	KindUint64Desc                 // AppendUint64Desc
	KindInt64                      // AppendInt64
	KindInt64Desc                  // AppendInt64Desc
	KindBytes                      // AppendBytes
	KindString                     // AppendString
	KindUUID                       // AppendUUID
	KindTime                       // AppendTime
	KindTimeDesc                   // AppendTimeDesc
)

var kindNames = [...]string{
	KindUint64:     "uint64",
	KindUint64Desc: "uint64desc",
	KindInt64:      "int64",
	KindInt64Desc:  "int64desc",
	KindBytes:      "bytes",
	KindString:     "string",
	KindUUID:       "uuid",
	KindTime:       "time",
	KindTimeDesc:   "timedesc",
}

// String returns the kind's name, such as "uint64", or "Kind(n)" for a value
// that is not a kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Format renders key for logs, errors and golden files as its table name and
// the rest in hex, such as "Messages/0x0011". Because keys carry no type
// tags, use FormatTuple to see the components. An empty key renders as
// "(empty)". Format never panics.
func Format(key []byte) string {
	return FormatTuple(key)
}

// FormatTuple renders key as its table name followed by one "/"-separated
// element per kind in schema, such as `QueueEntries/"host"/7/2024-05-01T10:00:00Z`.
// Integers print in decimal (descending ones as their value), strings
// quoted, bytes as 0x-prefixed hex, UUIDs in their canonical form and times
// in RFC 3339 UTC. Bytes left after the schema print as one hex element; a
// component that does not decode prints as "!" followed by the remaining
// bytes in hex. FormatTuple never panics.
func FormatTuple(key []byte, schema ...Kind) string {
	if len(key) == 0 {
		return "(empty)"
	}
	var sb strings.Builder
	sb.WriteString(Table(key[0]).String())
	rest := key[1:]
	for _, k := range schema {
		if len(rest) == 0 {
			break
		}
		elem, next, err := formatComponent(k, rest)
		if err != nil {
			break
		}
		sb.WriteByte('/')
		sb.WriteString(elem)
		rest = next
	}
	if len(rest) > 0 {
		sb.WriteByte('/')
		if len(schema) > 0 {
			// The schema ran out or a component failed to decode: either
			// way the tail is not what the caller said it would be.
			sb.WriteByte('!')
		}
		sb.WriteString("0x")
		sb.WriteString(hex.EncodeToString(rest))
	}
	return sb.String()
}

// formatComponent decodes one component of kind k from b and renders it.
func formatComponent(k Kind, b []byte) (elem string, rest []byte, err error) {
	switch k {
	case KindUint64, KindUint64Desc:
		var v uint64
		if k == KindUint64 {
			v, rest, err = DecodeUint64(b)
		} else {
			v, rest, err = DecodeUint64Desc(b)
		}
		return strconv.FormatUint(v, 10), rest, err
	case KindInt64, KindInt64Desc:
		var v int64
		if k == KindInt64 {
			v, rest, err = DecodeInt64(b)
		} else {
			v, rest, err = DecodeInt64Desc(b)
		}
		return strconv.FormatInt(v, 10), rest, err
	case KindBytes:
		var v []byte
		v, rest, err = DecodeBytes(nil, b)
		return "0x" + hex.EncodeToString(v), rest, err
	case KindString:
		var v string
		v, rest, err = DecodeString(b)
		return strconv.Quote(v), rest, err
	case KindUUID:
		id, rest, err := DecodeUUID(b)
		return id.String(), rest, err
	case KindTime, KindTimeDesc:
		var t time.Time
		if k == KindTime {
			t, rest, err = DecodeTime(b)
		} else {
			t, rest, err = DecodeTimeDesc(b)
		}
		return t.Format(time.RFC3339Nano), rest, err
	}
	return "", nil, fmt.Errorf("keys: unknown kind %v", k)
}
