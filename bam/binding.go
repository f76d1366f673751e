package bam

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/biztier/biztier/internal/codec"
	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
)

// Binding says what a tracking profile's names are at run time: the name
// the runtime gives each orchestration the profile references (its
// OrchestrationReference, "Assembly.Orchestration") and each port. A nil
// map, or a name it does not hold, means the same name.
type Binding struct {
	Orchestrations map[string]string
	Ports          map[string]string
}

// bound is one profile as the interceptor uses it.
type bound struct {
	profile *TrackingProfile
	binding Binding
	act     string
}

// profiles is the bound tracking profiles, by profile (activity) name.
// Never modified once built.
type profiles map[string]*bound

// BindProfile binds a tracking profile (the Tracking Profile Editor's
// "Apply Tracking Profile"): its activity must be deployed, and every item
// that is a checkpoint must be one of the activity with the same type
// (*CheckpointError otherwise). Binding replaces an earlier binding of the
// profile. From then on the Interceptor of each orchestration and port the
// profile names produces its events.
func (s *Store) BindProfile(ctx context.Context, p *TrackingProfile, b *Binding) error {
	ctx = store.Context(ctx)
	if err := s.check(); err != nil {
		return err
	}
	if p == nil {
		return fmt.Errorf("%w: nil profile", ErrInvalid)
	}
	var bd Binding
	if b != nil {
		bd = Binding{Orchestrations: maps.Clone(b.Orchestrations), Ports: maps.Clone(b.Ports)}
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	act := s.cat.Load().acts[p.Name]
	if act == nil {
		return fmt.Errorf("%w: activity %s (of tracking profile %s)", ErrNotDeployed, p.Name, p.Name)
	}
	for _, d := range p.Dimensions {
		switch d.DataType {
		case ItemTraceID, ItemContinuation, ItemContinuationID:
			continue
		}
		cp := act.cps[d.Name]
		if cp == nil {
			return &CheckpointError{Activity: p.Name, Checkpoint: d.Name, Err: ErrUnknownCheckpoint}
		}
		if string(cp.Type) != d.DataType {
			return &CheckpointError{Activity: p.Name, Checkpoint: d.Name, Err: fmt.Errorf("%w: the profile maps a %s, the activity has a %s", ErrType, d.DataType, cp.Type)}
		}
	}
	var text bytes.Buffer
	if err := p.Export(&text); err != nil {
		return err
	}
	e := codec.NewEncoder(nil)
	e.Version(profileVersion)
	e.Bytes(text.Bytes())
	encodeMap(e, bd.Orchestrations)
	encodeMap(e, bd.Ports)
	tx, bt := s.begin()
	defer tx.Abort()
	if err := bt.Set(profileKey(p.Name), e.Encoded(), nil); err != nil {
		return err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return err
	}
	// The stored copy, re-read, is what runs.
	again, err := ParseProfileBytes(text.Bytes())
	if err != nil {
		return err
	}
	next := maps.Clone(*s.profiles.Load())
	next[p.Name] = &bound{profile: again, binding: bd, act: p.Name}
	s.profiles.Store(&next)
	return nil
}

// UnbindProfile removes a profile's binding; ErrNotDeployed if it has none.
func (s *Store) UnbindProfile(ctx context.Context, name string) error {
	ctx = store.Context(ctx)
	if err := s.check(); err != nil {
		return err
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	cur := *s.profiles.Load()
	if cur[name] == nil {
		return fmt.Errorf("%w: tracking profile %s", ErrNotDeployed, name)
	}
	tx, b := s.begin()
	defer tx.Abort()
	if err := b.Delete(profileKey(name), nil); err != nil {
		return err
	}
	if _, err := tx.Commit(ctx); err != nil {
		return err
	}
	next := maps.Clone(cur)
	delete(next, name)
	s.profiles.Store(&next)
	return nil
}

// Profiles returns the names of the bound tracking profiles, sorted.
func (s *Store) Profiles() []string {
	return slices.Sorted(maps.Keys(*s.profiles.Load()))
}

// checkProfilesFree refuses removing an activity a bound profile feeds.
func (s *Store) checkProfilesFree(d *Definition) error {
	cur := *s.profiles.Load()
	for _, a := range d.Activities {
		if cur[a.Name] != nil {
			return fmt.Errorf("%w: activity %s has tracking profile %s bound", ErrInUse, a.Name, a.Name)
		}
	}
	return nil
}

func (s *Store) loadProfiles() error {
	out := profiles{}
	lo, hi := keys.PrefixBounds(keys.AppendTable(nil, keys.TableBAMProfiles))
	err := scan(s.r, lo, hi, func(k, v []byte) error {
		d := codec.NewDecoder(v)
		if _, err := d.ExpectVersion(profileVersion); err != nil {
			return corruptf("profile: %v", err)
		}
		text := d.Bytes()
		var bd Binding
		bd.Orchestrations = decodeMap(d)
		bd.Ports = decodeMap(d)
		if err := d.Finish(); err != nil {
			return corruptf("profile: %v", err)
		}
		p, err := ParseProfileBytes(text)
		if err != nil {
			return corruptf("profile: %v", err)
		}
		out[p.Name] = &bound{profile: p, binding: bd, act: p.Name}
		return nil
	})
	if err != nil {
		return err
	}
	s.profiles.Store(&out)
	return nil
}

func encodeMap(e *codec.Encoder, m map[string]string) {
	ks := slices.Sorted(maps.Keys(m))
	e.Uvarint(uint64(len(ks)))
	for _, k := range ks {
		e.String(k)
		e.String(m[k])
	}
}

func decodeMap(d *codec.Decoder) map[string]string {
	n := d.Uvarint()
	if n == 0 || n > maxItems {
		return nil
	}
	m := make(map[string]string, n)
	for range n {
		if d.Err() != nil {
			return nil
		}
		k := d.Text()
		m[k] = d.Text()
	}
	return m
}
