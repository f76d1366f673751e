package cluster

import "github.com/biztier/biztier/wal"

// forkPoint returns the last LSN at which a passive's log still agrees with
// the active's, from both epoch histories and last LSNs (§4.8 of the
// design: compare epoch by epoch, as PostgreSQL compares timelines). Only
// one node ever writes in an epoch, so frames with the same LSN and epoch
// are the same frame; the passive must cut its log after the fork point.
// The CRC chain, checked when the first streamed frame is appended, catches
// any divergence this misses.
func forkPoint(active []wal.EpochStart, activeLast uint64, passive []wal.EpochStart, passiveLast uint64) uint64 {
	end := func(h []wal.EpochStart, i int, last uint64) uint64 {
		if i+1 < len(h) {
			return h[i+1].LSN - 1
		}
		return last
	}
	for i, pe := range passive {
		pEnd := end(passive, i, passiveLast)
		j := -1
		for k, ae := range active {
			if ae.Epoch == pe.Epoch {
				j = k
				break
			}
		}
		if j < 0 {
			if len(active) > 0 && pe.Epoch < active[0].Epoch {
				// Older than anything the active still holds: common history
				// as far as the active's oldest frame.
				if pEnd >= active[0].LSN {
					return active[0].LSN - 1
				}
				if i == len(passive)-1 {
					return pEnd
				}
				continue
			}
			return pe.LSN - 1
		}
		aEnd := end(active, j, activeLast)
		switch {
		case pEnd > aEnd:
			return aEnd
		case i == len(passive)-1, pEnd < aEnd:
			return pEnd
		}
	}
	return passiveLast
}
