package bam

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// This file folds events into instance records: the BAM Primary Import
// procedure (bam_<A>_PrimaryImport) of this package. A folder reads the
// committed state, keeps every record it touches in memory, and writes
// them, with the real-time aggregation deltas they cause, into one batch:
// a direct flush or a decoder pass is one commit, so an aggregation is
// exactly as current as the instances it counts.
//
// Out-of-order events are reconciled, never dropped:
//   - an update, an end or a reference before its begin creates the
//     record; the begin marks it begun later;
//   - events addressed to a continuation token before the parent's
//     EnableContinuation create a record under the token; the enable
//     merges it into the parent, with its values, references, ended
//     segment and the tokens it enabled itself;
//   - an instance completes when it is begun, its main segment has ended
//     and every continuation segment it enabled has ended, in whatever
//     order those arrived;
//   - events for a completed instance update it where it is.

type instKey struct{ act, id string }

// slot is one instance the folder touched.
type slot struct {
	in *instance // nil once merged away
	// orig is where the record was: its active key, or its completed and
	// by-ID keys; nil for a new record.
	origActive    []byte
	origCompleted []byte
	// base are the aggregation contributions the committed record made.
	base []contrib
}

type contrib struct {
	key string
	c   *cell
}

type folder struct {
	s     *Store
	cat   *catalog
	r     pebble.Reader
	insts map[instKey]*slot
	conts map[instKey]*contRec
	// dirtyConts are the continuation records to write.
	dirtyConts map[instKey]bool
}

func newFolder(s *Store, cat *catalog) *folder {
	return &folder{s: s, cat: cat, r: s.r, insts: map[instKey]*slot{}, conts: map[instKey]*contRec{}, dirtyConts: map[instKey]bool{}}
}

// errUnappliable marks an event that names an activity no longer deployed.
var errUnappliable = errors.New("bam: event for an activity not deployed")

// apply folds one event.
func (f *folder) apply(ev *event) error {
	act := f.cat.acts[ev.activity]
	if act == nil {
		return fmt.Errorf("%w: %s", errUnappliable, ev.activity)
	}
	root, seg, err := f.resolve(ev.activity, ev.id)
	if err != nil {
		return err
	}
	sl, err := f.load(act, root, ev.at)
	if err != nil {
		return err
	}
	in := sl.in
	switch ev.kind {
	case evBegin:
		if seg == "" {
			in.begun = true
		}
	case evUpdate:
		for _, fl := range ev.fields {
			in.set(fl.name, fl.v)
		}
	case evReference:
		// One row per AddReference, as BAM's relationship tables: a
		// reference added twice is there twice.
		in.refs = append(in.refs, ev.ref)
	case evEnableContinuation:
		if err := f.enable(act, sl, ev); err != nil {
			return err
		}
	case evEnd:
		if seg == "" {
			in.ended = true
		} else {
			c := f.conts[instKey{ev.activity, seg}]
			c.ended = true
			f.dirtyConts[instKey{ev.activity, seg}] = true
			in.pending = slices.DeleteFunc(in.pending, func(t string) bool { return t == seg })
		}
	case evComplete:
		in.begun, in.ended = true, true
		for _, t := range in.pending {
			k := instKey{ev.activity, t}
			if c, err := f.cont(k); err == nil && c != nil {
				c.ended = true
				f.dirtyConts[k] = true
			}
		}
		in.pending = nil
	}
	if ev.at.After(in.modified) {
		in.modified = ev.at
	}
	if in.completed.IsZero() && in.begun && in.ended && len(in.pending) == 0 {
		in.completed = in.modified
	}
	return nil
}

// enable links token to the instance in sl, merging what arrived under the
// token before.
func (f *folder) enable(act *actInfo, sl *slot, ev *event) error {
	in := sl.in
	k := instKey{ev.activity, ev.token}
	if ev.token == in.id {
		return fmt.Errorf("%w: continuation token %s is the instance's own ID", ErrInvalidEvent, ev.token)
	}
	if c, err := f.cont(k); err != nil {
		return err
	} else if c != nil {
		if c.parent == in.id {
			return nil // enabled twice: once is enough
		}
		return fmt.Errorf("%w: continuation token %s already continues %s", ErrInvalidEvent, ev.token, c.parent)
	}
	orphan, err := f.loadExisting(act, ev.token)
	if err != nil {
		return err
	}
	if orphan != nil && orphan.in != nil && (orphan.in.begun || !orphan.in.completed.IsZero()) {
		return fmt.Errorf("%w: continuation token %s is an activity instance of its own", ErrInvalidEvent, ev.token)
	}
	f.conts[k] = &contRec{parent: in.id}
	f.dirtyConts[k] = true
	if !slices.Contains(in.tokens, ev.token) {
		in.tokens = append(in.tokens, ev.token)
	}
	in.pending = append(in.pending, ev.token)
	if orphan == nil || orphan.in == nil {
		return nil
	}
	o := orphan.in
	for _, fl := range o.fields {
		if !in.get(fl.name).IsSet() {
			in.set(fl.name, fl.v)
		}
	}
	in.refs = append(in.refs, o.refs...)
	if o.ended {
		f.conts[k].ended = true
		in.pending = slices.DeleteFunc(in.pending, func(t string) bool { return t == ev.token })
	}
	// Tokens the orphan segment enabled now continue the parent.
	for _, t := range o.tokens {
		tk := instKey{ev.activity, t}
		c, err := f.cont(tk)
		if err != nil {
			return err
		}
		if c == nil {
			continue
		}
		c.parent = in.id
		f.dirtyConts[tk] = true
		if !slices.Contains(in.tokens, t) {
			in.tokens = append(in.tokens, t)
		}
		if !c.ended && !slices.Contains(in.pending, t) {
			in.pending = append(in.pending, t)
		}
	}
	if o.created.Before(in.created) {
		in.created = o.created
	}
	if o.modified.After(in.modified) {
		in.modified = o.modified
	}
	orphan.in = nil
	return nil
}

// resolve maps an event's ID to the instance it belongs to and the
// continuation segment ("" for the main one).
func (f *folder) resolve(act, id string) (root, seg string, err error) {
	if id == "" {
		return "", "", fmt.Errorf("%w: empty activity ID", ErrInvalidEvent)
	}
	c, err := f.cont(instKey{act, id})
	if err != nil {
		return "", "", err
	}
	if c == nil {
		return id, "", nil
	}
	return c.parent, id, nil
}

// cont returns a continuation record, nil if there is none.
func (f *folder) cont(k instKey) (*contRec, error) {
	if c, ok := f.conts[k]; ok {
		return c, nil
	}
	v, err := get(f.r, contKey(k.act, k.id))
	if errors.Is(err, errNotFound) {
		f.conts[k] = nil
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c, err := decodeCont(v)
	if err != nil {
		return nil, err
	}
	f.conts[k] = &c
	return &c, nil
}

// load returns the instance's slot, creating a new record if none exists.
func (f *folder) load(act *actInfo, id string, at time.Time) (*slot, error) {
	sl, err := f.loadExisting(act, id)
	if err != nil {
		return nil, err
	}
	if sl == nil {
		sl = &slot{in: &instance{id: id, created: at, modified: at}}
		f.insts[instKey{act.Name, id}] = sl
	} else if sl.in == nil {
		// Merged into another instance in this pass; a later event for
		// the ID starts a new record.
		sl.in = &instance{id: id, created: at, modified: at}
	}
	return sl, nil
}

// loadExisting returns the instance's slot, nil if there is no record.
func (f *folder) loadExisting(act *actInfo, id string) (*slot, error) {
	k := instKey{act.Name, id}
	if sl, ok := f.insts[k]; ok {
		return sl, nil
	}
	ak := activeKey(act.Name, id)
	v, err := get(f.r, ak)
	var sl *slot
	switch {
	case err == nil:
		in, err := decodeInstance(v)
		if err != nil {
			return nil, err
		}
		sl = &slot{in: in, origActive: ak}
	case errors.Is(err, errNotFound):
		in, ck, err := readCompleted(f.r, act.Name, id)
		if err != nil || in == nil {
			return nil, err
		}
		sl = &slot{in: in, origCompleted: ck}
	default:
		return nil, err
	}
	sl.base = f.contributions(act, sl.in)
	f.insts[k] = sl
	return sl, nil
}

// readCompleted finds a completed instance through the by-ID index.
func readCompleted(r pebble.Reader, act, id string) (*instance, []byte, error) {
	v, err := get(r, byIDKey(act, id))
	if errors.Is(err, errNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	ck := append(completedPrefix(act), v...)
	rec, err := get(r, ck)
	if errors.Is(err, errNotFound) {
		return nil, nil, corruptf("completed index of %s/%s points at nothing", act, id)
	}
	if err != nil {
		return nil, nil, err
	}
	in, err := decodeInstance(rec)
	return in, ck, err
}

// contributions are what an instance adds to its activity's aggregations.
func (f *folder) contributions(act *actInfo, in *instance) []contrib {
	if in == nil || len(act.rtas) == 0 {
		return nil
	}
	slice := in.modified.Truncate(f.s.opts.RTATimeSlice)
	out := make([]contrib, 0, len(act.rtas))
	for _, r := range act.rtas {
		dims, c := r.contribution(in)
		out = append(out, contrib{string(cellKey(r.name, slice, dims)), c})
	}
	return out
}

// write puts every touched record and the aggregation deltas into b.
func (f *folder) write(b *pebble.Batch) error {
	deltas := map[string]*cell{}
	addAll := func(cs []contrib, sign int64) {
		for _, c := range cs {
			d := deltas[c.key]
			if d == nil {
				d = &cell{}
				deltas[c.key] = d
			}
			d.add(c.c, sign)
		}
	}
	var buf []byte
	for k, sl := range f.insts {
		act := f.cat.acts[k.act]
		addAll(sl.base, -1)
		addAll(f.contributions(act, sl.in), +1)
		switch {
		case sl.in == nil:
			if sl.origActive != nil {
				if err := b.Delete(sl.origActive, nil); err != nil {
					return err
				}
			}
		case !sl.in.completed.IsZero():
			if sl.origActive != nil {
				if err := b.Delete(sl.origActive, nil); err != nil {
					return err
				}
			}
			part := f.s.opts.partitionOf(sl.in.completed)
			ck := completedKey(k.act, part, sl.in.completed, k.id)
			if sl.origCompleted != nil && string(sl.origCompleted) != string(ck) {
				if err := b.Delete(sl.origCompleted, nil); err != nil {
					return err
				}
			}
			buf = encodeInstance(buf[:0], sl.in)
			if err := b.Set(ck, buf, nil); err != nil {
				return err
			}
			if err := b.Set(byIDKey(k.act, k.id), ck[len(completedPrefix(k.act)):], nil); err != nil {
				return err
			}
		default:
			buf = encodeInstance(buf[:0], sl.in)
			if err := b.Set(activeKey(k.act, k.id), buf, nil); err != nil {
				return err
			}
		}
	}
	for k := range f.dirtyConts {
		if err := b.Set(contKey(k.act, k.id), encodeCont(nil, *f.conts[k]), nil); err != nil {
			return err
		}
	}
	for k, d := range deltas {
		if d.zero() {
			continue
		}
		cur := &cell{}
		if v, err := get(f.r, []byte(k)); err == nil {
			if cur, err = decodeCell(v); err != nil {
				return err
			}
		} else if !errors.Is(err, errNotFound) {
			return err
		}
		cur.add(d, 1)
		if cur.empty() {
			if err := b.Delete([]byte(k), nil); err != nil {
				return err
			}
			continue
		}
		if err := b.Set([]byte(k), encodeCell(nil, cur), nil); err != nil {
			return err
		}
	}
	return nil
}
