package tracking

import (
	"strconv"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/google/uuid"
)

// Key layout. Every record carries a stamp: the time it was recorded, in
// Unix nanoseconds, made unique and increasing by the store (see
// Store.stamp). Primary rows are clustered by owner so that purge removes
// an instance with a few range deletes; every secondary index key ends with
// a locator, the stamp (descending) and a UUID, 24 bytes that name the
// primary row.
//
//	ServiceInstances   id                          instance row
//	ServiceInstances   id, stamp                   lifecycle event
//	MessageEvents      instance id, stamp          message event (uuid.Nil: no instance)
//	TrackedBodies      message id, instance id, stamp   body and context
//	InstancesByService service, ^start, id
//	InstancesByState   state, ^start, id
//	InstancesByTime    ^start, id
//	EventsByMessage    message id, ^stamp, instance id
//	EventsByPort       port, ^stamp, instance id
//	EventsByTime       ^stamp, instance id
//	EventsByProperty   name, value, ^stamp, instance id
//	InstancesFinished  end, id                     (ascending: the purge queue)
//	TrackingMeta       name
//
// (^ marks a descending component.)

// locatorLen is the size of the locator that ends every index key.
const locatorLen = 8 + 16

func instKey(dst []byte, id uuid.UUID) []byte {
	return keys.AppendUUID(keys.AppendTable(dst, keys.TableServiceInstances), id)
}

func histKey(dst []byte, id uuid.UUID, stamp uint64) []byte {
	return keys.AppendUint64(instKey(dst, id), stamp)
}

func eventKey(dst []byte, inst uuid.UUID, stamp uint64) []byte {
	return keys.AppendUint64(keys.AppendUUID(keys.AppendTable(dst, keys.TableMessageEvents), inst), stamp)
}

func eventPrefix(dst []byte, inst uuid.UUID) []byte {
	return keys.AppendUUID(keys.AppendTable(dst, keys.TableMessageEvents), inst)
}

func bodyPrefix(dst []byte, msg uuid.UUID) []byte {
	return keys.AppendUUID(keys.AppendTable(dst, keys.TableTrackedBodies), msg)
}

func bodyKey(dst []byte, msg, inst uuid.UUID, stamp uint64) []byte {
	return keys.AppendUint64(keys.AppendUUID(bodyPrefix(dst, msg), inst), stamp)
}

func appendLocator(dst []byte, stamp uint64, id uuid.UUID) []byte {
	return keys.AppendUUID(keys.AppendUint64Desc(dst, stamp), id)
}

// decodeLocator reads the locator at the end of an index key.
func decodeLocator(k []byte) (stamp uint64, id uuid.UUID, err error) {
	if len(k) < 1+locatorLen {
		return 0, uuid.Nil, corruption("index key", keys.ErrCorrupt)
	}
	rest := k[len(k)-locatorLen:]
	stamp, rest, _ = keys.DecodeUint64Desc(rest)
	id, _, _ = keys.DecodeUUID(rest)
	return stamp, id, nil
}

func servicePrefix(dst []byte, service string) []byte {
	return keys.AppendString(keys.AppendTable(dst, keys.TableInstancesByService), service)
}

func statePrefix(dst []byte, st InstanceState) []byte {
	return append(keys.AppendTable(dst, keys.TableInstancesByState), byte(st))
}

func tablePrefix(t keys.Table) []byte { return keys.AppendTable(nil, t) }

func messagePrefix(dst []byte, msg uuid.UUID) []byte {
	return keys.AppendUUID(keys.AppendTable(dst, keys.TableEventsByMessage), msg)
}

func portPrefix(dst []byte, port string) []byte {
	return keys.AppendString(keys.AppendTable(dst, keys.TableEventsByPort), port)
}

func propertyPrefix(dst []byte, name, value string) []byte {
	return keys.AppendString(keys.AppendString(keys.AppendTable(dst, keys.TableEventsByProperty), name), value)
}

func finishedKey(dst []byte, end uint64, id uuid.UUID) []byte {
	return keys.AppendUUID(keys.AppendUint64(keys.AppendTable(dst, keys.TableInstancesFinished), end), id)
}

var (
	formatKey   = append(tablePrefix(keys.TableTrackingMeta), "format-version"...)
	progressKey = append(tablePrefix(keys.TableTrackingMeta), "purge-progress"...)
)

// instanceIndexKeys appends to dst the index keys of an instance row. An
// instance without a service name has no service entry: no query asks for
// the empty name.
func instanceIndexKeys(dst [][]byte, id uuid.UUID, r *instanceRow) [][]byte {
	if r.service != "" {
		dst = append(dst, appendLocator(servicePrefix(nil, r.service), r.start, id))
	}
	dst = append(dst,
		appendLocator(statePrefix(nil, r.state), r.start, id),
		appendLocator(tablePrefix(keys.TableInstancesByTime), r.start, id),
	)
	if r.state.Final() {
		dst = append(dst, finishedKey(nil, r.end, id))
	}
	return dst
}

// forEventIndexKeys calls fn with each index key of a message event row,
// built in buf (fn must not keep it), and returns buf for reuse.
func forEventIndexKeys(buf []byte, inst uuid.UUID, stamp uint64, r *eventRow, fn func(k []byte) error) ([]byte, error) {
	buf = appendLocator(messagePrefix(buf[:0], r.messageID), stamp, inst)
	if err := fn(buf); err != nil {
		return buf, err
	}
	buf = appendLocator(keys.AppendTable(buf[:0], keys.TableEventsByTime), stamp, inst)
	if err := fn(buf); err != nil {
		return buf, err
	}
	if r.port != "" {
		buf = appendLocator(portPrefix(buf[:0], r.port), stamp, inst)
		if err := fn(buf); err != nil {
			return buf, err
		}
	}
	for _, p := range r.properties {
		buf = appendLocator(propertyPrefix(buf[:0], p.Name, p.Value), stamp, inst)
		if err := fn(buf); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// stampOf converts a time to a stamp, clamping instants before 1970 to 0.
func stampOf(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	n := t.UnixNano()
	if n < 0 {
		return 0
	}
	return uint64(n)
}

// stampTime converts a stamp back to a time in UTC.
func stampTime(s uint64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(s)).UTC()
}

// keySchemas gives the components after the table byte of each tracking
// table, for FormatKey. Lifecycle rows share their table with instance
// rows and show their stamp as a trailing element.
var keySchemas = map[keys.Table][]keys.Kind{
	keys.TableServiceInstances:   {keys.KindUUID, keys.KindUint64},
	keys.TableMessageEvents:      {keys.KindUUID, keys.KindUint64},
	keys.TableTrackedBodies:      {keys.KindUUID, keys.KindUUID, keys.KindUint64},
	keys.TableInstancesByService: {keys.KindString, keys.KindUint64Desc, keys.KindUUID},
	keys.TableInstancesByTime:    {keys.KindUint64Desc, keys.KindUUID},
	keys.TableEventsByMessage:    {keys.KindUUID, keys.KindUint64Desc, keys.KindUUID},
	keys.TableEventsByPort:       {keys.KindString, keys.KindUint64Desc, keys.KindUUID},
	keys.TableEventsByTime:       {keys.KindUint64Desc, keys.KindUUID},
	keys.TableEventsByProperty:   {keys.KindString, keys.KindString, keys.KindUint64Desc, keys.KindUUID},
	keys.TableInstancesFinished:  {keys.KindUint64, keys.KindUUID},
}

// FormatKey renders a key of the tracking database for logs, errors and
// golden files, such as `EventsByPort/"SP_Orders"/1767603600000000000/<uuid>`.
// Stamps print as Unix nanoseconds. It never panics; bytes it cannot
// decode print in hex.
func FormatKey(k []byte) string {
	if len(k) == 0 {
		return keys.Format(k)
	}
	t := keys.Table(k[0])
	if t == keys.TableInstancesByState && len(k) >= 2 {
		// The state is one raw byte.
		rest := keys.FormatTuple(append([]byte{k[0]}, k[2:]...), keys.KindUint64Desc, keys.KindUUID)
		return t.String() + "/" + InstanceState(k[1]).String() + rest[len(t.String()):]
	}
	if t == keys.TableTrackingMeta {
		return t.String() + "/" + strconv.Quote(string(k[1:]))
	}
	return keys.FormatTuple(k, keySchemas[t]...)
}
