package rules

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/biztier/biztier/rules/brl"
)

// Options configure a Store. A nil *Options means defaults; Open works on a
// copy.
type Options struct {
	// Now stamps saves, publications, deployments and the audit trail.
	// Defaults to time.Now.
	Now func() time.Time
	// HistoryRetention is how long Purge keeps deploy and undeploy
	// history. Defaults to 3 days, as BizTalk's
	// Rules_Database_Cleanup_BizTalkRuleEngineDb job.
	HistoryRetention time.Duration
	// AuditRetention is how long Purge keeps the audit trail. Defaults to
	// 90 days, as the same job.
	AuditRetention time.Duration
}

func (o *Options) withDefaults() Options {
	var c Options
	if o != nil {
		c = *o
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.HistoryRetention <= 0 {
		c.HistoryRetention = 72 * time.Hour
	}
	if c.AuditRetention <= 0 {
		c.AuditRetention = 90 * 24 * time.Hour
	}
	return c
}

// PolicyInfo describes one stored policy version.
type PolicyInfo struct {
	Name    string
	Version Version
	State   State
	// Saved, Published and Deployed are when the version last entered
	// each state; zero when it never did. Deployed is the last deployment
	// (also kept after an undeploy).
	Saved, Published, Deployed time.Time
	// Ruleset is the policy's BRL. Treat it as read-only: the store shares
	// it with every caller.
	Ruleset *brl.Ruleset
}

// VocabularyInfo describes one stored vocabulary version.
type VocabularyInfo struct {
	Name    string
	Version Version
	State   State
	// ID is the vocabulary's id, which policies' vocabulary links use.
	ID               string
	Saved, Published time.Time
	// Vocabulary is the BRL. Treat it as read-only.
	Vocabulary *brl.Vocabulary
}

// Deployment is one entry of the deploy and undeploy history.
type Deployment struct {
	Time    time.Time
	Policy  string
	Version Version
	// Deployed is true for a deployment, false for an undeployment.
	Deployed bool
}

// AuditEntry is one change to the rule store.
type AuditEntry struct {
	Time time.Time
	// Op is "save", "publish", "deploy", "undeploy" or "delete"; Kind is "policy"
	// or "vocabulary".
	Op, Kind string
	Name     string
	Version  Version
}

type nameVersion struct {
	name string
	v    Version
}

// model is the store's content in memory. Its maps and values are never
// modified once published: writers build a new model and swap it in after
// their commit.
type model struct {
	policies map[nameVersion]*PolicyInfo
	vocabs   map[nameVersion]*VocabularyInfo
}

func (m *model) clone() *model {
	return &model{policies: maps.Clone(m.policies), vocabs: maps.Clone(m.vocabs)}
}

// Store is the Business Rules database: policies and vocabularies by name
// and major.minor version, their states, and the deployment history, in
// the group's Rules store and cached in memory. It is safe for concurrent
// use. Reads are served from memory and never wait for a commit; writes are
// serialised and each is one group commit, so they ride backup, log
// shipping and the passive node with the rest of the group.
type Store struct {
	db     Database
	opts   Options
	closed atomic.Bool
	// deployGen counts deploys and undeploys; runtimes compare it to learn
	// that the deployed versions changed.
	deployGen atomic.Uint64

	// writeMu serialises writers, from validating against the model to
	// publishing the model they committed, so a rule checked before a
	// commit (immutability, publication order) still holds after it. It is
	// held across the commit; readers never take it.
	writeMu sync.Mutex
	// seq orders history and audit entries written in the same instant.
	// Guarded by writeMu.
	seq uint64

	// mu guards m.
	mu sync.RWMutex
	m  *model
}

// Open loads the rule store from db. Open one Store per database: a Store
// assumes it is the only writer.
func Open(db Database, opts *Options) (*Store, error) {
	if err := checkDatabase(db); err != nil {
		return nil, err
	}
	s := &Store{db: db, opts: opts.withDefaults()}
	m, seq, err := load(db.Reader())
	if err != nil {
		return nil, err
	}
	s.m, s.seq = m, seq
	return s, nil
}

// Close marks the Store closed; later calls fail with ErrClosed. It does
// not close db. Close is safe to call twice.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

func (s *Store) model() (*model, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil store", ErrInvalid)
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m, nil
}

// Policy returns one policy version. It fails with ErrNotFound.
func (s *Store) Policy(name string, v Version) (*PolicyInfo, error) {
	m, err := s.model()
	if err != nil {
		return nil, err
	}
	p, ok := m.policies[nameVersion{name, v}]
	if !ok {
		return nil, fmt.Errorf("%w: policy %s %s", ErrNotFound, name, v)
	}
	return p, nil
}

// Policies returns every policy version, by name then version.
func (s *Store) Policies() ([]*PolicyInfo, error) {
	m, err := s.model()
	if err != nil {
		return nil, err
	}
	out := slices.Collect(maps.Values(m.policies))
	slices.SortFunc(out, func(a, b *PolicyInfo) int { return cmpNV(a.Name, a.Version, b.Name, b.Version) })
	return out, nil
}

// Vocabulary returns one vocabulary version. It fails with ErrNotFound.
func (s *Store) Vocabulary(name string, v Version) (*VocabularyInfo, error) {
	m, err := s.model()
	if err != nil {
		return nil, err
	}
	p, ok := m.vocabs[nameVersion{name, v}]
	if !ok {
		return nil, fmt.Errorf("%w: vocabulary %s %s", ErrNotFound, name, v)
	}
	return p, nil
}

// Vocabularies returns every vocabulary version, by name then version.
func (s *Store) Vocabularies() ([]*VocabularyInfo, error) {
	m, err := s.model()
	if err != nil {
		return nil, err
	}
	out := slices.Collect(maps.Values(m.vocabs))
	slices.SortFunc(out, func(a, b *VocabularyInfo) int { return cmpNV(a.Name, a.Version, b.Name, b.Version) })
	return out, nil
}

func cmpNV(an string, av Version, bn string, bv Version) int {
	switch {
	case an < bn:
		return -1
	case an > bn:
		return 1
	case av.Less(bv):
		return -1
	case bv.Less(av):
		return 1
	}
	return 0
}

// Deployed returns the highest deployed version of a policy: the one the
// runtime runs. It fails with ErrNotFound when no version is deployed.
func (s *Store) Deployed(name string) (*PolicyInfo, error) {
	m, err := s.model()
	if err != nil {
		return nil, err
	}
	var best *PolicyInfo
	for k, p := range m.policies {
		if k.name == name && p.State == StateDeployed && (best == nil || best.Version.Less(p.Version)) {
			best = p
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: no deployed version of policy %s", ErrNotFound, name)
	}
	return best, nil
}

// DeployGeneration changes whenever a version is deployed or undeployed.
func (s *Store) DeployGeneration() uint64 { return s.deployGen.Load() }
