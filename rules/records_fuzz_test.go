package rules

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/rules/brl"
)

// FuzzDecodeRecords: the store's value and key decoders never panic on any
// bytes, fail only with ErrCorruption, and what they accept re-encodes to
// a record that decodes equal.
//
//	go test ./rules -run '^$' -fuzz FuzzDecodeRecords -fuzztime 60s
func FuzzDecodeRecords(f *testing.F) {
	rs := &brl.Ruleset{Name: "P", Version: brl.Version{Major: 1, Minor: 2}, Rules: []*brl.Rule{{Name: "r", Active: true}}}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	pv, err := encodePolicy(&PolicyInfo{Name: "P", Version: Version{1, 2}, State: StateDeployed, Saved: at, Published: at, Deployed: at, Ruleset: rs})
	if err != nil {
		f.Fatal(err)
	}
	voc := &brl.Vocabulary{ID: "id", Name: "V", Version: brl.Version{Major: 1}, Definitions: []*brl.Definition{{ID: "d", Name: "D", Binding: &brl.Node{Name: "valuedefinitionliteral"}}}}
	vv, err := encodeVocabulary(&VocabularyInfo{Name: "V", State: StatePublished, Saved: at, Vocabulary: voc})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(byte(0), versionKey(keys.TableRulesPolicies, "P", Version{1, 2}), pv)
	f.Add(byte(1), versionKey(keys.TableRulesVocabularies, "V", Version{1, 0}), vv)
	f.Add(byte(2), timeKey(keys.TableRulesDeployments, at, 7), encodeDeployment(Deployment{Policy: "P", Version: Version{1, 2}, Deployed: true}))
	f.Add(byte(3), timeKey(keys.TableRulesAudit, at, 8), encodeAudit(AuditEntry{Op: "save", Kind: "policy", Name: "P", Version: Version{1, 2}}))
	f.Fuzz(func(t *testing.T, which byte, k, v []byte) {
		check := func(err error) bool {
			if err != nil && !errors.Is(err, ErrCorruption) {
				t.Fatalf("error %v does not wrap ErrCorruption", err)
			}
			return err == nil
		}
		switch which % 4 {
		case 0:
			p, err := decodePolicy(k, v)
			if !check(err) {
				return
			}
			b, err := encodePolicy(p)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			q, err := decodePolicy(versionKey(keys.TableRulesPolicies, p.Name, p.Version), b)
			if err != nil || !reflect.DeepEqual(p, q) {
				t.Fatalf("round trip: %v", err)
			}
		case 1:
			vi, err := decodeVocabulary(k, v)
			if !check(err) {
				return
			}
			b, err := encodeVocabulary(vi)
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			w, err := decodeVocabulary(versionKey(keys.TableRulesVocabularies, vi.Name, vi.Version), b)
			if err != nil || !reflect.DeepEqual(vi, w) {
				t.Fatalf("round trip: %v", err)
			}
		case 2:
			d, seq, err := decodeDeployment(k, v)
			if !check(err) {
				return
			}
			e, seq2, err := decodeDeployment(timeKey(keys.TableRulesDeployments, d.Time, seq), encodeDeployment(d))
			if err != nil || seq != seq2 || !d.Time.Equal(e.Time) || d.Policy != e.Policy || d.Version != e.Version || d.Deployed != e.Deployed {
				t.Fatalf("round trip: %v", err)
			}
		case 3:
			a, seq, err := decodeAudit(k, v)
			if !check(err) {
				return
			}
			b, seq2, err := decodeAudit(timeKey(keys.TableRulesAudit, a.Time, seq), encodeAudit(a))
			if err != nil || seq != seq2 || !a.Time.Equal(b.Time) || a.Op != b.Op || a.Name != b.Name || a.Version != b.Version {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}
