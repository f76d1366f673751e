package messagebox

import "github.com/google/uuid"

// routing is the MessageBox's part that decides where a message goes: the
// subscriptions, by ID, and the index that matches a message's promoted
// properties against their predicates. It changes only when a
// subscription's commit has succeeded (or, for removal, from the moment
// the removal is planned, so nothing routes to a subscription being
// removed); the Store's lock guards it.
type routing struct {
	subs map[uuid.UUID]*subState
	idx  subIndex
}

func newRouting() routing {
	return routing{subs: make(map[uuid.UUID]*subState), idx: newSubIndex()}
}

// add makes st route.
func (r *routing) add(st *subState) {
	r.subs[st.ID] = st
	r.idx.add(st)
}

// remove stops st routing.
func (r *routing) remove(st *subState) {
	r.idx.remove(st)
	delete(r.subs, st.ID)
}

// match returns the subscriptions m matches; buf is scratch space.
func (r *routing) match(m *Message, buf []byte) []*subState { return r.idx.match(m, buf) }
