package mgmt

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/cockroachdb/pebble/v2"
)

// Options configure a Store. A nil *Options means defaults; Open works on a
// copy.
type Options struct {
	// DefaultApplication receives imported artifacts that name no
	// application. Defaults to "BizTalk Application 1", BizTalk's default
	// application.
	DefaultApplication string
	// Now stamps exported binding files. Defaults to time.Now.
	Now func() time.Time
	// Secrets, if set, keeps adapters' passwords out of Management (see
	// Secrets). The Group sets it to its SSO database.
	Secrets Secrets
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.DefaultApplication == "" {
		c.DefaultApplication = "BizTalk Application 1"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Store is the Management database: the group's configuration, kept in the
// Management Pebble store and cached in memory. It is safe for concurrent
// use. Reads are served from the cache and never wait for a commit; writes
// are serialised and each commits one group transaction.
type Store struct {
	db     Database
	subs   Subscriptions
	opts   Options
	closed atomic.Bool

	// writeMu serialises writers, from reading the model they validate
	// against to publishing the model they committed, so that a rule (such
	// as "no messages queued" or "name unique in the group") checked
	// before a commit still holds after it. It is held across the commit;
	// readers never take it, and configuration changes are rare.
	writeMu sync.Mutex

	// mu guards m. The model it points to is never modified: writers build
	// a new one and swap it in after their commit.
	mu sync.RWMutex
	m  *model
}

// model is the whole configuration. Its maps and artifacts are treated as
// immutable once published.
type model struct {
	apps         map[string]*Application
	hosts        map[string]*Host
	instances    map[string]*HostInstance // by "host/server"
	adapters     map[string]*Adapter
	assemblies   map[string]*Assembly
	receivePorts map[string]*ReceivePort
	locations    map[string]string // receive location → its port
	sendPorts    map[string]*SendPort
	groups       map[string]*SendPortGroup
	orchs        map[string]*Orchestration
	parties      map[string]*Party
	subs         map[Ref][]Subscription // what each owner holds in the MessageBox
}

func newModel() *model {
	return &model{
		apps: map[string]*Application{}, hosts: map[string]*Host{}, instances: map[string]*HostInstance{},
		adapters: map[string]*Adapter{}, assemblies: map[string]*Assembly{}, receivePorts: map[string]*ReceivePort{},
		locations: map[string]string{}, sendPorts: map[string]*SendPort{}, groups: map[string]*SendPortGroup{},
		orchs: map[string]*Orchestration{}, parties: map[string]*Party{}, subs: map[Ref][]Subscription{},
	}
}

// clone copies the maps (not the artifacts, which are immutable).
func (m *model) clone() *model {
	return &model{
		apps: maps.Clone(m.apps), hosts: maps.Clone(m.hosts), instances: maps.Clone(m.instances),
		adapters: maps.Clone(m.adapters), assemblies: maps.Clone(m.assemblies), receivePorts: maps.Clone(m.receivePorts),
		locations: maps.Clone(m.locations), sendPorts: maps.Clone(m.sendPorts), groups: maps.Clone(m.groups),
		orchs: maps.Clone(m.orchs), parties: maps.Clone(m.parties), subs: maps.Clone(m.subs),
	}
}

// Open loads the configuration from the Management database db. Open one
// Store per group: a Store assumes it is the database's only writer. subs
// is the MessageBox side of enlistment; it may be nil for a Store that will never
// enlist anything (every transition that creates or removes subscriptions
// then fails with ErrInvalid).
func Open(db Database, subs Subscriptions, opts *Options) (*Store, error) {
	if err := checkDatabase(db); err != nil {
		return nil, err
	}
	s := &Store{db: db, subs: subs, opts: opts.withDefaults()}
	m, err := load(db.Reader())
	if err != nil {
		return nil, err
	}
	s.m = m
	return s, nil
}

// Close marks the Store closed. It does not close the Database, which the
// caller owns. Close is safe to call twice.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

func scan(db pebble.Reader, t keys.Table, fn func(k, v []byte) error) error {
	lower := keys.AppendTable(nil, t)
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: keys.PrefixSuccessor(lower)})
	if err != nil {
		return fmt.Errorf("mgmt: scan %s: %w", t, err)
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), v)
		}
		if err != nil {
			_ = it.Close()
			return fmt.Errorf("mgmt: %s key %s: %w", t, keys.Format(it.Key()), err)
		}
	}
	if err := it.Error(); err != nil {
		_ = it.Close()
		return fmt.Errorf("mgmt: scan %s: %w", t, err)
	}
	return it.Close()
}

func load(db pebble.Reader) (*model, error) {
	m := newModel()
	type loader struct {
		t  keys.Table
		fn func(v []byte) error
	}
	ls := []loader{
		{keys.TableMgmtApplications, func(v []byte) error {
			a, err := decodeApplication(v)
			m.apps[a.Name] = a
			return err
		}},
		{keys.TableMgmtHosts, func(v []byte) error {
			h, err := decodeHost(v)
			m.hosts[h.Name] = h
			return err
		}},
		{keys.TableMgmtHostInstances, func(v []byte) error {
			h, err := decodeHostInstance(v)
			m.instances[h.Name()] = h
			return err
		}},
		{keys.TableMgmtAdapters, func(v []byte) error {
			a, err := decodeAdapter(v)
			m.adapters[a.Name] = a
			return err
		}},
		{keys.TableMgmtAssemblies, func(v []byte) error {
			a, err := decodeAssembly(v)
			m.assemblies[a.FullName] = a
			return err
		}},
		{keys.TableMgmtReceivePorts, func(v []byte) error {
			p, err := decodeReceivePort(v)
			m.receivePorts[p.Name] = p
			for _, l := range p.Locations {
				m.locations[l.Name] = p.Name
			}
			return err
		}},
		{keys.TableMgmtSendPorts, func(v []byte) error {
			p, err := decodeSendPort(v)
			m.sendPorts[p.Name] = p
			return err
		}},
		{keys.TableMgmtSendPortGroups, func(v []byte) error {
			g, err := decodeSendPortGroup(v)
			m.groups[g.Name] = g
			return err
		}},
		{keys.TableMgmtOrchestrations, func(v []byte) error {
			o, err := decodeOrchestration(v)
			m.orchs[o.Name] = o
			return err
		}},
		{keys.TableMgmtParties, func(v []byte) error {
			p, err := decodeParty(v)
			m.parties[p.Name] = p
			return err
		}},
		{keys.TableMgmtSubscriptions, func(v []byte) error {
			sub, err := decodeSubscription(v)
			m.subs[sub.Owner] = append(m.subs[sub.Owner], *sub)
			return err
		}},
	}
	for _, l := range ls {
		if err := scan(db, l.t, func(_, v []byte) error { return l.fn(v) }); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (s *Store) model() *model {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m
}

// Queries. Every artifact returned is a copy the caller owns. An empty app
// lists the whole group.

func notFound(r Ref) error { return fmt.Errorf("%w: %s", ErrNotFound, r) }

func list[T any](m map[string]*T, app string, appOf func(*T) string, clone func(*T) *T) []*T {
	out := make([]*T, 0, len(m))
	for _, k := range sortedKeys(m) {
		v := m[k]
		if app == "" || appOf(v) == app {
			out = append(out, clone(v))
		}
	}
	return out
}

func copyOf[T any](v *T) *T { c := *v; return &c }

// Applications lists the applications, by name.
func (s *Store) Applications() []*Application {
	return list(s.model().apps, "", func(*Application) string { return "" }, (*Application).clone)
}

// Application returns the named application or ErrNotFound.
func (s *Store) Application(name string) (*Application, error) {
	if a, ok := s.model().apps[name]; ok {
		return a.clone(), nil
	}
	return nil, notFound(Ref{KindApplication, name})
}

// Hosts lists the hosts, by name.
func (s *Store) Hosts() []*Host {
	return list(s.model().hosts, "", func(*Host) string { return "" }, copyOf[Host])
}

// Host returns the named host or ErrNotFound.
func (s *Store) Host(name string) (*Host, error) {
	if h, ok := s.model().hosts[name]; ok {
		return copyOf(h), nil
	}
	return nil, notFound(Ref{KindHost, name})
}

// HostInstances lists the instances of host ("" for every host).
func (s *Store) HostInstances(host string) []*HostInstance {
	return list(s.model().instances, host, func(h *HostInstance) string { return h.Host }, copyOf[HostInstance])
}

// Adapters lists the adapters, by name.
func (s *Store) Adapters() []*Adapter {
	return list(s.model().adapters, "", func(*Adapter) string { return "" }, copyOf[Adapter])
}

// Assemblies lists the assemblies of app.
func (s *Store) Assemblies(app string) []*Assembly {
	return list(s.model().assemblies, app, func(a *Assembly) string { return a.Application }, func(a *Assembly) *Assembly {
		c := *a
		c.Extra, c.ExtraAttrs = slices.Clone(a.Extra), slices.Clone(a.ExtraAttrs)
		return &c
	})
}

// ReceivePorts lists the receive ports of app, with their locations.
func (s *Store) ReceivePorts(app string) []*ReceivePort {
	return list(s.model().receivePorts, app, func(p *ReceivePort) string { return p.Application }, (*ReceivePort).clone)
}

// ReceivePort returns the named receive port or ErrNotFound.
func (s *Store) ReceivePort(name string) (*ReceivePort, error) {
	if p, ok := s.model().receivePorts[name]; ok {
		return p.clone(), nil
	}
	return nil, notFound(Ref{KindReceivePort, name})
}

// RoutesFailedMessages reports whether receive port name has
// RouteFailedMessage set. Unlike ReceivePort it copies nothing: the
// MessageBox asks it for every message received on a port.
func (s *Store) RoutesFailedMessages(name string) bool {
	p, ok := s.model().receivePorts[name]
	return ok && p.RouteFailedMessage
}

// ReceiveLocation returns the named receive location and the name of its
// port, or ErrNotFound.
func (s *Store) ReceiveLocation(name string) (*ReceiveLocation, string, error) {
	m := s.model()
	if pn, ok := m.locations[name]; ok {
		p := m.receivePorts[pn]
		l := p.Locations[p.location(name)]
		return &l, pn, nil
	}
	return nil, "", notFound(Ref{KindReceiveLocation, name})
}

// SendPorts lists the send ports of app.
func (s *Store) SendPorts(app string) []*SendPort {
	return list(s.model().sendPorts, app, func(p *SendPort) string { return p.Application }, (*SendPort).clone)
}

// SendPort returns the named send port or ErrNotFound.
func (s *Store) SendPort(name string) (*SendPort, error) {
	if p, ok := s.model().sendPorts[name]; ok {
		return p.clone(), nil
	}
	return nil, notFound(Ref{KindSendPort, name})
}

// SendPortGroups lists the send port groups of app.
func (s *Store) SendPortGroups(app string) []*SendPortGroup {
	return list(s.model().groups, app, func(g *SendPortGroup) string { return g.Application }, (*SendPortGroup).clone)
}

// SendPortGroup returns the named send port group or ErrNotFound.
func (s *Store) SendPortGroup(name string) (*SendPortGroup, error) {
	if g, ok := s.model().groups[name]; ok {
		return g.clone(), nil
	}
	return nil, notFound(Ref{KindSendPortGroup, name})
}

// Orchestrations lists the orchestrations of app.
func (s *Store) Orchestrations(app string) []*Orchestration {
	return list(s.model().orchs, app, func(o *Orchestration) string { return o.Application }, (*Orchestration).clone)
}

// Orchestration returns the named orchestration or ErrNotFound.
func (s *Store) Orchestration(name string) (*Orchestration, error) {
	if o, ok := s.model().orchs[name]; ok {
		return o.clone(), nil
	}
	return nil, notFound(Ref{KindOrchestration, name})
}

// Parties lists the group's parties.
func (s *Store) Parties() []*Party {
	return list(s.model().parties, "", func(*Party) string { return "" }, copyOf[Party])
}

// Subscriptions returns the subscriptions owner holds in the MessageBox,
// by ID. An artifact that is not enlisted holds none.
func (s *Store) Subscriptions(owner Ref) []Subscription {
	subs := s.model().subs[owner]
	out := make([]Subscription, len(subs))
	for i, sub := range subs {
		out[i] = sub
		out[i].Filter = sub.Filter.Clone()
	}
	return out
}

// AllSubscriptions returns every subscription mgmt holds, by owner and ID.
func (s *Store) AllSubscriptions() []Subscription {
	m := s.model()
	owners := slices.Collect(maps.Keys(m.subs))
	slices.SortFunc(owners, func(a, b Ref) int {
		if a.Kind != b.Kind {
			return int(a.Kind) - int(b.Kind)
		}
		return strings.Compare(a.Name, b.Name)
	})
	var out []Subscription
	for _, o := range owners {
		out = append(out, s.Subscriptions(o)...)
	}
	return out
}

// errNoSubs is returned when a transition needs the MessageBox and the
// Store was opened without one.
var errNoSubs = errors.New("mgmt: no Subscriptions given to Open")

// sortedKeys returns m's keys in order, for stable listings and exports.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
