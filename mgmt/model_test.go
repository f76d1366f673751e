package mgmt_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/biztier/biztier/internal/store"
	"github.com/biztier/biztier/mgmt"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// stateModel is a plain model of the fixture's states and of the
// subscriptions BizTalk's rules give them, to run random transitions
// against.
type stateModel struct {
	port   map[string]mgmt.PortState // send ports
	group  mgmt.PortState            // Notifications
	orch   mgmt.OrchestrationState   // Orders.Processes.Fulfil
	queued map[uuid.UUID]bool
}

var (
	modelPorts    = []string{"Orders.Archive", "Orders.Mail", "Orders.Dynamic"}
	modelMembers  = []string{"Orders.Archive", "Orders.Mail"}
	portHasFilter = map[string]bool{"Orders.Archive": true, "Orders.Mail": true}
)

type modelSub struct {
	owner, target mgmt.Ref
	active        bool
}

// subs lists the subscriptions the model's states call for.
func (m *stateModel) subs() map[uuid.UUID]modelSub {
	out := map[uuid.UUID]modelSub{}
	for _, p := range modelPorts {
		st := m.port[p]
		if !st.Enlisted() {
			continue
		}
		r := mgmt.Ref{Kind: mgmt.KindSendPort, Name: p}
		out[mgmt.SubscriptionID(r, "transport")] = modelSub{r, r, st == mgmt.PortStarted}
		if portHasFilter[p] {
			out[mgmt.SubscriptionID(r, "filter")] = modelSub{r, r, st == mgmt.PortStarted}
		}
	}
	if m.group.Enlisted() {
		for _, p := range modelMembers {
			if !m.port[p].Enlisted() {
				continue
			}
			target := mgmt.Ref{Kind: mgmt.KindSendPort, Name: p}
			active := m.group == mgmt.PortStarted && m.port[p] == mgmt.PortStarted
			out[mgmt.SubscriptionID(notify, "member/"+p+"/transport")] = modelSub{notify, target, active}
			out[mgmt.SubscriptionID(notify, "member/"+p+"/filter")] = modelSub{notify, target, active}
		}
	}
	if m.orch.Enlisted() {
		out[mgmt.SubscriptionID(fulfil, "activate/OrderIn")] = modelSub{fulfil, fulfil, m.orch == mgmt.OrchestrationStarted}
	}
	return out
}

// blocked reports whether unenlisting r must be refused for queued messages.
func (m *stateModel) blocked(r mgmt.Ref) bool {
	for id, s := range m.subs() {
		if (s.owner == r || s.target == r) && m.queued[id] {
			return true
		}
	}
	return false
}

func TestStore_TransitionsModel(t *testing.T) {
	fixture := readFixture(t, "orders.xml")
	rapid.Check(t, func(rt *rapid.T) {
		ctx := context.Background()
		fs := vfs.NewCrashableMem()
		set, err := store.Open(setOptions(fs, "g"))
		require.NoError(rt, err)
		defer func() { _ = set.Close() }()
		subs := newFakeSubs(set)
		s, err := mgmt.Open(dbOf(set), subs, nil)
		require.NoError(rt, err)
		_, err = s.Import(ctx, strings.NewReader(fixture), nil)
		require.NoError(rt, err)
		m := &stateModel{port: map[string]mgmt.PortState{}, group: mgmt.PortBound, orch: mgmt.OrchestrationUnenlisted, queued: map[uuid.UUID]bool{}}
		for _, p := range modelPorts {
			m.port[p] = mgmt.PortBound
		}
		refs := []mgmt.Ref{archive, mail, dynamic, notify, fulfil}
		pick := func(rt *rapid.T) mgmt.Ref { return rapid.SampledFrom(refs).Draw(rt, "ref") }
		expectState := func(rt *rapid.T, err error, wantErr error) {
			if wantErr == nil {
				require.NoError(rt, err)
			} else {
				require.ErrorIs(rt, err, wantErr)
			}
		}
		rt.Repeat(map[string]func(*rapid.T){
			"enlist": func(rt *rapid.T) {
				r := pick(rt)
				err := s.Enlist(ctx, r)
				switch r.Kind {
				case mgmt.KindSendPort:
					if m.port[r.Name] == mgmt.PortBound {
						m.port[r.Name] = mgmt.PortStopped
					}
				case mgmt.KindSendPortGroup:
					if m.group == mgmt.PortBound {
						m.group = mgmt.PortStopped
					}
				case mgmt.KindOrchestration:
					if m.orch == mgmt.OrchestrationUnenlisted {
						m.orch = mgmt.OrchestrationEnlisted
					}
				}
				expectState(rt, err, nil)
			},
			"start": func(rt *rapid.T) {
				r := pick(rt)
				err := s.Start(ctx, r)
				var want error
				switch r.Kind {
				case mgmt.KindSendPort:
					m.port[r.Name] = mgmt.PortStarted
				case mgmt.KindSendPortGroup:
					if m.group != mgmt.PortStarted {
						if slices.ContainsFunc(modelMembers, func(p string) bool { return m.port[p].Enlisted() }) {
							m.group = mgmt.PortStarted
						} else {
							want = mgmt.ErrState
						}
					}
				case mgmt.KindOrchestration:
					m.orch = mgmt.OrchestrationStarted
				}
				expectState(rt, err, want)
			},
			"stop": func(rt *rapid.T) {
				r := pick(rt)
				err := s.Stop(ctx, r)
				var want error
				switch r.Kind {
				case mgmt.KindSendPort:
					switch m.port[r.Name] {
					case mgmt.PortBound:
						want = mgmt.ErrState
					case mgmt.PortStarted:
						m.port[r.Name] = mgmt.PortStopped
					}
				case mgmt.KindSendPortGroup:
					switch m.group {
					case mgmt.PortBound:
						want = mgmt.ErrState
					case mgmt.PortStarted:
						m.group = mgmt.PortStopped
					}
				case mgmt.KindOrchestration:
					switch m.orch {
					case mgmt.OrchestrationUnenlisted:
						want = mgmt.ErrState
					case mgmt.OrchestrationStarted:
						m.orch = mgmt.OrchestrationEnlisted
					}
				}
				expectState(rt, err, want)
			},
			"unenlist": func(rt *rapid.T) {
				r := pick(rt)
				force := rapid.Bool().Draw(rt, "force")
				err := s.Unenlist(ctx, r, force)
				var want error
				switch r.Kind {
				case mgmt.KindSendPort:
					if !m.port[r.Name].Enlisted() {
						break
					}
					last := m.group.Enlisted() && slices.Contains(modelMembers, r.Name) &&
						!slices.ContainsFunc(modelMembers, func(p string) bool { return p != r.Name && m.port[p].Enlisted() })
					switch {
					case last:
						want = mgmt.ErrState
					case !force && m.blocked(r):
						want = mgmt.ErrMessagesQueued
					default:
						m.port[r.Name] = mgmt.PortBound
					}
				case mgmt.KindSendPortGroup:
					if !m.group.Enlisted() {
						break
					}
					if !force && m.blocked(r) {
						want = mgmt.ErrMessagesQueued
					} else {
						m.group = mgmt.PortBound
					}
				case mgmt.KindOrchestration:
					if !m.orch.Enlisted() {
						break
					}
					if !force && m.blocked(r) {
						want = mgmt.ErrMessagesQueued
					} else {
						m.orch = mgmt.OrchestrationUnenlisted
					}
				}
				expectState(rt, err, want)
			},
			"crash": func(rt *rapid.T) {
				// Every acknowledged change is durable: a crash image reopens
				// to the same configuration and subscriptions.
				// Reopening costs a checkpoint; keep it to about one step in
				// eight.
				if rapid.IntRange(0, 7).Draw(rt, "crash now") != 0 {
					rt.Skip("not this time")
				}
				img := fs.CrashClone(vfs.CrashCloneCfg{})
				require.NoError(rt, set.Close())
				fs = img
				set, err = store.Open(setOptions(fs, "g"))
				require.NoError(rt, err)
				old := subs
				subs = newFakeSubs(set)
				subs.queued = old.queued
				s, err = mgmt.Open(dbOf(set), subs, nil)
				require.NoError(rt, err)
			},
			"queue": func(rt *rapid.T) {
				ids := s.AllSubscriptions()
				if len(ids) == 0 {
					rt.Skip("nothing subscribed")
				}
				sub := rapid.SampledFrom(ids).Draw(rt, "subscription")
				n := rapid.IntRange(0, 2).Draw(rt, "messages")
				subs.setQueued(sub.ID, n)
				m.queued[sub.ID] = n > 0
			},
			"": func(rt *rapid.T) {
				for _, p := range modelPorts {
					sp, err := s.SendPort(p)
					require.NoError(rt, err)
					require.Equal(rt, m.port[p], sp.State, p)
				}
				g, err := s.SendPortGroup(notify.Name)
				require.NoError(rt, err)
				require.Equal(rt, m.group, g.State)
				o, err := s.Orchestration(fulfil.Name)
				require.NoError(rt, err)
				require.Equal(rt, m.orch, o.State)
				want := m.subs()
				got := s.AllSubscriptions()
				require.Len(rt, got, len(want))
				for _, sub := range got {
					w, ok := want[sub.ID]
					require.True(rt, ok, "unexpected subscription %s", sub.Name)
					require.Equal(rt, w, modelSub{sub.Owner, sub.Target, sub.Active}, sub.Name)
				}
				require.Len(rt, storedSubs(rt, set), len(want))
			},
		})
	})
}
