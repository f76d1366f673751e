// Package file is BizTalk's FILE adapter for the host runtime: receive
// locations that poll a folder for files matching a mask, and send ports
// that write each message to a file named by BizTalk's macros.
//
// # Receive
//
// A location's address is a folder and a file mask (`C:\orders\in\*.xml`;
// a FileMask property in its transport data overrides the mask). Each poll
// reads up to BatchSize files (default 20, BizTalk's) and BatchSizeInBytes
// (default 102400) in name order, hands them to the host in one commit
// (Endpoint.SubmitOnce), and removes them only after that commit. The commit
// also records a receipt for each file (its name, size and modification
// time), so a file found again after a crash that came between the commit
// and its removal is removed, not published twice: every file is published
// exactly once or is still in the folder. Receipts are deleted with the
// next commit once their files are gone. Each message promotes FILE.ReceivedFileName (the
// file's full path) and writes FILE.FileCreationTime. A poll lists the
// folder once and receives everything listed, batch by batch, then lists
// again at once; a poll that finds nothing waits PollingInterval (ms,
// default 60000) on the host's clock. Producers should write files under another
// name and rename them into place, since a file is read as soon as it
// matches.
//
// # Send
//
// A send port's address names the file; the macros %MessageID% (the
// message ID as a GUID in braces), %SourceFileName% (the base name of
// FILE.ReceivedFileName, or the message ID when the message did not come
// from a file), %datetime% (UTC, 2006-01-02T150405) and %time% (UTC,
// 150405) are replaced. CopyMode (0 append, 1 create new, the default,
// 2 overwrite) decides what happens to an existing file. Every mode writes
// atomically: the content goes to a temporary file in the same folder,
// which is fsynced and then linked (create new) or renamed (overwrite,
// append: the old content and the new, copied) into place, and the folder
// is fsynced; a crash never leaves half a file under the final name. A
// create-new target that already holds exactly the message's bytes is taken
// as the message's own earlier delivery (redelivered after a crash) and not
// as a conflict. The folder must exist; a missing folder or a conflicting
// file fails the send, which the port's retry policy retries.
//
// # Addresses
//
// Binding files carry Windows paths. Options.Root maps them: a drive letter
// is dropped, backslashes become slashes and the path is put under Root
// (`C:\orders\in` is <Root>/orders/in). Without Root, paths are used as
// they are after that translation.
package file
