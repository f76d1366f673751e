package tracking

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// model is a plain in-memory tracking database: every recorded event in
// recording order, with the stamp the store gives it.
type model struct {
	last   uint64
	events []modelEvent
	insts  map[uuid.UUID]*modelInstance
}

type modelEvent struct {
	stamp uint64
	e     Event
}

type modelInstance struct {
	id      uuid.UUID
	service string
	state   InstanceState
	start   uint64
}

func (m *model) stamp(now time.Time) uint64 {
	m.last = max(m.last+1, stampOf(now))
	return m.last
}

func (m *model) record(now time.Time, evs []Event) {
	for _, e := range evs {
		st := m.stamp(now)
		if e.Kind.IsInstanceEvent() {
			in := m.insts[e.InstanceID]
			if in == nil || e.Kind == InstanceStarted { // a start makes a new record
				in = &modelInstance{id: e.InstanceID, service: e.Service, start: st}
				m.insts[e.InstanceID] = in
			}
			in.state = stateAfter(e.Kind)
			continue
		}
		m.events = append(m.events, modelEvent{st, e})
	}
}

func (m *model) messageEvents(q MessageEventQuery) []MessageEvent {
	from, to := stampOf(q.From), stampOf(q.To)
	var out []MessageEvent
	for _, me := range m.events {
		e := me.e
		switch {
		case q.InstanceID != uuid.Nil && e.InstanceID != q.InstanceID,
			q.MessageID != uuid.Nil && e.MessageID != q.MessageID,
			q.Port != "" && e.Port != q.Port,
			q.Kind != 0 && e.Kind != q.Kind,
			q.Property != nil && !slices.Contains(e.Properties, *q.Property),
			me.stamp < from, to != 0 && me.stamp >= to:
			continue
		}
		out = append(out, MessageEvent{Kind: e.Kind, MessageID: e.MessageID, InstanceID: e.InstanceID, Recorded: stampTime(me.stamp)})
	}
	if !q.OldestFirst {
		slices.Reverse(out)
	}
	return out
}

func (m *model) instances(q InstanceQuery) []uuid.UUID {
	from, to := stampOf(q.From), stampOf(q.To)
	var all []*modelInstance
	for _, in := range m.insts {
		switch {
		case q.Service != "" && in.service != q.Service,
			q.State != 0 && in.state != q.State,
			in.start < from, to != 0 && in.start >= to:
			continue
		}
		all = append(all, in)
	}
	slices.SortFunc(all, func(a, b *modelInstance) int {
		if a.start < b.start {
			return -1
		}
		return 1
	})
	if !q.OldestFirst {
		slices.Reverse(all)
	}
	out := make([]uuid.UUID, len(all))
	for i, in := range all {
		out[i] = in.id
	}
	return out
}

// TestStore_QueriesMatchModel records random event sequences and checks
// that paged queries, with every index and filter, agree with the model.
func TestStore_QueriesMatchModel(t *testing.T) {
	ctx := context.Background()
	rapid.Check(t, func(rt *rapid.T) {
		const prop = "ns#P"
		e := newEnv(t, vfs.NewMem(), &Options{Profile: &Profile{Default: Settings{Instances: true, Messages: true, Properties: []string{prop}}}})
		m := &model{insts: map[uuid.UUID]*modelInstance{}}
		insts := []uuid.UUID{uuid.Nil, id(1), id(2), id(3)}
		msgs := []uuid.UUID{id(10), id(11), id(12)}
		ports := []string{"", "A", "B"}
		services := []string{"S1", "S2"}
		start := e.clock.Now()
		genEvent := rapid.Custom(func(t *rapid.T) Event {
			if rapid.Bool().Draw(t, "lifecycle") {
				return Event{
					Kind:       rapid.SampledFrom([]EventKind{InstanceStarted, InstanceDehydrated, InstanceSuspended, InstanceResumed, InstanceCompleted}).Draw(t, "kind"),
					InstanceID: rapid.SampledFrom(insts[1:]).Draw(t, "inst"),
					Service:    rapid.SampledFrom(services).Draw(t, "service"),
				}
			}
			ev := Event{
				Kind:       rapid.SampledFrom([]EventKind{MessageReceived, MessageSent, MessageRouted, MessageFailed}).Draw(t, "kind"),
				InstanceID: rapid.SampledFrom(insts).Draw(t, "inst"),
				MessageID:  rapid.SampledFrom(msgs).Draw(t, "msg"),
				Port:       rapid.SampledFrom(ports).Draw(t, "port"),
			}
			if v := rapid.IntRange(0, 2).Draw(t, "prop"); v > 0 {
				ev.Properties = []Property{{Name: prop, Value: string(rune('0' + v))}}
			}
			return ev
		})
		steps := rapid.IntRange(1, 25).Draw(rt, "steps")
		for range steps {
			if rapid.Bool().Draw(rt, "tick") {
				e.clock.Advance(time.Duration(rapid.IntRange(1, 3).Draw(rt, "secs")) * time.Second)
			}
			evs := rapid.SliceOfN(genEvent, 1, 4).Draw(rt, "events")
			e.record(t, evs...)
			m.record(e.clock.Now(), evs)
		}
		end := e.clock.Now().Add(time.Second)
		genTime := rapid.Custom(func(t *rapid.T) time.Time {
			if rapid.Bool().Draw(t, "unbounded") {
				return time.Time{}
			}
			return start.Add(time.Duration(rapid.Int64Range(0, int64(end.Sub(start))).Draw(t, "offset")))
		})
		for range 10 {
			q := MessageEventQuery{
				Kind:        rapid.SampledFrom([]EventKind{0, 0, MessageSent, MessageReceived}).Draw(rt, "qkind"),
				From:        genTime.Draw(rt, "from"),
				To:          genTime.Draw(rt, "to"),
				Limit:       rapid.IntRange(1, 4).Draw(rt, "limit"),
				OldestFirst: rapid.Bool().Draw(rt, "oldestFirst"),
			}
			switch rapid.IntRange(0, 4).Draw(rt, "index") {
			case 1:
				q.InstanceID = rapid.SampledFrom(insts[1:]).Draw(rt, "qinst")
			case 2:
				q.MessageID = rapid.SampledFrom(msgs).Draw(rt, "qmsg")
			case 3:
				q.Property = &Property{Name: prop, Value: rapid.SampledFrom([]string{"1", "2"}).Draw(rt, "qval")}
			case 4:
				q.Port = rapid.SampledFrom(ports[1:]).Draw(rt, "qport")
			}
			if rapid.Bool().Draw(rt, "alsoPort") {
				q.Port = rapid.SampledFrom(ports[1:]).Draw(rt, "qport2")
			}
			var got []MessageEvent
			for _, ev := range allEvents(t, e.s, q) {
				got = append(got, MessageEvent{Kind: ev.Kind, MessageID: ev.MessageID, InstanceID: ev.InstanceID, Recorded: ev.Recorded})
			}
			require.Equal(rt, m.messageEvents(q), got, "%+v", q)

			iq := InstanceQuery{
				From:        genTime.Draw(rt, "ifrom"),
				To:          genTime.Draw(rt, "ito"),
				Limit:       rapid.IntRange(1, 3).Draw(rt, "ilimit"),
				OldestFirst: rapid.Bool().Draw(rt, "ioldest"),
			}
			if rapid.Bool().Draw(rt, "byService") {
				iq.Service = rapid.SampledFrom(services).Draw(rt, "iservice")
			}
			if rapid.Bool().Draw(rt, "byState") {
				iq.State = rapid.SampledFrom([]InstanceState{StateRunning, StateDehydrated, StateSuspended, StateCompleted}).Draw(rt, "istate")
			}
			require.Equal(rt, m.instances(iq), instanceIDs(allInstances(t, e.s, iq)), "%+v", iq)
		}
		_ = ctx
	})
}

// TestStore_PurgeProperties records random events with the clock moving
// on, purges now and then, and checks after every pass that nothing was
// lost (every event is in the database or the archive, not both), that
// nothing due is left, and that nothing not due was purged.
func TestStore_PurgeProperties(t *testing.T) {
	ctx := context.Background()
	rapid.Check(t, func(rt *rapid.T) {
		fs := vfs.NewMem()
		live, hard := time.Hour, 5*time.Hour
		e := newEnv(t, fs, &Options{LiveWindow: live, HardDeleteAge: hard, ArchiveDir: "arch",
			PurgeBatchRows: rapid.IntRange(1, 20).Draw(rt, "batchRows")})
		insts := []uuid.UUID{uuid.Nil, id(1), id(2), id(3), id(4)}
		recorded := 0
		steps := rapid.IntRange(1, 30).Draw(rt, "steps")
		for range steps {
			e.clock.Advance(time.Duration(rapid.IntRange(0, 90).Draw(rt, "minutes")) * time.Minute)
			switch rapid.IntRange(0, 3).Draw(rt, "op") {
			case 0:
				in := rapid.SampledFrom(insts[1:]).Draw(rt, "inst")
				k := rapid.SampledFrom([]EventKind{InstanceStarted, InstanceSuspended, InstanceCompleted, InstanceTerminated}).Draw(rt, "kind")
				e.record(t, Event{Kind: k, InstanceID: in, Service: "S"})
			case 1, 2:
				e.record(t, Event{Kind: MessageSent, InstanceID: rapid.SampledFrom(insts).Draw(rt, "evinst"), MessageID: uuid.New()})
				recorded++
			case 3:
				now := e.clock.Now()
				_, err := e.s.Purge(ctx)
				require.NoError(rt, err)
				a, err := OpenArchive("arch", &ArchiveOptions{FS: fs})
				require.NoError(rt, err)
				inStore := allEvents(t, e.s, MessageEventQuery{})
				inArch := allEvents(t, a, MessageEventQuery{})
				require.Len(rt, dedupeEvents(append(inStore, inArch...)), recorded, "an event was lost")
				require.Len(rt, append(inStore, inArch...), recorded, "an event is in both places")
				for _, ev := range inStore {
					require.False(rt, ev.Recorded.Before(now.Add(-hard)), "an event past the hard-delete age is left")
					if ev.InstanceID == uuid.Nil {
						require.False(rt, ev.Recorded.Before(now.Add(-live)), "a loose event past the live window is left")
					}
				}
				for _, in := range allInstances(t, e.s, InstanceQuery{}) {
					require.False(rt, in.Started.Before(now.Add(-hard)), "an instance past the hard-delete age is left")
					if in.State.Final() {
						require.False(rt, in.Ended.Before(now.Add(-live)), "a finished instance past the live window is left")
					}
				}
				for _, in := range allInstances(t, a, InstanceQuery{}) {
					if _, err := e.s.Instance(ctx, in.ID); err == nil {
						continue // purged, then started again
					}
					due := !in.Started.After(now.Add(-hard)) || (in.State.Final() && !in.Ended.After(now.Add(-live)))
					require.True(rt, due, "instance %s purged before it was due", in.ID)
				}
				for _, ev := range inArch {
					if ev.InstanceID == uuid.Nil {
						require.True(rt, ev.Recorded.Before(now.Add(-live)), "a loose event purged before it was due")
					}
				}
				require.NoError(rt, a.Close())
			}
		}
	})
}
