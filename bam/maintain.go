package bam

import (
	"context"
	"errors"
	"time"

	"github.com/biztier/biztier/internal/keys"
	"github.com/biztier/biztier/internal/store"
)

// MaintenanceReport says what one Maintain pass did.
type MaintenanceReport struct {
	// Moved are the partitions moved out of the database (to the archive,
	// or dropped without one), as "activity@partition start".
	Moved []string
	// Held are partitions past the online window that stay because a cube
	// over their activity has not been computed since they ended.
	Held []string
	// Instances is how many instances left the database.
	Instances int
}

// Maintain is BizTalk's BAM data maintenance (BAM_DM_<activity>), online:
// completed instances are partitioned by completion time in
// Options.WindowUnit partitions; each partition that ended more than
// Options.WindowLength units ago is written to Options.Archive (dropped
// without one) and then deleted with its continuation records, one
// partition per commit, unless a cube (CreateOlapCube) over its activity
// has not been computed since the partition ended (cubes are computed
// before data leaves, as BizTalk's archiving waits for the cube update), or
// a real-time aggregation over the activity still counts instances of the
// partition (it ended within Options.RTAWindow). It
// also ages out real-time aggregation cells older than Options.RTAWindow.
// Events keep flowing meanwhile; writers of instance records wait for each
// partition's commit.
func (s *Store) Maintain(ctx context.Context) (*MaintenanceReport, error) {
	ctx = store.Context(ctx)
	if err := s.check(); err != nil {
		return nil, err
	}
	rep := &MaintenanceReport{}
	now := s.now()
	cutoff := s.opts.addUnits(s.opts.partitionOf(now), -s.opts.WindowLength)
	cat := s.cat.Load()
	for name := range cat.acts {
		parts, err := s.partitionsBefore(name, cutoff)
		if err != nil {
			return rep, err
		}
		for _, p := range parts {
			label := name + "@" + p.Format(time.RFC3339)
			end := s.opts.addUnits(p, 1)
			// A real-time aggregation still counting the partition's
			// instances needs their records to move their contributions.
			if len(cat.acts[name].rtas) > 0 && end.After(now.Add(-s.opts.RTAWindow)) {
				rep.Held = append(rep.Held, label)
				continue
			}
			if held, err := s.cubesBehind(cat, name, end); err != nil {
				return rep, err
			} else if held {
				rep.Held = append(rep.Held, label)
				continue
			}
			n, err := s.movePartition(ctx, name, p)
			if err != nil {
				return rep, err
			}
			rep.Moved = append(rep.Moved, label)
			rep.Instances += n
		}
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	tx, b := s.begin()
	defer tx.Abort()
	if err := s.ageAggregations(b, s.cat.Load(), now); err != nil {
		return rep, err
	}
	_, err := tx.Commit(ctx)
	return rep, err
}

// partitionsBefore lists an activity's completed partitions that start
// before cutoff.
func (s *Store) partitionsBefore(activity string, cutoff time.Time) ([]time.Time, error) {
	var out []time.Time
	prefix := completedPrefix(activity)
	lo, _ := keys.PrefixBounds(prefix)
	hi := partitionPrefix(activity, cutoff)
	for {
		it, err := s.r.NewIter(nil)
		if err != nil {
			return nil, err
		}
		ok := it.SeekGE(lo) && string(it.Key()) < string(hi)
		var k []byte
		if ok {
			k = append(k, it.Key()...)
		}
		if err := errors.Join(it.Error(), it.Close()); err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		p, _, err := keys.DecodeTime(k[len(prefix):])
		if err != nil {
			return nil, corruptf("completed key: %v", err)
		}
		out = append(out, p)
		lo = keys.PrefixSuccessor(partitionPrefix(activity, p))
	}
}

// cubesBehind reports whether a scheduled cube over activity was last
// computed before end (or never).
func (s *Store) cubesBehind(cat *catalog, activity string, end time.Time) (bool, error) {
	for name, ci := range cat.cubes {
		if !ci.CreateOlapCube || ci.view.act.Name != activity {
			continue
		}
		v, err := get(s.r, cubeMarkKey(name))
		if errors.Is(err, errNotFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		t, _, err := keys.DecodeTime(v)
		if err != nil {
			return false, corruptf("cube mark: %v", err)
		}
		if t.Before(end) {
			return true, nil
		}
	}
	return false, nil
}

// movePartition archives and deletes one partition.
func (s *Store) movePartition(ctx context.Context, activity string, p time.Time) (int, error) {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	prefix := partitionPrefix(activity, p)
	lo, hi := keys.PrefixBounds(prefix)
	var insts []*instance
	err := scan(s.r, lo, hi, func(k, v []byte) error {
		in, err := decodeInstance(v)
		if err != nil {
			return err
		}
		insts = append(insts, in)
		return nil
	})
	if err != nil {
		return 0, err
	}
	if s.opts.Archive != nil {
		pub := make([]*Instance, len(insts))
		for i, in := range insts {
			pub[i] = in.public(activity, Archived)
		}
		if err := s.opts.Archive.Put(ctx, activity, p, pub); err != nil {
			return 0, err
		}
	}
	tx, b := s.begin()
	defer tx.Abort()
	if err := b.DeleteRange(lo, hi, nil); err != nil {
		return 0, err
	}
	for _, in := range insts {
		if err := b.Delete(byIDKey(activity, in.id), nil); err != nil {
			return 0, err
		}
		for _, t := range in.tokens {
			if err := b.Delete(contKey(activity, t), nil); err != nil {
				return 0, err
			}
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	return len(insts), nil
}
