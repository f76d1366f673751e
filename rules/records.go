package rules

import (
	"fmt"
	"math"
	"time"

	"github.com/biztier/biztier/internal/codec"
	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/rules/brl"
	"github.com/cockroachdb/pebble/v2"
)

// Keys and values of the Rules database.
//
//	RulesPolicies     name, major, minor → v1: state, saved, published, deployed, BRL
//	RulesVocabularies name, major, minor → v1: state, saved, published, BRL
//	RulesDeployments  time, seq          → v1: deployed, name, major, minor
//	RulesAudit        time, seq          → v1: op, kind, name, major, minor
//	RulesMeta         "format"           → v1: format version
//
// The BRL is the ruleset or vocabulary as package brl writes it, so a
// stored version exports exactly as it was saved.

const (
	recordVersion = 1
	// formatVersion is the store layout; Open refuses a newer one.
	formatVersion = 1
)

func versionKey(t keys.Table, name string, v Version) []byte {
	k := keys.AppendTable(nil, t)
	k = keys.AppendString(k, name)
	k = keys.AppendUint64(k, uint64(v.Major))
	return keys.AppendUint64(k, uint64(v.Minor))
}

func timeKey(t keys.Table, at time.Time, seq uint64) []byte {
	k := keys.AppendTable(nil, t)
	k = keys.AppendTime(k, at)
	return keys.AppendUint64(k, seq)
}

func metaKey() []byte { return keys.AppendString(keys.AppendTable(nil, keys.TableRulesMeta), "format") }

func encodePolicy(p *PolicyInfo) ([]byte, error) {
	b, err := brl.WriteRuleset(p.Ruleset)
	if err != nil {
		return nil, err
	}
	e := codec.NewEncoder(nil)
	e.Version(recordVersion)
	e.Uvarint(uint64(p.State))
	e.Time(p.Saved)
	e.Time(p.Published)
	e.Time(p.Deployed)
	e.Bytes(b)
	return e.Encoded(), nil
}

func corrupt(what string, err error) error {
	return fmt.Errorf("%w: %s: %w", ErrCorruption, what, err)
}

func decodePolicy(k, v []byte) (*PolicyInfo, error) {
	name, v0, err := decodeVersionKey(k)
	if err != nil {
		return nil, err
	}
	d := codec.NewDecoder(v)
	if _, err := d.ExpectVersion(recordVersion); err != nil {
		return nil, corrupt("policy "+name, err)
	}
	p := &PolicyInfo{Name: name, Version: v0}
	p.State = State(d.Uvarint())
	p.Saved, p.Published, p.Deployed = d.Time(), d.Time(), d.Time()
	text := d.Bytes()
	if err := d.Finish(); err != nil {
		return nil, corrupt("policy "+name, err)
	}
	if p.State < StateSaved || p.State > StateUndeployed {
		return nil, corrupt("policy "+name, fmt.Errorf("state %d", p.State))
	}
	res, err := brl.Parse(text)
	if err != nil || len(res.Document.Rulesets) != 1 {
		return nil, corrupt("policy "+name+" BRL", fmt.Errorf("%v", err))
	}
	p.Ruleset = res.Document.Rulesets[0]
	return p, nil
}

func encodeVocabulary(vi *VocabularyInfo) ([]byte, error) {
	b, err := brl.WriteVocabulary(vi.Vocabulary)
	if err != nil {
		return nil, err
	}
	e := codec.NewEncoder(nil)
	e.Version(recordVersion)
	e.Uvarint(uint64(vi.State))
	e.Time(vi.Saved)
	e.Time(vi.Published)
	e.Bytes(b)
	return e.Encoded(), nil
}

func decodeVocabulary(k, v []byte) (*VocabularyInfo, error) {
	name, v0, err := decodeVersionKey(k)
	if err != nil {
		return nil, err
	}
	d := codec.NewDecoder(v)
	if _, err := d.ExpectVersion(recordVersion); err != nil {
		return nil, corrupt("vocabulary "+name, err)
	}
	vi := &VocabularyInfo{Name: name, Version: v0}
	vi.State = State(d.Uvarint())
	vi.Saved, vi.Published = d.Time(), d.Time()
	text := d.Bytes()
	if err := d.Finish(); err != nil {
		return nil, corrupt("vocabulary "+name, err)
	}
	if vi.State != StateSaved && vi.State != StatePublished {
		return nil, corrupt("vocabulary "+name, fmt.Errorf("state %d", vi.State))
	}
	res, err := brl.Parse(text)
	if err != nil || len(res.Document.Vocabularies) != 1 {
		return nil, corrupt("vocabulary "+name+" BRL", fmt.Errorf("%v", err))
	}
	vi.Vocabulary = res.Document.Vocabularies[0]
	vi.ID = vi.Vocabulary.ID
	return vi, nil
}

func decodeVersionKey(k []byte) (string, Version, error) {
	_, rest, err := keys.DecodeTable(k)
	if err != nil {
		return "", Version{}, corrupt("key", err)
	}
	name, rest, err := keys.DecodeString(rest)
	if err != nil {
		return "", Version{}, corrupt("key", err)
	}
	major, rest, err := keys.DecodeUint64(rest)
	if err != nil {
		return "", Version{}, corrupt("key", err)
	}
	minor, rest, err := keys.DecodeUint64(rest)
	if err != nil || len(rest) != 0 || major > math.MaxInt32 || minor > math.MaxInt32 {
		return "", Version{}, corrupt("key", fmt.Errorf("version components: %v", err))
	}
	return name, Version{int(major), int(minor)}, nil
}

func encodeDeployment(d Deployment) []byte {
	e := codec.NewEncoder(nil)
	e.Version(recordVersion)
	e.Bool(d.Deployed)
	e.String(d.Policy)
	e.Uvarint(uint64(d.Version.Major))
	e.Uvarint(uint64(d.Version.Minor))
	return e.Encoded()
}

func decodeTimeKey(k []byte) (time.Time, uint64, error) {
	_, rest, err := keys.DecodeTable(k)
	if err != nil {
		return time.Time{}, 0, corrupt("key", err)
	}
	at, rest, err := keys.DecodeTime(rest)
	if err != nil {
		return time.Time{}, 0, corrupt("key", err)
	}
	seq, _, err := keys.DecodeUint64(rest)
	if err != nil {
		return time.Time{}, 0, corrupt("key", err)
	}
	return at, seq, nil
}

func decodeDeployment(k, v []byte) (Deployment, uint64, error) {
	at, seq, err := decodeTimeKey(k)
	if err != nil {
		return Deployment{}, 0, err
	}
	d := codec.NewDecoder(v)
	if _, err := d.ExpectVersion(recordVersion); err != nil {
		return Deployment{}, 0, corrupt("deployment", err)
	}
	out := Deployment{Time: at, Deployed: d.Bool(), Policy: d.Text()}
	out.Version = Version{int(d.Uvarint()), int(d.Uvarint())}
	if err := d.Finish(); err != nil {
		return Deployment{}, 0, corrupt("deployment", err)
	}
	return out, seq, nil
}

func encodeAudit(a AuditEntry) []byte {
	e := codec.NewEncoder(nil)
	e.Version(recordVersion)
	e.String(a.Op)
	e.String(a.Kind)
	e.String(a.Name)
	e.Uvarint(uint64(a.Version.Major))
	e.Uvarint(uint64(a.Version.Minor))
	return e.Encoded()
}

func decodeAudit(k, v []byte) (AuditEntry, uint64, error) {
	at, seq, err := decodeTimeKey(k)
	if err != nil {
		return AuditEntry{}, 0, err
	}
	d := codec.NewDecoder(v)
	if _, err := d.ExpectVersion(recordVersion); err != nil {
		return AuditEntry{}, 0, corrupt("audit", err)
	}
	out := AuditEntry{Time: at, Op: d.Text(), Kind: d.Text(), Name: d.Text()}
	out.Version = Version{int(d.Uvarint()), int(d.Uvarint())}
	if err := d.Finish(); err != nil {
		return AuditEntry{}, 0, corrupt("audit", err)
	}
	return out, seq, nil
}

// scan calls fn for every key of table t.
func scan(db pebble.Reader, t keys.Table, fn func(k, v []byte) error) error {
	lower := keys.AppendTable(nil, t)
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: keys.PrefixSuccessor(lower)})
	if err != nil {
		return fmt.Errorf("rules: scan %s: %w", t, err)
	}
	for it.First(); it.Valid(); it.Next() {
		v, err := it.ValueAndErr()
		if err == nil {
			err = fn(it.Key(), v)
		}
		if err != nil {
			_ = it.Close()
			return fmt.Errorf("rules: %s key %s: %w", t, keys.Format(it.Key()), err)
		}
	}
	if err := it.Error(); err != nil {
		_ = it.Close()
		return fmt.Errorf("rules: scan %s: %w", t, err)
	}
	return it.Close()
}

// load reads the whole store, and the highest history or audit sequence.
func load(db pebble.Reader) (*model, uint64, error) {
	m := &model{policies: map[nameVersion]*PolicyInfo{}, vocabs: map[nameVersion]*VocabularyInfo{}}
	var seq uint64
	err := scan(db, keys.TableRulesMeta, func(k, v []byte) error {
		d := codec.NewDecoder(v)
		if _, err := d.ExpectVersion(recordVersion); err != nil {
			return corrupt("format", err)
		}
		f := d.Uvarint()
		if err := d.Finish(); err != nil {
			return corrupt("format", err)
		}
		if f > formatVersion {
			return fmt.Errorf("%w: rule store format %d is newer than this build's %d", ErrInvalid, f, formatVersion)
		}
		return nil
	})
	if err == nil {
		err = scan(db, keys.TableRulesPolicies, func(k, v []byte) error {
			p, err := decodePolicy(k, v)
			if err == nil {
				m.policies[nameVersion{p.Name, p.Version}] = p
			}
			return err
		})
	}
	if err == nil {
		err = scan(db, keys.TableRulesVocabularies, func(k, v []byte) error {
			vi, err := decodeVocabulary(k, v)
			if err == nil {
				m.vocabs[nameVersion{vi.Name, vi.Version}] = vi
			}
			return err
		})
	}
	for _, t := range []keys.Table{keys.TableRulesDeployments, keys.TableRulesAudit} {
		if err != nil {
			break
		}
		err = scan(db, t, func(k, _ []byte) error {
			_, s, err := decodeTimeKey(k)
			seq = max(seq, s)
			return err
		})
	}
	if err != nil {
		return nil, 0, err
	}
	return m, seq, nil
}

func formatValue() []byte {
	e := codec.NewEncoder(nil)
	e.Version(recordVersion)
	e.Uvarint(formatVersion)
	return e.Encoded()
}
