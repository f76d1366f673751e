package keys

import (
	"bytes"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestAppend pins the exact bytes of each component type: they are an
// on-disk format, so any change here is a format change.
func TestAppend(t *testing.T) {
	t0 := time.Unix(0, 0)
	id := uuid.MustParse("00112233-4455-6677-8899-aabbccddeeff")
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"table", AppendTable(nil, TableMessages), []byte{0x10}},
		{"uint64/0", AppendUint64(nil, 0), []byte{0, 0, 0, 0, 0, 0, 0, 0}},
		{"uint64/258", AppendUint64(nil, 258), []byte{0, 0, 0, 0, 0, 0, 1, 2}},
		{"uint64desc/0", AppendUint64Desc(nil, 0), bytes.Repeat([]byte{0xFF}, 8)},
		{"uint64desc/258", AppendUint64Desc(nil, 258), []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFD}},
		{"int64/0", AppendInt64(nil, 0), []byte{0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"int64/-1", AppendInt64(nil, -1), []byte{0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
		{"int64/min", AppendInt64(nil, math.MinInt64), []byte{0, 0, 0, 0, 0, 0, 0, 0}},
		{"int64/max", AppendInt64(nil, math.MaxInt64), bytes.Repeat([]byte{0xFF}, 8)},
		{"int64desc/0", AppendInt64Desc(nil, 0), []byte{0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
		{"int64desc/min", AppendInt64Desc(nil, math.MinInt64), bytes.Repeat([]byte{0xFF}, 8)},
		{"bytes/empty", AppendBytes(nil, nil), []byte{0x00, 0x01}},
		{"bytes/plain", AppendBytes(nil, []byte("ab")), []byte{'a', 'b', 0x00, 0x01}},
		{"bytes/nul", AppendBytes(nil, []byte{0}), []byte{0x00, 0xFF, 0x00, 0x01}},
		{"bytes/mixed", AppendBytes(nil, []byte{'a', 0, 0, 0xFF, 1}), []byte{'a', 0x00, 0xFF, 0x00, 0xFF, 0xFF, 0x01, 0x00, 0x01}},
		{"string/plain", AppendString(nil, "ab"), []byte{'a', 'b', 0x00, 0x01}},
		{"string/nul", AppendString(nil, "a\x00"), []byte{'a', 0x00, 0xFF, 0x00, 0x01}},
		{"uuid", AppendUUID(nil, id), id[:]},
		{"time/epoch", AppendTime(nil, t0), []byte{0x80, 0, 0, 0, 0, 0, 0, 0}},
		{"time/zero", AppendTime(nil, time.Time{}), []byte{0, 0, 0, 0, 0, 0, 0, 0}},
		{"time/year9999", AppendTime(nil, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)), bytes.Repeat([]byte{0xFF}, 8)},
		{"timedesc/epoch", AppendTimeDesc(nil, t0), []byte{0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}},
		{"appends", AppendString([]byte{0x10}, "x"), []byte{0x10, 'x', 0x00, 0x01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.got)
		})
	}
}

// TestDecode_corrupt checks that every decoder rejects short and malformed
// input with an error wrapping ErrCorrupt, and returns zero values.
func TestDecode_corrupt(t *testing.T) {
	seven := make([]byte, 7)
	tests := []struct {
		name string
		kind Kind
		in   []byte
	}{
		{"uint64/empty", KindUint64, nil},
		{"uint64/short", KindUint64, seven},
		{"uint64desc/short", KindUint64Desc, seven},
		{"int64/short", KindInt64, seven},
		{"int64desc/short", KindInt64Desc, seven},
		{"uuid/short", KindUUID, make([]byte, 15)},
		{"time/short", KindTime, seven},
		{"timedesc/short", KindTimeDesc, seven},
		{"bytes/empty", KindBytes, nil},
		{"bytes/unterminated", KindBytes, []byte("abc")},
		{"bytes/lone nul at end", KindBytes, []byte{'a', 0x00}},
		{"bytes/bad escape", KindBytes, []byte{'a', 0x00, 0x02, 0x00, 0x01}},
		{"bytes/escape then end", KindBytes, []byte{0x00, 0xFF}},
		{"string/unterminated", KindString, []byte("abc")},
		{"string/bad escape", KindString, []byte{0x00, 0x00}},
		{"string/escape then bad", KindString, []byte{0x00, 0xFF, 0x00, 0x7F}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, rest, err := decodeComponent(tt.kind, tt.in)
			require.ErrorIs(t, err, ErrCorrupt)
			require.Nil(t, rest)
			require.True(t, equalComponent(component{kind: tt.kind}, c), "got %v", c)
		})
	}
	t.Run("table/empty", func(t *testing.T) {
		_, _, err := DecodeTable(nil)
		require.ErrorIs(t, err, ErrCorrupt)
	})
}

// TestDecode_rest checks that decoders consume exactly their component and
// hand back the rest, which is what makes tuples work.
func TestDecode_rest(t *testing.T) {
	tail := []byte{0x00, 0x01, 0xAA}
	key := AppendTable(nil, TableQueueEntries)
	key = AppendString(key, "host\x00a")
	key = AppendUint64Desc(key, 7)
	key = AppendBytes(key, []byte{0})
	key = append(key, tail...)

	tbl, rest, err := DecodeTable(key)
	require.NoError(t, err)
	require.Equal(t, TableQueueEntries, tbl)
	s, rest, err := DecodeString(rest)
	require.NoError(t, err)
	require.Equal(t, "host\x00a", s)
	u, rest, err := DecodeUint64Desc(rest)
	require.NoError(t, err)
	require.Equal(t, uint64(7), u)
	b, rest, err := DecodeBytes(nil, rest)
	require.NoError(t, err)
	require.Equal(t, []byte{0}, b)
	require.Equal(t, tail, rest)
}

func TestDecodeTime(t *testing.T) {
	tests := []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"zero", time.Time{}, time.Time{}},
		{"epoch", time.Unix(0, 0), time.Unix(0, 0)},
		{"nanos", time.Unix(1_700_000_000, 123456789), time.Unix(1_700_000_000, 123456789)},
		{"before range clamps to zero", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}},
		{"after range clamps to max", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, math.MaxInt64)},
		{"max", time.Unix(0, math.MaxInt64), time.Unix(0, math.MaxInt64)},
		{"min+1", time.Unix(0, math.MinInt64+1), time.Unix(0, math.MinInt64+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, desc := range []bool{false, true} {
				var got time.Time
				var err error
				if desc {
					got, _, err = DecodeTimeDesc(AppendTimeDesc(nil, tt.in))
				} else {
					got, _, err = DecodeTime(AppendTime(nil, tt.in))
				}
				require.NoError(t, err)
				require.True(t, tt.want.Equal(got), "desc=%v: got %v, want %v", desc, got, tt.want)
				require.Equal(t, tt.want.IsZero(), got.IsZero())
				if !got.IsZero() {
					require.Equal(t, time.UTC, got.Location())
				}
			}
		})
	}
}

func TestPrefixSuccessor(t *testing.T) {
	tests := []struct {
		name   string
		prefix []byte
		want   []byte
	}{
		{"nil", nil, nil},
		{"empty", []byte{}, nil},
		{"all 0xFF", []byte{0xFF, 0xFF}, nil},
		{"table", []byte{0x10}, []byte{0x11}},
		{"increments last", []byte{0x10, 'a', 'b'}, []byte{0x10, 'a', 'c'}},
		{"drops trailing 0xFF", []byte{0x10, 'a', 0xFF, 0xFF}, []byte{0x10, 'b'}},
		{"after terminator", AppendString([]byte{0x10}, "ab"), []byte{0x10, 'a', 'b', 0x00, 0x02}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := bytes.Clone(tt.prefix)
			require.Equal(t, tt.want, PrefixSuccessor(tt.prefix))
			require.Equal(t, orig, tt.prefix, "prefix modified")
			lower, upper := PrefixBounds(tt.prefix)
			require.Equal(t, tt.prefix, lower)
			require.Equal(t, tt.want, upper)
		})
	}
}

func TestTable_String(t *testing.T) {
	require.Equal(t, "System", TableSystem.String())
	require.Equal(t, "Messages", TableMessages.String())
	require.Equal(t, "User", TableUser.String())
	require.Equal(t, "Table(0x2a)", Table(0x2a).String())
	require.Equal(t, "Table(0x00)", Table(0).String())
	require.Equal(t, "Table(0xff)", Table(0xFF).String())
}

// TestTable_ranges checks the reserved values stay unassigned: 0x00 and
// 0xFF never, and each database only inside its own range.
func TestTable_ranges(t *testing.T) {
	require.Empty(t, tableNames[0x00])
	require.Empty(t, tableNames[0xFF])
	inRange := func(tbl Table, lo, hi byte) {
		t.Helper()
		require.True(t, byte(tbl) >= lo && byte(tbl) <= hi, "%v (0x%02x) outside 0x%02x..0x%02x", tbl, byte(tbl), lo, hi)
	}
	inRange(TableSystem, 0x01, 0x0F)
	for _, tbl := range []Table{TableMessages, TableBodies, TableBodyFragments, TableSubscriptions,
		TableQueueEntries, TableSuspended, TableInstances, TableRefCounts, TableMessageBoxMeta} {
		inRange(tbl, 0x10, 0x1F)
	}
	for _, tbl := range []Table{TableServiceInstances, TableMessageEvents, TableTrackedBodies} {
		inRange(tbl, 0x20, 0x2F)
	}
	inRange(TableUser, 0xF0, 0xFE)
}

func TestFormatTuple(t *testing.T) {
	id := uuid.MustParse("00112233-4455-6677-8899-aabbccddeeff")
	key := AppendTable(nil, TableQueueEntries)
	key = AppendString(key, "host\"1")
	key = AppendUint64Desc(key, 7)
	key = AppendInt64(key, -3)
	key = AppendUUID(key, id)
	key = AppendTime(key, time.Date(2024, 5, 1, 10, 0, 0, 5, time.UTC))
	key = AppendBytes(key, []byte{0, 0xAB})
	key = AppendTimeDesc(key, time.Time{})

	tests := []struct {
		name   string
		key    []byte
		schema []Kind
		want   string
	}{
		{"empty", nil, nil, "(empty)"},
		{"table only", []byte{0x10}, nil, "Messages"},
		{"untyped", []byte{0x10, 0x00, 0x11}, nil, "Messages/0x0011"},
		{"unknown table", []byte{0x7A, 0x01}, nil, "Table(0x7a)/0x01"},
		{"full", key,
			[]Kind{KindString, KindUint64Desc, KindInt64, KindUUID, KindTime, KindBytes, KindTimeDesc},
			`QueueEntries/"host\"1"/7/-3/00112233-4455-6677-8899-aabbccddeeff/2024-05-01T10:00:00.000000005Z/0x00ab/0001-01-01T00:00:00Z`},
		{"schema shorter than key", AppendUint64([]byte{0x20}, 1), []Kind{KindUint64, KindUint64}, "ServiceInstances/1"},
		{"leftover bytes", append(AppendUint64([]byte{0x20}, 1), 0xEE), []Kind{KindUint64}, "ServiceInstances/1/!0xee"},
		{"bad component", []byte{0x21, 'a', 0x00, 0x05}, []Kind{KindString}, "MessageEvents/!0x610005"},
		{"short component", []byte{0x21, 1, 2}, []Kind{KindUint64}, "MessageEvents/!0x0102"},
		{"unknown kind", []byte{0x21, 1}, []Kind{Kind(0)}, "MessageEvents/!0x01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, FormatTuple(tt.key, tt.schema...))
		})
	}
	require.Equal(t, "Messages/0x0011", Format([]byte{0x10, 0x00, 0x11}))
}

func TestKind_String(t *testing.T) {
	require.Equal(t, "uint64", KindUint64.String())
	require.Equal(t, "timedesc", KindTimeDesc.String())
	require.Equal(t, "Kind(0)", Kind(0).String())
	require.Equal(t, "Kind(200)", Kind(200).String())
}

// TestAllocs guards the point of the appender API: building and decoding a
// key into reused buffers does not allocate.
func TestAllocs(t *testing.T) {
	id := uuid.New()
	now := time.Now()
	buf := make([]byte, 0, 128)
	scratch := make([]byte, 0, 32)
	var sink []byte
	allocs := testing.AllocsPerRun(100, func() {
		k := AppendTable(buf[:0], TableQueueEntries)
		k = AppendString(k, "BizTalkServerApplication\x00x")
		k = AppendBytes(k, []byte("body"))
		k = AppendUint64(k, 1)
		k = AppendInt64Desc(k, -1)
		k = AppendUUID(k, id)
		k = AppendTime(k, now)
		k = AppendTimeDesc(k, now)

		_, rest, _ := DecodeTable(k)
		scratch, rest, _ = DecodeBytes(scratch[:0], rest)
		_, rest, _ = DecodeBytes(scratch[:0], rest)
		_, rest, _ = DecodeUint64(rest)
		_, rest, _ = DecodeInt64Desc(rest)
		_, rest, _ = DecodeUUID(rest)
		_, rest, _ = DecodeTime(rest)
		_, rest, _ = DecodeTimeDesc(rest)
		sink = rest
	})
	require.Zero(t, allocs)
	require.Empty(t, sink)
}
