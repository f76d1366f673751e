package biztier

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/biztier/biztier/bam"
	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/messagebox"
	"github.com/biztier/biztier/mgmt"
	"github.com/biztier/biztier/rules"
	"github.com/biztier/biztier/sso"
	"github.com/biztier/biztier/tracking"
)

// typedStores holds the typed databases a Group opens on first use. They
// are opened lazily so that a passive node, whose databases change under it
// as frames arrive, opens them only once it becomes active (their in-memory
// indexes are rebuilt from the store at that moment).
type typedStores struct {
	// mu guards mb, tr and mg.
	mu sync.Mutex
	mb *messagebox.Store
	tr *tracking.Store
	mg *mgmt.Store
	// sso is opened by Group.SSO (sso_wiring.go); also guarded by mu.
	sso *sso.Store
	// ru is opened by Group.Rules (rules_wiring.go); also guarded by mu.
	ru *rules.Store
	// bam is opened by Group.BAM (bam_wiring.go); also guarded by mu.
	bam *bam.Store
	// mgOpen is mg once it is open, for the MessageBox's callbacks, which
	// must not take mu (they run inside MessageBox calls).
	mgOpen atomic.Pointer[mgmt.Store]
	// trOpen is tr once it is open, for the MessageBox's question of what
	// to record, which must not take mu.
	trOpen atomic.Pointer[tracking.Store]
}

// Management returns the group's Management database (BizTalkMgmtDb),
// opening it, and the MessageBox it drives, on first use: enlisting,
// starting and stopping artifacts change MessageBox subscriptions in the
// same commit as the configuration. It fails with ErrClosed after Close.
func (g *Group) Management() (*mgmt.Store, error) {
	g.typed.mu.Lock()
	defer g.typed.mu.Unlock()
	if g.closed.Load() {
		return nil, ErrClosed
	}
	if g.typed.mg != nil {
		return g.typed.mg, nil
	}
	mb, err := g.messageBoxLocked()
	if err != nil {
		return nil, err
	}
	var mo mgmt.Options
	if g.opts.Management != nil {
		mo = *g.opts.Management
	}
	if mo.Secrets == nil {
		mo.Secrets = adapterSecrets{g: g}
	}
	if mo.Now == nil {
		mo.Now = g.opts.Now
	}
	mg, err := mgmt.Open(managementDatabase{database{set: g.set, id: store.Management}}, mgmtSubscriptions{mb: mb}, &mo)
	if err != nil {
		return nil, fmt.Errorf("biztier: open management: %w", err)
	}
	g.typed.mg = mg
	g.typed.mgOpen.Store(mg)
	return mg, nil
}

// MessageBox returns the group's MessageBox, opening it on first use with
// Options.MessageBox. Opening rebuilds its subscription index and host
// queues from the store. Unless Options.DisableTracking is set, every
// MessageBox operation records its tracking events in the Tracking database
// in the same commit. It fails with ErrClosed after Close.
func (g *Group) MessageBox() (*messagebox.Store, error) {
	g.typed.mu.Lock()
	defer g.typed.mu.Unlock()
	if g.closed.Load() {
		return nil, ErrClosed
	}
	return g.messageBoxLocked()
}

func (g *Group) messageBoxLocked() (*messagebox.Store, error) {
	if g.typed.mb != nil {
		return g.typed.mb, nil
	}
	var o messagebox.Options
	if g.opts.MessageBox != nil {
		o = *g.opts.MessageBox
	}
	if !g.opts.DisableTracking && o.Tracking == nil {
		// What a published message's record keeps follows the tracking
		// profile, which tracking (opened just below) owns.
		o.Tracking = &messagebox.TrackingOptions{Detail: func() (bool, bool) {
			if tr := g.typed.trOpen.Load(); tr != nil {
				return tr.Wants()
			}
			return false, false
		}}
	}
	if o.RouteFailed == nil {
		o.RouteFailed = g.routeFailed
	}
	if o.Clock == nil {
		o.Clock = g.opts.Clock
	}
	mb, err := messagebox.Open(messageBoxDatabase{database{set: g.set, id: store.MessageBox}}, &o)
	if err != nil {
		return nil, fmt.Errorf("biztier: open messagebox: %w", err)
	}
	g.typed.mb = mb
	if !g.opts.DisableTracking {
		if _, err := g.trackingLocked(); err != nil {
			return nil, err
		}
	}
	return mb, nil
}

// Tracking returns the group's Tracking database (BizTalkDTADb), opening it
// on first use with Options.Tracking: its queries, purge and archive. It
// fails with ErrClosed after Close.
func (g *Group) Tracking() (*tracking.Store, error) {
	g.typed.mu.Lock()
	defer g.typed.mu.Unlock()
	if g.closed.Load() {
		return nil, ErrClosed
	}
	return g.trackingLocked()
}

func (g *Group) trackingLocked() (*tracking.Store, error) {
	if g.typed.tr != nil {
		return g.typed.tr, nil
	}
	var o tracking.Options
	if g.opts.Tracking != nil {
		o = *g.opts.Tracking
	}
	if o.FS == nil {
		o.FS = g.opts.FS
	}
	if o.ArchiveDir == "" {
		o.ArchiveDir = o.FS.PathJoin(g.dir, "tracking-archive")
	}
	if o.Clock == nil {
		o.Clock = g.opts.Now
	}
	if o.Events == nil {
		o.Events = g.opts.Events
	}
	if !g.opts.DisableTracking && o.Source == nil {
		// The decoder takes in what the MessageBox stages.
		mb, err := g.messageBoxLocked()
		if err != nil {
			return nil, err
		}
		if g.typed.tr != nil { // messageBoxLocked opened it
			return g.typed.tr, nil
		}
		o.Source = trackingSource{mb: mb}
	}
	tr, err := tracking.Open(trackingDatabase{database{set: g.set, id: store.Tracking}}, &o)
	if err != nil {
		return nil, fmt.Errorf("biztier: open tracking: %w", err)
	}
	g.typed.tr = tr
	g.typed.trOpen.Store(tr)
	return tr, nil
}

// closeTyped closes the typed stores that were opened, before the log and
// the Pebble stores under them close: tracking before the MessageBox, so
// its decoder stops taking the MessageBox's records first (what it has not
// taken stays staged for the next open).
func (g *Group) closeTyped() error {
	g.typed.mu.Lock()
	defer g.typed.mu.Unlock()
	var err error
	if g.typed.mg != nil {
		g.typed.mgOpen.Store(nil)
		err = g.typed.mg.Close()
		g.typed.mg = nil
	}
	err = errors.Join(err, g.closeSSOLocked())
	err = errors.Join(err, g.closeRulesLocked())
	err = errors.Join(err, g.closeBAMLocked())
	if g.typed.tr != nil {
		g.typed.trOpen.Store(nil)
		if cerr := g.typed.tr.Close(); err == nil {
			err = cerr
		}
		g.typed.tr = nil
	}
	if g.typed.mb != nil {
		if cerr := g.typed.mb.Close(); err == nil {
			err = cerr
		}
		g.typed.mb = nil
	}
	return err
}

// routeFailed is the MessageBox's RouteFailed: a message received on a
// receive port whose RouteFailedMessage is set goes to failed-message
// routing when nothing subscribes to it.
func (g *Group) routeFailed(m *messagebox.Message) bool {
	mg := g.typed.mgOpen.Load()
	if mg == nil {
		return false
	}
	p, ok := m.Property("BTS.ReceivePortName")
	return ok && mg.RoutesFailedMessages(p.Value.Str())
}
