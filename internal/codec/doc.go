// Package codec encodes the values stored under Pebble keys: a format-version
// byte followed by a fixed sequence of fields, with no reflection and no
// allocation beyond the output buffer.
//
// # Format
//
// A value is its version byte and then its fields in the order the caller
// writes them; nothing names or tags a field, so the schema lives in the
// code of the store that owns the value, one schema per version. Version 0
// is never written, so a zeroed or empty value is always detected.
//
// Fields are encoded as follows (values are never compared as bytes, so
// fixed-width fields are little-endian, like the rest of the machine):
//
//   - Uvarint, Varint: encoding/binary varints (Varint is zig-zag).
//   - Uint64, Float64: 8 bytes little-endian (Float64 by its IEEE 754 bits,
//     so NaN payloads and -0 survive).
//   - Bytes, String: a uvarint length, then the bytes.
//   - Bool: one byte, 0 or 1; anything else is corruption.
//   - UUID: its 16 bytes.
//   - Time: a uvarint, 0 for the zero Time, otherwise 1 + the zig-zag of
//     UnixNano; see [Encoder.Time] for the range.
//
// # Versions
//
// Encoders write only the current version of a value; decoders accept every
// version ever written. A decoder starts with [Decoder.ExpectVersion], which
// refuses versions newer than the code knows with [ErrVersion], then
// switches on the version it got.
//
// # Errors
//
// [Decoder] keeps the first error and turns every later call into a no-op
// returning zero values, so a value can be decoded field by field and checked
// once with [Decoder.Err] or [Decoder.Finish]. Decoding failures wrap
// [ErrCorrupt].
package codec
