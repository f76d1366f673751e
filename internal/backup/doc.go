// Package backup is the machinery behind the root package's Backup,
// BackupLog, LogShipping, Restore and Standby: BizTalk's Backup BizTalk
// Server job and log shipping, on the group's one log.
//
// # Consistency
//
// A full backup checkpoints every store with Pebble while commits go on.
// With Pebble's WAL off, each checkpoint holds exactly the store's flushed
// state, and the applied-LSN key flushed with it says which log prefix that
// is (a_s, different per store). A mark frame M is then committed, and the
// set holds the log from min(a_s)+1 through M. Restoring replays each
// store's part of every frame above its own a_s, so every store lands on
// the same frame: the set is consistent at M, across stores, without
// pausing commits (BizTalk's marked transaction).
//
// A log backup commits a mark and holds the frames after the newest set up
// to it. Sets therefore chain by LSN; a restore to any mark, LSN or time
// takes the newest full set at or before the target and the files after
// it, and checks before applying anything that the LSNs are contiguous,
// every file's SHA-256 matches its manifest, and every frame's CRC and
// chain CRC hold.
//
// # Layout in a Storage
//
//	sets/<start time, 16 hex digits of Unix ns>-<full|log>/
//	    MANIFEST.json                 written last: a set without it is incomplete
//	    stores/<store>/<file>.zst     a full set's checkpoint files, zstd
//	    log/<first lsn, 16 hex>.frames.zst
//	                                  frames as the log encodes them, zstd
//
// Each file is written to a temporary name, synced and renamed, so a file
// is whole or absent; the manifest lists each file's stored size, raw size
// and SHA-256, and each log file's LSN range, times and chain CRCs. A
// crashed backup leaves a set without a manifest: never listed, never
// restored from, and deleted by Prune once an hour old.
//
// # Restore directories
//
// A restore writes a RESTORING marker first and the group's identity file
// last (through its Finish callback); a directory with the marker and no
// identity is not a group, and the next restore into it starts over. A
// standby keeps a STANDBY marker instead until it is activated.
//
// # Marks
//
// MarkList keeps a group's marks in the MARKS file of its directory, so
// they outlive the log's truncation.
package backup
