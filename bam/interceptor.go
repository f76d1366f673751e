package bam

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/antchfx/xmlquery"
	"github.com/biztier/biztier/internal/codec"
)

// TrackedMessage is a message as the interceptor sees it: the orchestration
// message (or port message) the profile names, its parts' bodies and its
// context properties by "namespace#name".
type TrackedMessage struct {
	// Name is the orchestration's message variable (the profile's
	// MessageName); empty for a port's message.
	Name       string
	Parts      map[string][]byte
	Properties map[string]any
}

// Interceptor turns an orchestration's progress, or a port's messages,
// into BAM events as the bound tracking profiles say, with no code in the
// orchestration: BizTalk's BAM interceptor. The runtime calls it at each
// shape it runs (Shape) and when an instance completes (Complete), with
// the persistence point's transaction: the events are orchestration
// stream events and commit with that persistence point. An Interceptor
// of an orchestration no profile names does nothing. It is safe for
// concurrent use; a Run is not.
type Interceptor struct {
	s    *Store
	name string
	port bool
}

// Interceptor returns the interceptor of the orchestration the runtime
// calls name.
func (s *Store) Interceptor(orchestration string) *Interceptor {
	return &Interceptor{s: s, name: orchestration}
}

// PortInterceptor returns the interceptor of a port (messaging sources).
func (s *Store) PortInterceptor(port string) *Interceptor {
	return &Interceptor{s: s, name: port, port: true}
}

// Run is the interceptor's state for one orchestration instance: per
// profile, the activity ID it writes to, the continuation token it writes
// through, and whether it has begun. The runtime keeps it with the
// instance's state (MarshalBinary, UnmarshalRun) across dehydration.
type Run struct {
	ServiceInstance string
	segs            map[string]*runSeg
}

type runSeg struct {
	ActivityID, Token string
	Started           bool
}

// Start returns the Run of a new orchestration instance.
func (ic *Interceptor) Start(serviceInstanceID string) *Run {
	return &Run{ServiceInstance: serviceInstanceID, segs: map[string]*runSeg{}}
}

const runVersion = 1

// MarshalBinary encodes the run for the instance's persisted state.
func (r *Run) MarshalBinary() ([]byte, error) {
	e := codec.NewEncoder(nil)
	e.Version(runVersion)
	e.String(r.ServiceInstance)
	names := make([]string, 0, len(r.segs))
	for n := range r.segs {
		names = append(names, n)
	}
	slices.Sort(names)
	e.Uvarint(uint64(len(names)))
	for _, n := range names {
		sg := r.segs[n]
		e.String(n)
		e.String(sg.ActivityID)
		e.String(sg.Token)
		e.Bool(sg.Started)
	}
	return e.Encoded(), nil
}

// UnmarshalRun decodes a Run that MarshalBinary encoded.
func UnmarshalRun(b []byte) (*Run, error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(runVersion); err != nil {
		return nil, corruptf("run: %v", err)
	}
	r := &Run{ServiceInstance: d.Text(), segs: map[string]*runSeg{}}
	n := d.Uvarint()
	if n > maxItems {
		return nil, corruptf("run: %d segments", n)
	}
	for range n {
		if d.Err() != nil {
			break
		}
		name := d.Text()
		r.segs[name] = &runSeg{ActivityID: d.Text(), Token: d.Text(), Started: d.Bool()}
	}
	if err := d.Finish(); err != nil {
		return nil, corruptf("run: %v", err)
	}
	return r, nil
}

// seg is the run's segment for a profile; its activity ID defaults to the
// service instance (a TraceID item with no mapping).
func (r *Run) seg(profile string) *runSeg {
	sg := r.segs[profile]
	if sg == nil {
		sg = &runSeg{ActivityID: r.ServiceInstance}
		r.segs[profile] = sg
	}
	return sg
}

// Shape records that the orchestration ran shape shapeID (the profile's
// ShapeID), with the messages the shape received or sent. For each bound
// profile with items on that shape it writes, into tx: BeginActivity the
// first time, the milestones (the time now) and data (XPath into a message
// part, or a context property), and EnableContinuation for a Continuation
// item. A value that does not fit its checkpoint fails the call, and with
// it the persistence point: BAM's default, processing equal to tracking.
// Map a profile's ActivityID (or ContinuationID) at the first shape that
// writes events: earlier events go to the service instance's ID.
func (ic *Interceptor) Shape(ctx context.Context, tx Tx, run *Run, shapeID string, msgs ...TrackedMessage) error {
	if run == nil || run.segs == nil {
		return fmt.Errorf("%w: nil Run", ErrInvalid)
	}
	return ic.fire(ctx, tx, run, func(lv *DataLevel, b *bound) bool {
		ref := lv.OrchestrationReference
		if m := b.binding.Orchestrations[ref]; m != "" {
			ref = m
		}
		return ref == ic.name && strings.EqualFold(lv.ShapeID, shapeID) &&
			(lv.SourceTypeSelected == SourceShape || lv.SourceTypeSelected == SourcePayload || lv.SourceTypeSelected == SourceContextProperty)
	}, msgs, false)
}

// Complete records that the orchestration instance completed: each
// profile segment that began (or continued) ends.
func (ic *Interceptor) Complete(ctx context.Context, tx Tx, run *Run) error {
	if run == nil || run.segs == nil {
		return fmt.Errorf("%w: nil Run", ErrInvalid)
	}
	es := ic.s.OrchestrationStream(tx)
	names := make([]string, 0, len(run.segs))
	for n := range run.segs {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		sg := run.segs[n]
		if !sg.Started {
			continue
		}
		id := sg.ActivityID
		if sg.Token != "" {
			id = sg.Token
		}
		if err := es.EndActivity(ctx, n, id); err != nil {
			return err
		}
	}
	return nil
}

// Message records a message through a port: for each bound profile with
// messaging items on the port, one activity segment that begins, takes
// the message's data and ends (or, with a ContinuationID item, continues
// an activity through its token), written into tx, the publish's
// transaction. The activity ID is the TraceID item's value, or msgID.
func (ic *Interceptor) Message(ctx context.Context, tx Tx, msgID string, msg TrackedMessage) error {
	run := ic.Start(msgID)
	err := ic.fire(ctx, tx, run, func(lv *DataLevel, b *bound) bool {
		port := lv.PortName
		if m := b.binding.Ports[port]; m != "" {
			port = m
		}
		return port == ic.name && (lv.SourceTypeSelected == SourceMessagingPayload || lv.SourceTypeSelected == SourceMessagingProp)
	}, []TrackedMessage{msg}, true)
	if err != nil {
		return err
	}
	return ic.Complete(ctx, tx, run)
}

// fire writes the events of every bound profile's levels that match.
func (ic *Interceptor) fire(ctx context.Context, tx Tx, run *Run, match func(*DataLevel, *bound) bool, msgs []TrackedMessage, anyMsg bool) error {
	es := ic.s.OrchestrationStream(tx)
	docs := docCache{}
	profs := *ic.s.profiles.Load()
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for n := range profs {
			if !yield(n) {
				return
			}
		}
	}) {
		b := profs[name]
		type hit struct {
			d  *ProfileDimension
			lv *DataLevel
		}
		var hits []hit
		for i := range b.profile.Dimensions {
			d := &b.profile.Dimensions[i]
			for j := range d.Levels {
				if match(&d.Levels[j], b) {
					hits = append(hits, hit{d, &d.Levels[j]})
				}
			}
		}
		if len(hits) == 0 {
			continue
		}
		sg := run.seg(name)
		now := ic.s.now()
		// Identity first: where this shape's events go.
		for _, h := range hits {
			switch h.d.DataType {
			case ItemTraceID, ItemContinuationID:
				v, ok, err := docs.sourceValue(h.lv, msgs, anyMsg)
				if err != nil {
					return err
				}
				if !ok || v == "" {
					continue
				}
				if h.d.DataType == ItemTraceID {
					sg.ActivityID = v
				} else {
					sg.Token = h.d.Name + v
				}
			}
		}
		target := sg.ActivityID
		if sg.Token != "" {
			target = sg.Token
		} else if b.continues() {
			// A continuation segment must not begin an instance of its
			// own; without its token its events have nowhere to go.
			return fmt.Errorf("%w: tracking profile %s: the continuation ID is not known at shape or message %q", ErrInvalidEvent, name, target)
		}
		if !sg.Started {
			if sg.Token == "" {
				if err := es.BeginActivity(ctx, name, target); err != nil {
					return err
				}
			}
			sg.Started = true
		}
		var kv []any
		var enables []string
		for _, h := range hits {
			switch h.d.DataType {
			case ItemTraceID, ItemContinuationID:
				continue
			case ItemContinuation:
				v, ok, err := docs.sourceValue(h.lv, msgs, anyMsg)
				if err != nil {
					return err
				}
				if ok && v != "" {
					enables = append(enables, h.d.Name+v)
				}
				continue
			}
			if h.lv.SourceTypeSelected == SourceShape {
				kv = append(kv, h.d.Name, now)
				continue
			}
			v, ok, err := docs.sourceValue(h.lv, msgs, anyMsg)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			x, err := fromText(DataType(h.d.DataType), v)
			if err != nil {
				return &CheckpointError{Activity: name, Checkpoint: h.d.Name, Err: err}
			}
			kv = append(kv, h.d.Name, x)
		}
		if len(kv) > 0 {
			if err := es.UpdateActivity(ctx, name, target, kv...); err != nil {
				return err
			}
		}
		for _, t := range enables {
			if err := es.EnableContinuation(ctx, name, target, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// continues reports whether the profile is a continuation segment.
func (b *bound) continues() bool {
	return slices.ContainsFunc(b.profile.Dimensions, func(d ProfileDimension) bool { return d.DataType == ItemContinuationID })
}

// docCache keeps the message parts one call has parsed, by message index
// and part name: a shape's items often read the same part.
type docCache map[[2]string]*xmlquery.Node

// sourceValue reads a level's value from the messages: an XPath into the
// named part of the named message, or a context property. ok is false when
// the message or the value is not there.
func (dc docCache) sourceValue(lv *DataLevel, msgs []TrackedMessage, anyMsg bool) (string, bool, error) {
	var m *TrackedMessage
	for i := range msgs {
		if anyMsg || lv.MessageName == "" || msgs[i].Name == lv.MessageName {
			m = &msgs[i]
			break
		}
	}
	if m == nil {
		return "", false, nil
	}
	switch lv.SourceTypeSelected {
	case SourceContextProperty, SourceMessagingProp:
		key, ok := propertyKey(lv.XPath)
		if !ok {
			return "", false, fmt.Errorf("%w: context property XPath %q", ErrInvalid, lv.XPath)
		}
		v, ok := m.Properties[key]
		if !ok || v == nil {
			return "", false, nil
		}
		if t, isTime := v.(time.Time); isTime {
			return t.UTC().Format(time.RFC3339Nano), true, nil
		}
		return fmt.Sprint(v), true, nil
	case SourcePayload, SourceMessagingPayload:
		part := lv.MessagePart
		body, ok := m.Parts[part]
		if !ok && len(m.Parts) == 1 {
			for p, b := range m.Parts {
				part, body, ok = p, b, true
			}
		}
		if !ok {
			return "", false, nil
		}
		key := [2]string{m.Name, part}
		doc := dc[key]
		if doc == nil {
			var err error
			if doc, err = xmlquery.Parse(bytes.NewReader(body)); err != nil {
				return "", false, fmt.Errorf("%w: message %s part %s: %v", ErrInvalidEvent, m.Name, part, err)
			}
			dc[key] = doc
		}
		n, err := xmlquery.Query(doc, lv.XPath)
		if err != nil {
			return "", false, fmt.Errorf("%w: XPath %q: %v", ErrInvalid, lv.XPath, err)
		}
		if n == nil {
			return "", false, nil
		}
		return strings.TrimSpace(n.InnerText()), true, nil
	}
	return "", false, nil
}

// lastStep matches the last step of a context property's XPath, as the
// Tracking Profile Editor writes it.
var lastStep = regexp.MustCompile(`local-name\(\)='([^']*)' and namespace-uri\(\)='([^']*)'\]$`)

func propertyKey(xpath string) (string, bool) {
	m := lastStep.FindStringSubmatch(strings.TrimSpace(xpath))
	if m == nil {
		return "", false
	}
	return m[2] + "#" + m[1], true
}

// fromText types a value read from a message.
func fromText(t DataType, s string) (any, error) {
	switch t {
	case DateTime:
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02"} {
			if v, err := time.Parse(layout, s); err == nil {
				return v, nil
			}
		}
		return nil, fmt.Errorf("%w: %q is not an xs:dateTime", ErrType, s)
	case Int:
		v, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			if b, berr := strconv.ParseBool(s); berr == nil {
				// xs:boolean data items map to INT 0 or 1.
				if b {
					return 1, nil
				}
				return 0, nil
			}
			return nil, fmt.Errorf("%w: %q is not an INT", ErrType, s)
		}
		return v, nil
	case Float:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: %q is not a FLOAT", ErrType, s)
		}
		return v, nil
	}
	return s, nil
}
