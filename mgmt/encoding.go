package mgmt

import (
	"bufio"
	"bytes"
	"io"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// decodeUTF16 returns r as UTF-8. BizTalk's Administration Console and
// BTSTask often export binding files as UTF-16 (little-endian, with a byte
// order mark); a UTF-16 file without a mark is recognised by the NUL bytes
// of its "<?" start. UTF-8 input, with or without a mark, passes through.
// The XML declaration's encoding="utf-16" is then true of nothing, and the
// parser ignores it (see parseTree).
func decodeUTF16(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	head, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return transform.NewReader(br, unicode.BOMOverride(unicode.UTF8.NewDecoder()))
	case bytes.Equal(head, []byte{'<', 0, '?', 0}):
		return transform.NewReader(br, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder())
	case bytes.Equal(head, []byte{0, '<', 0, '?'}):
		return transform.NewReader(br, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder())
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		_, _ = br.Discard(3) // a UTF-8 mark: encoding/xml refuses it
	}
	return br
}
