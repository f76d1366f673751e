package tracking

import (
	"time"

	"github.com/biztier/biztier/internal/codec"
	"github.com/google/uuid"
)

// Value formats. Every value starts with its format-version byte; decoders
// accept every version up to the current one, encoders write the current.
const (
	instanceVersion = 2 // 2 adds the implied Started and Completed events
	historyVersion  = 1
	eventVersion    = 1
	bodyVersion     = 1
	progressVersion = 1

	// formatVersion is the layout version of the tracking database and of
	// archive files. Open refuses a newer one.
	formatVersion = 1
)

// instanceRow is a tracked service instance (ServiceInstances, key id).
type instanceRow struct {
	service     string
	serviceType ServiceType
	host        string
	state       InstanceState
	start       uint64 // stamp of the first lifecycle event
	end         uint64 // stamp of the finishing event; 0 unless final
	last        uint64 // stamp of the last lifecycle event
	startedAt   time.Time
	endedAt     time.Time
	lastError   string
	// The start and the completion of an instance have no lifecycle row of
	// their own: they are the row's start and end, and their host and
	// error are kept here (version 2). Every delivery starts and completes
	// an instance, so two rows fewer per delivery is a sixth of what
	// tracking writes.
	started, completed lifecycleNote
}

// lifecycleNote is the host and error of a lifecycle event kept in its
// instance row; set reports that the event happened.
type lifecycleNote struct {
	set         bool
	host, error string
}

func (n *lifecycleNote) encode(e *codec.Encoder) {
	e.Bool(n.set)
	e.String(n.host)
	e.String(n.error)
}

func (n *lifecycleNote) decode(d *codec.Decoder) {
	n.set = d.Bool()
	n.host = d.Text()
	n.error = d.Text()
}

func (r *instanceRow) encode(e *codec.Encoder) {
	e.Version(instanceVersion)
	e.String(r.service)
	e.Uvarint(uint64(r.serviceType))
	e.String(r.host)
	e.Uvarint(uint64(r.state))
	e.Uvarint(r.start)
	e.Uvarint(r.end)
	e.Uvarint(r.last)
	e.Time(r.startedAt)
	e.Time(r.endedAt)
	e.String(r.lastError)
	r.started.encode(e)
	r.completed.encode(e)
}

func decodeInstance(b []byte) (r instanceRow, err error) {
	d := codec.NewDecoder(b)
	v, err := d.ExpectVersion(instanceVersion)
	if err != nil {
		return r, corruption("instance", err)
	}
	r.service = d.Text()
	r.serviceType = ServiceType(d.Uvarint())
	r.host = d.Text()
	r.state = InstanceState(d.Uvarint())
	r.start = d.Uvarint()
	r.end = d.Uvarint()
	r.last = d.Uvarint()
	r.startedAt = d.Time()
	r.endedAt = d.Time()
	r.lastError = d.Text()
	if v >= 2 {
		r.started.decode(d)
		r.completed.decode(d)
	}
	if err := d.Finish(); err != nil {
		return instanceRow{}, corruption("instance", err)
	}
	if r.state < StateRunning || r.state > maxState {
		return instanceRow{}, corruption("instance", codecErrorf("state %d", r.state))
	}
	return r, nil
}

// histRow is one lifecycle event (ServiceInstances, key id, stamp).
type histRow struct {
	kind  EventKind
	at    time.Time
	host  string
	error string
}

func (r *histRow) encode(e *codec.Encoder) {
	e.Version(historyVersion)
	e.Uvarint(uint64(r.kind))
	e.Time(r.at)
	e.String(r.host)
	e.String(r.error)
}

func decodeHistory(b []byte) (r histRow, err error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(historyVersion); err != nil {
		return r, corruption("lifecycle event", err)
	}
	r.kind = EventKind(d.Uvarint())
	r.at = d.Time()
	r.host = d.Text()
	r.error = d.Text()
	if err := d.Finish(); err != nil {
		return histRow{}, corruption("lifecycle event", err)
	}
	if !r.kind.IsInstanceEvent() {
		return histRow{}, corruption("lifecycle event", codecErrorf("kind %d", r.kind))
	}
	return r, nil
}

// eventRow is a message event (MessageEvents, key instance id, stamp).
type eventRow struct {
	kind         EventKind
	at           time.Time
	messageID    uuid.UUID
	service      string
	serviceType  ServiceType
	host         string
	error        string
	port         string
	adapter      string
	url          string
	direction    Direction
	size         int64
	subscription uuid.UUID
	properties   []Property
	hasBody      bool
}

func (r *eventRow) encode(e *codec.Encoder) {
	e.Version(eventVersion)
	e.Uvarint(uint64(r.kind))
	e.Time(r.at)
	e.UUID(r.messageID)
	e.String(r.service)
	e.Uvarint(uint64(r.serviceType))
	e.String(r.host)
	e.String(r.error)
	e.String(r.port)
	e.String(r.adapter)
	e.String(r.url)
	e.Uvarint(uint64(r.direction))
	e.Varint(r.size)
	e.UUID(r.subscription)
	e.Uvarint(uint64(len(r.properties)))
	for _, p := range r.properties {
		e.String(p.Name)
		e.String(p.Value)
	}
	e.Bool(r.hasBody)
}

func decodeEvent(b []byte) (r eventRow, err error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(eventVersion); err != nil {
		return r, corruption("message event", err)
	}
	r.kind = EventKind(d.Uvarint())
	r.at = d.Time()
	r.messageID = d.UUID()
	r.service = d.Text()
	r.serviceType = ServiceType(d.Uvarint())
	r.host = d.Text()
	r.error = d.Text()
	r.port = d.Text()
	r.adapter = d.Text()
	r.url = d.Text()
	r.direction = Direction(d.Uvarint())
	r.size = d.Varint()
	r.subscription = d.UUID()
	n := d.Uvarint()
	// Each property takes at least two bytes, which bounds a corrupt count.
	if n > uint64(d.Remaining()/2) {
		return eventRow{}, corruption("message event", codecErrorf("%d properties in %d bytes", n, d.Remaining()))
	}
	if n > 0 {
		r.properties = make([]Property, 0, codec.Prealloc(n))
		for i := uint64(0); i < n && d.Err() == nil; i++ {
			r.properties = append(r.properties, Property{Name: d.Text(), Value: d.Text()})
		}
	}
	r.hasBody = d.Bool()
	if err := d.Finish(); err != nil {
		return eventRow{}, corruption("message event", err)
	}
	if !r.kind.IsMessageEvent() {
		return eventRow{}, corruption("message event", codecErrorf("kind %d", r.kind))
	}
	return r, nil
}

func encodeBody(e *codec.Encoder, b *Body) {
	e.Version(bodyVersion)
	e.Uvarint(uint64(len(b.Context)))
	for _, p := range b.Context {
		e.String(p.Name)
		e.String(p.Value)
	}
	e.Uvarint(uint64(len(b.Parts)))
	for _, p := range b.Parts {
		e.String(p.Name)
		e.String(p.ContentType)
		e.Bytes(p.Data)
	}
}

// decodeBody decodes a tracked body. The result owns its memory.
func decodeBody(b []byte) (body Body, err error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(bodyVersion); err != nil {
		return body, corruption("tracked body", err)
	}
	n := d.Uvarint()
	if n > uint64(d.Remaining()/2) {
		return Body{}, corruption("tracked body", codecErrorf("%d properties in %d bytes", n, d.Remaining()))
	}
	if n > 0 {
		body.Context = make([]Property, 0, codec.Prealloc(n))
		for i := uint64(0); i < n && d.Err() == nil; i++ {
			body.Context = append(body.Context, Property{Name: d.Text(), Value: d.Text()})
		}
	}
	n = d.Uvarint()
	if n > uint64(d.Remaining()/3) {
		return Body{}, corruption("tracked body", codecErrorf("%d parts in %d bytes", n, d.Remaining()))
	}
	if n > 0 {
		body.Parts = make([]Part, 0, codec.Prealloc(n))
		for i := uint64(0); i < n && d.Err() == nil; i++ {
			body.Parts = append(body.Parts, Part{Name: d.Text(), ContentType: d.Text(), Data: d.BytesCopy()})
		}
	}
	if err := d.Finish(); err != nil {
		return Body{}, corruption("tracked body", err)
	}
	return body, nil
}

// progress is the purge's persisted state (TrackingMeta "purge-progress"),
// written in the transaction of every purge batch.
type progress struct {
	nextBatch uint64 // number of the next batch; names its archive file
	batches   uint64 // batches committed
	instances uint64 // instances purged
	rows      uint64 // primary rows purged
	lastRun   uint64 // stamp of the last committed batch
}

func (p *progress) encode(e *codec.Encoder) {
	e.Version(progressVersion)
	e.Uvarint(p.nextBatch)
	e.Uvarint(p.batches)
	e.Uvarint(p.instances)
	e.Uvarint(p.rows)
	e.Uvarint(p.lastRun)
}

func decodeProgress(b []byte) (p progress, err error) {
	d := codec.NewDecoder(b)
	if _, err := d.ExpectVersion(progressVersion); err != nil {
		return p, corruption("purge progress", err)
	}
	p.nextBatch = d.Uvarint()
	p.batches = d.Uvarint()
	p.instances = d.Uvarint()
	p.rows = d.Uvarint()
	p.lastRun = d.Uvarint()
	if err := d.Finish(); err != nil {
		return progress{}, corruption("purge progress", err)
	}
	return p, nil
}
