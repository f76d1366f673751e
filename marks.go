package biztier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/biztier/biztier/internal/backup"
	"github.com/biztier/biztier/wal"
)

// MarkHistory is how long a group's mark list keeps a mark (the newest is
// always kept): BizTalk's default backup history of 14 days. The marks
// themselves stay in the backup sets that hold them.
const MarkHistory = 14 * 24 * time.Hour

// Mark is a named mark frame: a point of the log at which every database
// is consistent (BizTalk's marked transaction).
type Mark struct {
	Name string
	LSN  uint64
	// Time is the mark frame's commit time.
	Time time.Time
}

func markFrom(m backup.Mark) Mark {
	return Mark{Name: m.Name, LSN: m.LSN, Time: time.Unix(0, m.Time)}
}

func marksFrom(ms []backup.Mark) []Mark {
	out := make([]Mark, len(ms))
	for i, m := range ms {
		out[i] = markFrom(m)
	}
	return out
}

// openMarks opens the group's mark list, the MARKS file in the group
// directory. Marks are kept there rather than found by scanning the log
// because the log is truncated; a mark whose commit was under way when the
// process stopped is looked for in the log on open (Mark pins the log
// until the mark is recorded, so the frame is still there).
func (g *Group) openMarks() error {
	ml, err := backup.OpenMarkList(g.opts.FS, g.opts.FS.PathJoin(g.dir, backup.MarkListName), g.set.Log())
	if err != nil {
		return err
	}
	g.marks = ml
	return nil
}

func (g *Group) mark(ctx context.Context, name string) (uint64, error) {
	if name == "" {
		return 0, fmt.Errorf("biztier: mark needs a name")
	}
	g.markMu.Lock()
	defer g.markMu.Unlock()
	l := g.set.Log()
	from := l.DurableLSN() + 1
	pin, err := l.Pin("mark "+name, from)
	if err != nil {
		return 0, fmt.Errorf("biztier: mark: %w", err)
	}
	defer pin.Release()
	if err := g.marks.Begin(name, from); err != nil {
		return 0, fmt.Errorf("biztier: mark: %w", err)
	}
	lsn, err := l.Mark(ctx, name)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, wal.ErrClosed) {
			// Never queued: nothing to find on reopen.
			_ = g.marks.Abandon()
		}
		// Otherwise the outcome is unknown; the pending entry makes the next
		// Open look for the frame.
		if errors.Is(err, wal.ErrClosed) {
			return 0, ErrClosed
		}
		return 0, err
	}
	t, err := frameTime(l, lsn)
	if err != nil {
		return 0, fmt.Errorf("biztier: mark: %w", err)
	}
	m := backup.Mark{Name: name, LSN: lsn, Time: t}
	if err := g.marks.Done(m, g.opts.Now().Add(-MarkHistory)); err != nil {
		return 0, fmt.Errorf("biztier: mark %q committed at lsn %d but not recorded: %w", name, lsn, err)
	}
	return lsn, nil
}

// frameTime reads the commit time of frame lsn back from the log.
func frameTime(l *wal.Log, lsn uint64) (int64, error) {
	r, err := l.NewReader(lsn)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	f, err := r.Read()
	if errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("frame %d not readable", lsn)
	}
	if err != nil {
		return 0, err
	}
	return f.Time, nil
}

// Marks lists the group's marks, oldest first: those made since the group
// was created (or restored, which brings the marks of the backups it came
// from), less those older than MarkHistory. Marks are kept apart from the
// log, so truncation does not remove them.
func (g *Group) Marks() []Mark { return marksFrom(g.marks.List()) }
