package keys_test

import (
	"fmt"
	"time"

	"github.com/biztier/biztier/internal/keys"
)

// Example builds a host-queue key, decodes it, and computes the bounds that
// scan every entry of one host.
func Example() {
	host := "BizTalkServerApplication"
	enqueued := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)

	// A reused buffer keeps key building allocation-free.
	buf := make([]byte, 0, 64)
	key := keys.AppendTable(buf, keys.TableQueueEntries)
	key = keys.AppendString(key, host)
	key = keys.AppendUint64Desc(key, 7) // priority: highest first
	key = keys.AppendTime(key, enqueued)

	tbl, rest, err := keys.DecodeTable(key)
	if err != nil {
		panic(err)
	}
	name, rest, err := keys.DecodeString(rest)
	if err != nil {
		panic(err)
	}
	prio, rest, err := keys.DecodeUint64Desc(rest)
	if err != nil {
		panic(err)
	}
	at, _, err := keys.DecodeTime(rest)
	if err != nil {
		panic(err)
	}
	fmt.Println(tbl, name, prio, at)
	fmt.Println(keys.FormatTuple(key, keys.KindString, keys.KindUint64Desc, keys.KindTime))

	lower, upper := keys.PrefixBounds(keys.AppendString(keys.AppendTable(nil, keys.TableQueueEntries), host))
	fmt.Println(keys.FormatTuple(lower, keys.KindString))
	// The upper bound is not itself a valid key: 0x00 0x02 ends no string.
	fmt.Println(keys.FormatTuple(upper, keys.KindString))
	// Output:
	// QueueEntries BizTalkServerApplication 7 2024-05-01 10:00:00 +0000 UTC
	// QueueEntries/"BizTalkServerApplication"/7/2024-05-01T10:00:00Z
	// QueueEntries/"BizTalkServerApplication"
	// QueueEntries/!0x42697a54616c6b5365727665724170706c69636174696f6e0002
}
