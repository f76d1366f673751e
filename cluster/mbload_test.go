package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/biztier/biztier/messagebox"
	"github.com/google/uuid"
)

// The MessageBox load of TestFailoverRandomized: publishers and consumers
// (dequeue, complete) on whichever node is active, with every outcome
// recorded for mbChecker.

const (
	mbHost  = "TrialHost"
	mbProp  = "urn:trial#Seq"
	mbLease = time.Minute // longer than a trial: only a failover redelivers
)

// mbOutcome is what the client knows of an operation on one message.
type mbOutcome uint8

const (
	mbNone    mbOutcome = iota
	mbInDoubt           // it failed: it may or may not have taken effect
	mbAcked             // it returned nil
)

// mbMsg is the history of one message the load published.
type mbMsg struct {
	pub  mbOutcome
	comp mbOutcome
	// compRet is the history clock when the first acknowledged Complete
	// returned: no Dequeue called after it may deliver the message.
	compRet int64
	// count is the highest DeliveryCount an acknowledged Dequeue returned,
	// and countRet when that Dequeue returned: a later delivery must count
	// higher (the count is durable; a lower one is a delivery "as new").
	count    int
	countRet int64
}

// mbChecker records the MessageBox load's outcomes and checks deliveries
// as they happen.
type mbChecker struct {
	p  *trialPair
	mu sync.Mutex
	// msgs is every message a publisher tried, by the ID it assigned.
	msgs       map[uuid.UUID]*mbMsg
	violations []string
	published  int
	delivered  int
	completed  int
}

func newMBChecker(p *trialPair) *mbChecker {
	return &mbChecker{p: p, msgs: map[uuid.UUID]*mbMsg{}}
}

func (c *mbChecker) violate(format string, args ...any) {
	c.violations = append(c.violations, fmt.Sprintf(format, args...))
}

// setup creates the host and a subscription matching every message the
// load publishes.
func (c *mbChecker) setup(ctx context.Context, n *Node) error {
	mb, err := n.MessageBox()
	if err != nil {
		return err
	}
	if err := mb.CreateHost(ctx, mbHost); err != nil {
		return err
	}
	_, err = mb.Subscribe(ctx, messagebox.Subscription{
		Name:      "TrialAll",
		Host:      mbHost,
		Predicate: messagebox.Or(messagebox.And(messagebox.Exists(mbProp))),
	})
	return err
}

// activeMB returns the active node's MessageBox, or nil while there is
// none.
func (c *mbChecker) activeMB() (*testNode, *messagebox.Store) {
	_, n := c.p.active()
	if n == nil {
		return nil, nil
	}
	mb, err := n.MessageBox()
	if err != nil {
		return nil, nil
	}
	return n, mb
}

// publish runs one publisher until stop is closed.
func (c *mbChecker) publish(w int, stop <-chan struct{}) {
	var seq int64
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, mb := c.activeMB()
		if mb == nil {
			time.Sleep(time.Millisecond)
			continue
		}
		seq++
		m := messagebox.NewMessage(fmt.Appendf(nil, "<Msg w='%d' seq='%d'/>", w, seq),
			messagebox.Promoted(mbProp, messagebox.Int64(seq)))
		m.ID = uuid.New()
		rec := &mbMsg{pub: mbInDoubt}
		c.mu.Lock()
		c.msgs[m.ID] = rec
		c.mu.Unlock()
		e := n.curEpoch()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_, _, err := mb.Publish(ctx, m)
		cancel()
		if err == nil {
			c.p.committed(n, e)
			c.mu.Lock()
			rec.pub = mbAcked
			c.published++
			c.mu.Unlock()
		}
	}
}

// consume runs one consumer until stop is closed: it dequeues a batch and
// completes it, in one Complete or one by one.
func (c *mbChecker) consume(r *rand.Rand, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, mb := c.activeMB()
		if mb == nil {
			time.Sleep(time.Millisecond)
			continue
		}
		ds, err := c.dequeue(n, mb, 1+r.IntN(8))
		if err != nil || len(ds) == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		if r.IntN(2) == 0 {
			c.complete(n, mb, ds...)
		} else {
			for _, d := range ds {
				c.complete(n, mb, d)
			}
		}
	}
}

// dequeue leases up to max entries and checks each delivery: the message
// was published, no acknowledged Complete of it returned before this call,
// and its delivery count is above that of every acknowledged earlier
// delivery.
func (c *mbChecker) dequeue(n *testNode, mb *messagebox.Store, max int) ([]*messagebox.Delivery, error) {
	e := n.curEpoch()
	call := c.p.hist.clock.Add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	ds, err := mb.Dequeue(ctx, mbHost, max, mbLease)
	cancel()
	ret := c.p.hist.clock.Add(1)
	if err != nil {
		return nil, err
	}
	if len(ds) > 0 {
		c.p.committed(n, e)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range ds {
		id := d.Message.ID
		c.delivered++
		rec := c.msgs[id]
		switch {
		case rec == nil:
			c.violate("%s delivered message %s, which was never published", n.id, id)
			continue
		case rec.comp == mbAcked && rec.compRet < call:
			c.violate("%s delivered message %s again (count %d) after its Complete was acknowledged", n.id, id, d.DeliveryCount)
		case rec.count > 0 && rec.countRet < call && d.DeliveryCount <= rec.count:
			c.violate("%s delivered message %s with count %d after an acknowledged delivery with count %d", n.id, id, d.DeliveryCount, rec.count)
		}
		if d.DeliveryCount > rec.count {
			rec.count, rec.countRet = d.DeliveryCount, ret
		}
	}
	return ds, nil
}

// complete settles deliveries in one Complete and records the outcome.
func (c *mbChecker) complete(n *testNode, mb *messagebox.Store, ds ...*messagebox.Delivery) {
	leases := make([]messagebox.Lease, len(ds))
	for i, d := range ds {
		leases[i] = d.Lease
	}
	e := n.curEpoch()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	err := mb.Complete(ctx, leases...)
	cancel()
	ret := c.p.hist.clock.Add(1)
	if err == nil {
		c.p.committed(n, e)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range ds {
		rec := c.msgs[d.Message.ID]
		switch {
		case rec == nil:
		case err == nil:
			c.completed++
			if rec.comp != mbAcked {
				rec.comp, rec.compRet = mbAcked, ret
			}
		case errors.Is(err, messagebox.ErrLeaseLost):
			// Nothing changed.
		case rec.comp == mbNone:
			rec.comp = mbInDoubt
		}
	}
}

// check verifies the final state on the settled active: every
// acknowledged publish is still stored unless a Complete of it was tried,
// and no acknowledged Complete's message is stored. Then it drains the
// queue, checking each delivery as the load does. It returns the number
// of acknowledged operations lost.
func (c *mbChecker) check(n *testNode) (lost int, err error) {
	mb, err := n.MessageBox()
	if err != nil {
		return 0, err
	}
	// (Violations are recorded only once the whole check ran: if the node
	// steps down meanwhile, the caller settles again and calls check again.)
	var found []string
	c.mu.Lock()
	for id, rec := range c.msgs {
		_, err := mb.GetMessage(context.Background(), id)
		stored := err == nil
		if err != nil && !errors.Is(err, messagebox.ErrNotFound) {
			c.mu.Unlock()
			return 0, err
		}
		switch {
		case rec.pub == mbAcked && !stored && rec.comp == mbNone:
			found = append(found, fmt.Sprintf("acknowledged publish of %s lost", id))
		case rec.comp == mbAcked && stored:
			found = append(found, fmt.Sprintf("acknowledged Complete of %s lost: the message is still stored", id))
		}
	}
	c.mu.Unlock()
	for {
		ds, err := c.dequeue(n, mb, 100)
		if err != nil {
			return 0, fmt.Errorf("drain: %w", err)
		}
		if len(ds) == 0 {
			break
		}
		c.complete(n, mb, ds...)
	}
	c.mu.Lock()
	c.violations = append(c.violations, found...)
	c.mu.Unlock()
	return len(found), nil
}

// curEpoch is the epoch of the node's current (or last) term.
func (n *Node) curEpoch() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.role != Active {
		return 0
	}
	return n.epoch
}

// committed records that n acknowledged a commit that began in epoch e
// (0: not active then): a second node acknowledging a commit in the same
// epoch is a split brain.
func (p *trialPair) committed(n *testNode, e uint64) {
	if e == 0 || n.curEpoch() != e {
		return // the term changed meanwhile: the commit is not attributable
	}
	p.promoMu.Lock()
	defer p.promoMu.Unlock()
	if prev, ok := p.committers[e]; ok && prev != n.id {
		p.dupEpoch = fmt.Sprintf("epoch %d: commits acknowledged by %s and %s", e, prev, n.id)
	}
	p.committers[e] = n.id
}
