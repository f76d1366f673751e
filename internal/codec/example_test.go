package codec_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/biztier/biztier/internal/codec"
)

// subscription is a value as a store would keep it. Version 1 had no
// priority; version 2 added it.
type subscription struct {
	Name     string
	Priority uint64
	Enabled  bool
	Created  time.Time
}

const subscriptionVersion = 2

func encodeSubscription(dst []byte, s subscription) []byte {
	e := codec.NewEncoder(dst)
	e.Version(subscriptionVersion)
	e.String(s.Name)
	e.Uvarint(s.Priority)
	e.Bool(s.Enabled)
	e.Time(s.Created)
	return e.Encoded()
}

func decodeSubscription(b []byte) (subscription, error) {
	var s subscription
	d := codec.NewDecoder(b)
	v, err := d.ExpectVersion(subscriptionVersion)
	if err != nil {
		return s, err
	}
	s.Name = d.Text()
	s.Priority = 5 // version 1 values carry no priority
	if v >= 2 {
		s.Priority = d.Uvarint()
	}
	s.Enabled = d.Bool()
	s.Created = d.Time()
	return s, d.Finish()
}

// Example encodes a value, decodes it, and shows how old, newer and damaged
// values are told apart.
func Example() {
	created := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	val := encodeSubscription(nil, subscription{Name: "SendPort1", Priority: 7, Enabled: true, Created: created})
	fmt.Printf("%d bytes\n", len(val))

	s, err := decodeSubscription(val)
	fmt.Println(s.Name, s.Priority, s.Enabled, s.Created, err)

	v1 := []byte{1, 2, 'P', '1', 0, 0} // written by version 1: no priority
	s, err = decodeSubscription(v1)
	fmt.Println(s.Name, s.Priority, s.Enabled, s.Created.IsZero(), err)

	_, err = decodeSubscription([]byte{3})
	fmt.Println(errors.Is(err, codec.ErrVersion))

	_, err = decodeSubscription(val[:len(val)-1])
	fmt.Println(errors.Is(err, codec.ErrCorrupt))
	// Output:
	// 22 bytes
	// SendPort1 7 true 2024-05-01 10:00:00 +0000 UTC <nil>
	// P1 5 false true <nil>
	// true
	// true
}
