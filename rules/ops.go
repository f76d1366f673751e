package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/rules/brl"
)

// change is one writer's work: the writes to commit and the model to
// publish once they are durable.
type change struct {
	s      *Store
	m      *model
	writes []write
	now    time.Time
	deploy bool
}

// update runs fn under the write lock on a copy of the model, commits its
// writes in one group commit and publishes the copy.
func (s *Store) update(ctx context.Context, fn func(c *change) error) error {
	if ctx == nil {
		return fmt.Errorf("%w: nil context", ErrInvalid)
	}
	if _, err := s.model(); err != nil {
		return err
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.RLock()
	c := &change{s: s, m: s.m.clone(), now: s.opts.Now().UTC()}
	s.mu.RUnlock()
	if err := fn(c); err != nil {
		return err
	}
	if len(c.writes) == 0 {
		return nil
	}
	c.writes = append(c.writes, write{key: metaKey(), value: formatValue()})
	if err := s.commit(ctx, c.writes); err != nil {
		return fmt.Errorf("rules: commit: %w", err)
	}
	s.mu.Lock()
	s.m = c.m
	s.mu.Unlock()
	if c.deploy {
		s.deployGen.Add(1)
	}
	return nil
}

func (c *change) audit(op, kind, name string, v Version) {
	c.s.seq++
	c.writes = append(c.writes, write{key: timeKey(keys.TableRulesAudit, c.now, c.s.seq),
		value: encodeAudit(AuditEntry{Op: op, Kind: kind, Name: name, Version: v})})
}

func (c *change) putPolicy(p *PolicyInfo) error {
	v, err := encodePolicy(p)
	if err != nil {
		return err
	}
	c.m.policies[nameVersion{p.Name, p.Version}] = p
	c.writes = append(c.writes, write{key: versionKey(keys.TableRulesPolicies, p.Name, p.Version), value: v})
	return nil
}

func (c *change) putVocabulary(vi *VocabularyInfo) error {
	v, err := encodeVocabulary(vi)
	if err != nil {
		return err
	}
	c.m.vocabs[nameVersion{vi.Name, vi.Version}] = vi
	c.writes = append(c.writes, write{key: versionKey(keys.TableRulesVocabularies, vi.Name, vi.Version), value: v})
	return nil
}

func checkNameVersion(name string, v Version) error {
	if strings.TrimSpace(name) == "" || v.Major < 0 || v.Minor < 0 {
		return fmt.Errorf("%w: name %q version %s", ErrInvalid, name, v)
	}
	return nil
}

// savePolicy stores a ruleset as a saved version, replacing a saved one.
func (c *change) savePolicy(rs *brl.Ruleset) error {
	if rs == nil {
		return fmt.Errorf("%w: nil ruleset", ErrInvalid)
	}
	v := Version{rs.Version.Major, rs.Version.Minor}
	if err := checkNameVersion(rs.Name, v); err != nil {
		return err
	}
	if old, ok := c.m.policies[nameVersion{rs.Name, v}]; ok && old.State.Published() {
		return &StateError{Op: "save", Name: rs.Name, Version: v, State: old.State,
			Reason: "a published version is immutable; save the change as a new version", Err: ErrState}
	}
	c.audit("save", "policy", rs.Name, v)
	return c.putPolicy(&PolicyInfo{Name: rs.Name, Version: v, State: StateSaved, Saved: c.now, Ruleset: rs})
}

func (c *change) saveVocabulary(voc *brl.Vocabulary) error {
	if voc == nil {
		return fmt.Errorf("%w: nil vocabulary", ErrInvalid)
	}
	v := Version{voc.Version.Major, voc.Version.Minor}
	if err := checkNameVersion(voc.Name, v); err != nil {
		return err
	}
	if old, ok := c.m.vocabs[nameVersion{voc.Name, v}]; ok && old.State.Published() {
		return &StateError{Op: "save", Name: voc.Name, Version: v, State: old.State,
			Reason: "a published vocabulary is immutable; save the change as a new version", Err: ErrState}
	}
	c.audit("save", "vocabulary", voc.Name, v)
	return c.putVocabulary(&VocabularyInfo{Name: voc.Name, Version: v, State: StateSaved, ID: voc.ID, Saved: c.now, Vocabulary: voc})
}

// SavePolicy stores a ruleset as its policy's version in the Saved state,
// replacing that version if it is still saved. A published version is
// immutable: saving over it fails with a *StateError wrapping ErrState.
func (s *Store) SavePolicy(ctx context.Context, rs *brl.Ruleset) error {
	return s.update(ctx, func(c *change) error { return c.savePolicy(rs) })
}

// SaveVocabulary stores a vocabulary version in the Saved state, with the
// same rule as SavePolicy.
func (s *Store) SaveVocabulary(ctx context.Context, v *brl.Vocabulary) error {
	return s.update(ctx, func(c *change) error { return c.saveVocabulary(v) })
}

// Import saves every vocabulary and ruleset of a BRL document in one
// commit: all of them or, on any error, none.
func (s *Store) Import(ctx context.Context, doc *brl.Document) error {
	if doc == nil {
		return fmt.Errorf("%w: nil document", ErrInvalid)
	}
	return s.update(ctx, func(c *change) error {
		for _, v := range doc.Vocabularies {
			if err := c.saveVocabulary(v); err != nil {
				return err
			}
		}
		for _, rs := range doc.Rulesets {
			if err := c.savePolicy(rs); err != nil {
				return err
			}
		}
		return nil
	})
}

// PublishVocabulary makes a saved vocabulary version immutable.
func (s *Store) PublishVocabulary(ctx context.Context, name string, v Version) error {
	return s.update(ctx, func(c *change) error {
		old, ok := c.m.vocabs[nameVersion{name, v}]
		if !ok {
			return fmt.Errorf("%w: vocabulary %s %s", ErrNotFound, name, v)
		}
		if old.State != StateSaved {
			return &StateError{Op: "publish", Name: name, Version: v, State: old.State, Reason: "already published", Err: ErrState}
		}
		n := *old
		n.State, n.Published = StatePublished, c.now
		c.audit("publish", "vocabulary", name, v)
		return c.putVocabulary(&n)
	})
}

// PublishPolicy makes a saved policy version immutable. Every vocabulary
// the policy's rules link to that the store holds must have a published
// version first (*StateError wrapping ErrVocabularyNotPublished).
// Vocabularies the store does not hold are not checked: BRL inlines every
// term, the links only record where the editor took it from, and exports
// routinely leave the vocabularies out (BizTalk's own predicate and
// function vocabularies among them).
func (s *Store) PublishPolicy(ctx context.Context, name string, v Version) error {
	return s.update(ctx, func(c *change) error {
		old, ok := c.m.policies[nameVersion{name, v}]
		if !ok {
			return fmt.Errorf("%w: policy %s %s", ErrNotFound, name, v)
		}
		if old.State != StateSaved {
			return &StateError{Op: "publish", Name: name, Version: v, State: old.State, Reason: "already published", Err: ErrState}
		}
		for _, id := range old.Ruleset.VocabularyLinks() {
			held, published := "", false
			for _, vi := range c.m.vocabs {
				if vi.ID == id {
					held = vi.Name
					published = published || vi.State.Published()
				}
			}
			if held != "" && !published {
				return &StateError{Op: "publish", Name: name, Version: v, State: old.State,
					Reason: fmt.Sprintf("it uses vocabulary %s, which has no published version", held), Err: ErrVocabularyNotPublished}
			}
		}
		n := *old
		n.State, n.Published = StatePublished, c.now
		c.audit("publish", "policy", name, v)
		return c.putPolicy(&n)
	})
}

// Deploy makes a published (or undeployed) policy version available to
// the runtime, which runs the highest deployed version of each policy, and
// records the deployment with its time.
func (s *Store) Deploy(ctx context.Context, name string, v Version) error {
	return s.setDeployed(ctx, name, v, true)
}

// Undeploy withdraws a deployed policy version and records it.
func (s *Store) Undeploy(ctx context.Context, name string, v Version) error {
	return s.setDeployed(ctx, name, v, false)
}

func (s *Store) setDeployed(ctx context.Context, name string, v Version, deploy bool) error {
	op := "undeploy"
	if deploy {
		op = "deploy"
	}
	return s.update(ctx, func(c *change) error {
		old, ok := c.m.policies[nameVersion{name, v}]
		if !ok {
			return fmt.Errorf("%w: policy %s %s", ErrNotFound, name, v)
		}
		switch {
		case deploy && old.State == StateSaved:
			return &StateError{Op: op, Name: name, Version: v, State: old.State, Reason: "only a published version can be deployed", Err: ErrState}
		case deploy && old.State == StateDeployed:
			return &StateError{Op: op, Name: name, Version: v, State: old.State, Reason: "already deployed", Err: ErrState}
		case !deploy && old.State != StateDeployed:
			return &StateError{Op: op, Name: name, Version: v, State: old.State, Reason: "only a deployed version can be undeployed", Err: ErrState}
		}
		n := *old
		n.State = StateUndeployed
		if deploy {
			n.State, n.Deployed = StateDeployed, c.now
		}
		c.s.seq++
		c.writes = append(c.writes, write{key: timeKey(keys.TableRulesDeployments, c.now, c.s.seq),
			value: encodeDeployment(Deployment{Policy: name, Version: v, Deployed: deploy})})
		c.audit(op, "policy", name, v)
		c.deploy = true
		return c.putPolicy(&n)
	})
}

// ExportPolicy returns a policy version as a BRL document.
func (s *Store) ExportPolicy(name string, v Version) ([]byte, error) {
	p, err := s.Policy(name, v)
	if err != nil {
		return nil, err
	}
	return brl.WriteRuleset(p.Ruleset)
}

// ExportVocabulary returns a vocabulary version as a BRL document.
func (s *Store) ExportVocabulary(name string, v Version) ([]byte, error) {
	vi, err := s.Vocabulary(name, v)
	if err != nil {
		return nil, err
	}
	return brl.WriteVocabulary(vi.Vocabulary)
}

// History returns the deploy and undeploy history still kept, oldest
// first.
func (s *Store) History() ([]Deployment, error) {
	if _, err := s.model(); err != nil {
		return nil, err
	}
	var out []Deployment
	err := scan(s.db.Reader(), keys.TableRulesDeployments, func(k, v []byte) error {
		d, _, err := decodeDeployment(k, v)
		out = append(out, d)
		return err
	})
	return out, err
}

// Audit returns the audit trail still kept, oldest first.
func (s *Store) Audit() ([]AuditEntry, error) {
	if _, err := s.model(); err != nil {
		return nil, err
	}
	var out []AuditEntry
	err := scan(s.db.Reader(), keys.TableRulesAudit, func(k, v []byte) error {
		a, _, err := decodeAudit(k, v)
		out = append(out, a)
		return err
	})
	return out, err
}

// Purge deletes deploy and undeploy history older than
// Options.HistoryRetention and audit entries older than
// Options.AuditRetention (3 and 90 days by default, as BizTalk's rule
// engine cleanup job), in one commit, and returns how many entries it
// deleted. Run it on a schedule.
func (s *Store) Purge(ctx context.Context) (int, error) {
	n := 0
	err := s.update(ctx, func(c *change) error {
		for _, tc := range []struct {
			t   keys.Table
			ret time.Duration
		}{{keys.TableRulesDeployments, s.opts.HistoryRetention}, {keys.TableRulesAudit, s.opts.AuditRetention}} {
			cutoff := c.now.Add(-tc.ret)
			stop := errors.New("stop")
			err := scan(s.db.Reader(), tc.t, func(k, _ []byte) error {
				at, _, err := decodeTimeKey(k)
				if err != nil {
					return err
				}
				if !at.Before(cutoff) {
					return stop
				}
				c.writes = append(c.writes, write{key: append([]byte(nil), k...), delete: true})
				n++
				return nil
			})
			if err != nil && !errors.Is(err, stop) {
				return err
			}
		}
		return nil
	})
	return n, err
}

// DeletePolicy removes a policy version that is not deployed (saved,
// published or undeployed), as the Business Rule Composer allows. A
// deployed version must be undeployed first (*StateError, ErrState).
func (s *Store) DeletePolicy(ctx context.Context, name string, v Version) error {
	return s.update(ctx, func(c *change) error {
		old, ok := c.m.policies[nameVersion{name, v}]
		if !ok {
			return fmt.Errorf("%w: policy %s %s", ErrNotFound, name, v)
		}
		if old.State == StateDeployed {
			return &StateError{Op: "delete", Name: name, Version: v, State: old.State, Reason: "undeploy it first", Err: ErrState}
		}
		delete(c.m.policies, nameVersion{name, v})
		c.writes = append(c.writes, write{key: versionKey(keys.TableRulesPolicies, name, v), delete: true})
		c.audit("delete", "policy", name, v)
		return nil
	})
}

// DeleteVocabulary removes a vocabulary version. A published version that
// is the last published one of a vocabulary a published policy links to
// stays (*StateError, ErrState): the policy's publication rested on it.
func (s *Store) DeleteVocabulary(ctx context.Context, name string, v Version) error {
	return s.update(ctx, func(c *change) error {
		key := nameVersion{name, v}
		old, ok := c.m.vocabs[key]
		if !ok {
			return fmt.Errorf("%w: vocabulary %s %s", ErrNotFound, name, v)
		}
		if old.State.Published() {
			others := false
			for k, vi := range c.m.vocabs {
				others = others || k != key && vi.ID == old.ID && vi.State.Published()
			}
			if !others {
				for _, p := range c.m.policies {
					if !p.State.Published() {
						continue
					}
					for _, id := range p.Ruleset.VocabularyLinks() {
						if id == old.ID {
							return &StateError{Op: "delete", Name: name, Version: v, State: old.State,
								Reason: fmt.Sprintf("published policy %s %s uses it", p.Name, p.Version), Err: ErrState}
						}
					}
				}
			}
		}
		delete(c.m.vocabs, key)
		c.writes = append(c.writes, write{key: versionKey(keys.TableRulesVocabularies, name, v), delete: true})
		c.audit("delete", "vocabulary", name, v)
		return nil
	})
}
