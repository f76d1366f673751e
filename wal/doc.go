// Package wal is the group's transaction log: the one write-ahead log that
// every biztier database commits through.
//
// # Frames and segments
//
// A frame is one entry: a type (commit, mark, epoch, noop), a dense LSN
// starting at 1, the epoch, the commit time, the CRC of the previous frame
// (a chain that detects divergence at equal LSN) and a CRC32C over all of
// it. A frame is the same bytes in every copy of the log: the active's and
// the passive's segments, the replication stream, backups and shipped logs.
// A commit frame's payload holds one record per store it touches: the
// store's ID and a Pebble batch representation (see [EncodeRecords]).
//
// Frames are appended to segment files named by their first LSN
// ("%016x.log"), each with a 32-byte header. Between frames a segment holds
// sync marks: what this file had fsynced when the mark was written, a fact
// about the file alone, never chained and never shipped (see segment.go). A
// segment is sealed, synced, when it reaches Options.SegmentSize; frames
// never span segments. Every file operation goes through a pebble vfs.FS,
// so tests run the log on vfs.NewMem, inject faults with errorfs and
// simulate crashes with vfs.NewCrashableMem. The format is versioned (2);
// a log of format 1 is refused with [ErrVersion].
//
// # Group commit
//
// [Log.Commit] queues a frame and waits. One committer goroutine takes every
// frame waiting, assigns LSNs, writes them in one write, issues one
// fdatasync (under [Sync]) and hands the group to an applier goroutine,
// which calls Options.Apply (the stores apply the batches) and then
// acknowledges each commit. While the applier works, the committer is
// already writing the next group. Nothing is acknowledged before it is
// durable, and nothing is applied (visible) before it is durable.
//
// # Failure
//
// If a write or sync fails, every commit waiting on that group gets an
// error wrapping [ErrFailed] and the log refuses all later commits until it
// is reopened. It does not retry an fsync, not even in Close: after a failed
// fsync the kernel may have dropped the dirty pages, and only recovery can
// tell what reached the disk. A [Log.BeginEpoch] that does not move the
// epoch forward fails alone ([ErrStaleEpoch]); the log carries on.
//
// # Recovery
//
// Open reads every segment and checks each frame's CRC, LSN and chain. A bad
// entry at the end of the last segment is a torn write and is cut off (and
// logged). A bad entry is corruption, and Open fails with a [*CorruptError]
// (wrapping [ErrCorrupt]) that names the file and offset, when it sits in a
// sealed segment, when LSNs jump between segments, or when an intact sync
// mark after it says this file had fsynced it. The committer writes a mark
// before each group whose file has synced more since the last mark, from
// the file's own fsyncs: a follower's marks speak of the follower's fsyncs,
// so a passive that loses power during its own fsync recovers by the same
// rule as the active. Under NoSync the marks move only on forced syncs
// (segment seals, [Log.Sync], Close), so a crash loses recent commits and
// the log still opens. Close syncs and writes a final mark after every
// frame, so after a clean shutdown damage to any frame is corruption; after
// a crash, damage inside the very last synced group cannot be told from a
// torn write and is cut off like one.
//
// # Readers, pins and retention
//
// A [Reader] reads from any retained LSN and, with [Reader.Next], follows the
// durable end of the log: it blocks on a channel the committer closes when
// the durable LSN advances, and reads through a 256 KiB buffer, so tailing
// costs neither polling nor a re-read per frame. Replication, log shipping
// and backups each hold a [Pin]; [Log.Truncate] removes only sealed
// segments wholly below both its argument and every pin.
package wal
