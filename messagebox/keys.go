package messagebox

import (
	"github.com/biztier/biztier/internal/keys"
	"github.com/google/uuid"
)

// Key layout (every table belongs to the MessageBox database):
//
//	Messages        0x10 | msgID                       -> message record (context, parts, small bodies inline)
//	BodyFragments   0x12 | msgID | part u64 | frag u64 -> one fragment of a large part
//	Subscriptions   0x13 | subID                       -> subscription record
//	QueueEntries    0x14 | host | priority u64 | seq u64 -> queue entry record
//	Suspended       0x15 | seq u64                     -> suspended entry record
//	MessageBoxMeta  0x18 | "host" | name               -> host record
//	MessageBoxMeta  0x18 | "seq"                       -> entry sequence high-water mark
//	MessageBoxMeta  0x18 | "format"                    -> MessageBox format version
//	Instances       0x16 | instanceID                  -> service instance record (state bytes inline)
//	ConvoySets      0x19 | convoy key                  -> instance ID
//	Dedup           0x1A | publisher | key             -> expiry (duplicate detection)
//
// Entries routed to a service instance name it in their record; an
// instance's correlation sets are Instance subscriptions naming it.
//
// A message's reference count is the number of entries (queued or
// suspended) naming it; it is kept in memory and rebuilt on open from the
// entries, so the hot path writes no counter key. A message record exists
// exactly while some entry names it: the commit that deletes the last entry
// also deletes the record and its fragments.

func msgKey(id uuid.UUID) []byte {
	k := make([]byte, 0, 17)
	k = keys.AppendTable(k, keys.TableMessages)
	return keys.AppendUUID(k, id)
}

func fragPrefix(id uuid.UUID) []byte {
	k := make([]byte, 0, 33)
	k = keys.AppendTable(k, keys.TableBodyFragments)
	return keys.AppendUUID(k, id)
}

func fragKey(id uuid.UUID, part, frag int) []byte {
	k := fragPrefix(id)
	k = keys.AppendUint64(k, uint64(part))
	return keys.AppendUint64(k, uint64(frag))
}

func subKey(id uuid.UUID) []byte {
	k := make([]byte, 0, 17)
	k = keys.AppendTable(k, keys.TableSubscriptions)
	return keys.AppendUUID(k, id)
}

func queueKey(dst []byte, host string, prio uint8, seq EntryID) []byte {
	dst = keys.AppendTable(dst, keys.TableQueueEntries)
	dst = keys.AppendString(dst, host)
	dst = keys.AppendUint64(dst, uint64(prio))
	return keys.AppendUint64(dst, uint64(seq))
}

func decodeQueueKey(k []byte) (host string, prio uint8, seq EntryID, err error) {
	_, rest, err := keys.DecodeTable(k)
	if err != nil {
		return
	}
	host, rest, err = keys.DecodeString(rest)
	if err != nil {
		return
	}
	p, rest, err := keys.DecodeUint64(rest)
	if err != nil {
		return
	}
	s, _, err := keys.DecodeUint64(rest)
	return host, uint8(p), EntryID(s), err
}

func suspKey(seq EntryID) []byte {
	k := make([]byte, 0, 9)
	k = keys.AppendTable(k, keys.TableSuspended)
	return keys.AppendUint64(k, uint64(seq))
}

func hostKey(name string) []byte {
	k := keys.AppendTable(nil, keys.TableMessageBoxMeta)
	k = keys.AppendString(k, "host")
	return keys.AppendString(k, name)
}

func hostPrefix() []byte {
	k := keys.AppendTable(nil, keys.TableMessageBoxMeta)
	return keys.AppendString(k, "host")
}

func seqKey() []byte {
	k := keys.AppendTable(nil, keys.TableMessageBoxMeta)
	return keys.AppendString(k, "seq")
}

func formatKey() []byte {
	k := keys.AppendTable(nil, keys.TableMessageBoxMeta)
	return keys.AppendString(k, "format")
}

func tablePrefix(t keys.Table) []byte { return keys.AppendTable(nil, t) }

// FormatKey renders a MessageBox key with its components decoded, such as
// `QueueEntries/"SendHost"/7/42`, for logs, errors and golden files. It
// never panics; a key of another store prints as keys.Format does.
func FormatKey(key []byte) string {
	if len(key) == 0 {
		return keys.Format(key)
	}
	switch keys.Table(key[0]) {
	case keys.TableMessages, keys.TableSubscriptions, keys.TableInstances:
		return keys.FormatTuple(key, keys.KindUUID)
	case keys.TableBodyFragments:
		return keys.FormatTuple(key, keys.KindUUID, keys.KindUint64, keys.KindUint64)
	case keys.TableQueueEntries:
		return keys.FormatTuple(key, keys.KindString, keys.KindUint64, keys.KindUint64)
	case keys.TableSuspended:
		return keys.FormatTuple(key, keys.KindUint64)
	case keys.TableMessageBoxMeta:
		return keys.FormatTuple(key, keys.KindString, keys.KindString)
	case keys.TableConvoySets:
		return keys.FormatTuple(key, keys.KindString)
	case keys.TableDedup:
		return keys.FormatTuple(key, keys.KindString, keys.KindString)
	}
	return keys.Format(key)
}
