// Package keys encodes Pebble keys as a one-byte table prefix followed by a
// tuple of order-preserving components, so that Pebble's default bytewise
// comparer sorts keys the way the stores need to scan them.
//
// # Tables
//
// Every key starts with a [Table] byte. All prefixes live in one const block
// in tables.go, grouped per database, so that a key can be named from its
// first byte alone (see [Format]) and so that no two tables ever share a
// prefix. A retired prefix stays in that block as a comment and is never
// handed out again: old data may still carry it.
//
// # Components
//
// After the table byte a key is a tuple of components, each written with an
// Append function and read back with the matching Decode function. The
// encoding carries no type tags, so the reader must know the schema. Each
// component sorts by its natural order:
//
//   - uint64: 8 bytes big-endian ([AppendUint64]).
//   - int64: 8 bytes big-endian with the sign bit flipped, so negatives sort
//     before positives ([AppendInt64]).
//   - bytes and strings: 0x00 is escaped as 0x00 0xFF and the component ends
//     with 0x00 0x01, as in FoundationDB's tuple layer. A string therefore
//     sorts before every string it is a prefix of, and the component is self
//     delimiting, so it can be followed by more components ([AppendBytes],
//     [AppendString]).
//   - UUID: its 16 bytes as they are ([AppendUUID]).
//   - time: UnixNano as an int64 ([AppendTime]); see [AppendTime] for
//     instants int64 nanoseconds cannot hold.
//   - descending order: the bitwise complement of the ascending encoding
//     ([AppendUint64Desc], [AppendInt64Desc], [AppendTimeDesc]).
//
// Because each component is either fixed width or self delimiting, comparing
// two encoded tuples of the same schema byte by byte gives the same answer as
// comparing them component by component.
//
// # Scans
//
// To scan every key under a prefix, set an iterator's LowerBound to the
// prefix and its UpperBound to [PrefixSuccessor] of it; [PrefixBounds]
// returns both.
//
// # Formatting
//
// [Format] renders a key as its table name and hex for logs and golden
// files; [FormatTuple] renders each component when the caller names the
// schema with [Kind] values.
//
// # Errors
//
// Decoders never panic. Every failure wraps [ErrCorrupt], so callers test for
// it with errors.Is.
//
// # Concurrency
//
// The package has no mutable state; all functions are safe for concurrent
// use on distinct buffers.
package keys
