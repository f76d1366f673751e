package console_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/biztier/biztier"
	"github.com/biztier/biztier/cluster"
	"github.com/biztier/biztier/mgmt/console"
)

// TestHandler_pair: over a cluster node, the overview shows which node is
// active, its epoch and sync state.
func TestHandler_pair(t *testing.T) {
	n, err := cluster.Open("group", &cluster.Options{
		ID: "node-a", Witness: cluster.NewLocalWitness(time.Second),
		Group: &biztier.Options{FS: vfs.NewMem(), MemTableSize: 4 << 20, CheckpointInterval: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cluster.WaitActive(ctx, n); err != nil {
		t.Fatal(err)
	}
	h, err := console.New(console.Options{Group: n.Group(), Node: n})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/api/overview", nil))
	var v struct {
		Pair *struct {
			Node, Role, SyncState string
			Epoch                 uint64
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	st := n.Status()
	if v.Pair == nil || v.Pair.Node != "node-a" || v.Pair.Role != cluster.Active.String() || v.Pair.Epoch != st.Epoch || v.Pair.SyncState != st.SyncState {
		t.Fatalf("pair %+v, status %+v", v.Pair, st)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if !strings.Contains(w.Body.String(), `id="pair"`) {
		t.Fatal("overview page lacks the pair")
	}
}
