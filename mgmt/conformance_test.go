package mgmt_test

import (
	"strings"
	"testing"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/mgmt"
	"github.com/biztier/biztier/mgmt/mgmttest"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// TestFakeSubs_Conformance runs the Subscriptions suite against the fake
// the other tests use, so the fake and the real MessageBox adapter are
// held to the same contract.
func TestFakeSubs_Conformance(t *testing.T) {
	mgmttest.Run(t, func(t *testing.T) *mgmttest.Harness {
		set, err := store.Open(setOptions(vfs.NewMem(), "g"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = set.Close() })
		f := newFakeSubs(set)
		return &mgmttest.Harness{
			DB:   dbOf(set),
			Subs: f,
			Route: func(props map[string]string) (active, inactive []uuid.UUID) {
				for id, v := range storedSubs(t, set) {
					parts := strings.SplitN(v, "|", 6)
					fl, err := mgmt.ParseFilter(parts[5])
					require.NoError(t, err)
					if fl.Matches(stringContext(props)) {
						if parts[4] == "true" {
							active = append(active, id)
						} else {
							inactive = append(inactive, id)
						}
					}
				}
				return active, inactive
			},
			Queue: f.setQueued,
		}
	})
}
