package biztier

import (
	"fmt"
	"sync"

	"github.com/biztier/biztier/messagebox"
)

// typedStores holds the typed databases a Group opens on first use. They
// are opened lazily so that a passive node, whose databases change under it
// as frames arrive, opens them only once it becomes active (their in-memory
// indexes are rebuilt from the store at that moment).
type typedStores struct {
	// mu guards mb.
	mu sync.Mutex
	mb *messagebox.Store
}

// MessageBox returns the group's MessageBox, opening it on first use with
// Options.MessageBox. Opening rebuilds its subscription index and host
// queues from the store. It fails with ErrClosed after Close.
func (g *Group) MessageBox() (*messagebox.Store, error) {
	g.typed.mu.Lock()
	defer g.typed.mu.Unlock()
	if g.closed.Load() {
		return nil, ErrClosed
	}
	if g.typed.mb != nil {
		return g.typed.mb, nil
	}
	mb, err := messagebox.Open(g.set, g.opts.MessageBox)
	if err != nil {
		return nil, fmt.Errorf("biztier: open messagebox: %w", err)
	}
	g.typed.mb = mb
	return mb, nil
}

// closeTyped closes the typed stores that were opened, before the log and
// the Pebble stores under them close.
func (g *Group) closeTyped() error {
	g.typed.mu.Lock()
	defer g.typed.mu.Unlock()
	var err error
	if g.typed.mb != nil {
		err = g.typed.mb.Close()
		g.typed.mb = nil
	}
	return err
}
