package tracking

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormatKey(t *testing.T) {
	tests := []struct {
		key  []byte
		want string
	}{
		{eventKey(nil, orchID, 7), "MessageEvents/aa000000-0000-0000-0000-000000000002/7"},
		{instKey(nil, orchID), "ServiceInstances/aa000000-0000-0000-0000-000000000002"},
		{appendLocator(portPrefix(nil, "SP"), 9, m1), `EventsByPort/"SP"/9/aa000000-0000-0000-0000-00000000000b`},
		{appendLocator(statePrefix(nil, StateSuspended), 9, orchID), "InstancesByState/Suspended/9/aa000000-0000-0000-0000-000000000002"},
		{progressKey, `TrackingMeta/"purge-progress"`},
		{[]byte{0x26, 1}, "EventsByMessage/!0x01"},
		{nil, "(empty)"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, FormatKey(tt.key))
	}
}
