package predicate

import "github.com/biztier/biztier/internal/codec"

// Encode appends v's stored form to e: its type, then its payload.
func Encode(e *codec.Encoder, v Value) {
	e.Uvarint(uint64(v.typ))
	switch v.typ {
	case TypeString, TypeDecimal, TypeBytes, TypeText:
		e.String(v.s)
	case TypeInt64, TypeBool, TypeTime:
		e.Varint(v.n)
	case TypeFloat64:
		e.Float64(v.f)
	}
}

// Decode reads a value written by Encode. An unknown type sets d's sticky
// error (a corruption) and returns the zero Value.
func Decode(d *codec.Decoder) Value {
	code := d.Uvarint()
	t := Type(code)
	if code > 255 {
		t = 255 // no such type: refused below
	}
	switch t {
	case 0:
		return Value{}
	case TypeString, TypeDecimal, TypeBytes, TypeText:
		return Value{typ: t, s: d.Text()}
	case TypeInt64, TypeTime:
		return Value{typ: t, n: d.Varint()}
	case TypeBool:
		return Bool(d.Varint() == 1)
	case TypeFloat64:
		return Value{typ: t, f: d.Float64()}
	}
	if d.Err() == nil {
		// Force the sticky error with a read past the end.
		d.Reset(nil)
		d.Uvarint()
	}
	return Value{}
}
