package messagebox

import (
	"fmt"
	"slices"
	"time"

	"github.com/biztier/biztier/internal/codec"
	"github.com/biztier/biztier/internal/keys"
	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// DedupOptions turn on duplicate detection: within Window, a message
// whose key was already published by the same publisher is rejected with
// a *DuplicateError and nothing of its batch is stored. Keys are stored
// with the messages, so detection survives a restart.
type DedupOptions struct {
	// Window is how long a key is remembered; it must be positive.
	Window time.Duration
	// Property, if set, names the context property whose value is the
	// key; messages without it are not checked. Empty means the message
	// ID.
	Property string
	// Publisher, if set, names the context property whose value scopes
	// the keys (one window per receive port, say). Empty means one scope.
	Publisher string
}

// DuplicateError reports a message rejected by duplicate detection. It
// matches ErrDuplicate with errors.Is.
type DuplicateError struct {
	MessageID uuid.UUID
	// Publisher and Key are the scope and key that repeated.
	Publisher, Key string
	// Until is when the key is forgotten.
	Until time.Time
}

// Error names the message and the key.
func (e *DuplicateError) Error() string {
	return fmt.Sprintf("messagebox: duplicate message %s: key %q of publisher %q seen until %s",
		e.MessageID, e.Key, e.Publisher, e.Until.Format(time.RFC3339Nano))
}

// Unwrap makes errors.Is(err, ErrDuplicate) hold.
func (e *DuplicateError) Unwrap() error { return ErrDuplicate }

const dedupVersion = 1

// dedupKey is one remembered key: its stored key doubles as its map key.
type dedupKey struct {
	key     string
	expires int64
}

func dedupStoreKey(publisher, key string) string {
	k := keys.AppendTable(nil, keys.TableDedup)
	k = keys.AppendString(k, publisher)
	return string(keys.AppendString(k, key))
}

// dedupOf returns m's scope and key, and false if m is not checked.
func (o *DedupOptions) dedupOf(m *Message) (publisher, key string, ok bool) {
	text := func(name string) (string, bool) {
		p, ok := m.Property(name)
		if !ok {
			return "", false
		}
		return p.Value.String(), true
	}
	if o.Publisher != "" {
		publisher, _ = text(o.Publisher)
	}
	if o.Property == "" {
		return publisher, m.ID.String(), true
	}
	key, ok = text(o.Property)
	return publisher, key, ok
}

// dedupPart is the MessageBox's duplicate detection: the keys remembered
// within the window. Like every part it plans its writes into the
// publish's batch under the Store's lock and undoes its memory if the
// publish does not commit.
type dedupPart struct {
	opts *DedupOptions // nil: detection off
	// keys maps remembered keys (their stored keys) to their expiry; queue
	// holds them by expiry.
	keys  map[string]int64
	queue []dedupKey
}

func newDedupPart(o *DedupOptions) dedupPart {
	return dedupPart{opts: o, keys: make(map[string]int64)}
}

// plan checks pend against the remembered keys and, if none repeats,
// remembers theirs (adding them to b) and forgets expired ones. It returns
// the keys added, for undo.
func (d *dedupPart) plan(b *pebble.Batch, pend []pendingMsg, now int64) ([]string, error) {
	o := d.opts
	if o == nil {
		return nil, nil
	}
	var added []string
	for _, p := range pend {
		pub, key, ok := o.dedupOf(p.m)
		if !ok {
			continue
		}
		sk := dedupStoreKey(pub, key)
		if exp, seen := d.keys[sk]; seen && exp > now {
			d.undo(added)
			return nil, &DuplicateError{MessageID: p.m.ID, Publisher: pub, Key: key, Until: time.Unix(0, exp).UTC()}
		}
		exp := now + int64(o.Window)
		d.keys[sk] = exp
		added = append(added, sk)
	}
	for _, sk := range added {
		exp := d.keys[sk]
		e := codec.NewEncoder(nil)
		e.Version(dedupVersion)
		e.Varint(exp)
		_ = b.Set([]byte(sk), e.Encoded(), nil)
		d.queue = append(d.queue, dedupKey{key: sk, expires: exp})
	}
	// Forget a few expired keys per publish.
	for i := 0; i < 16 && len(d.queue) > 0 && d.queue[0].expires <= now; i++ {
		k := d.queue[0]
		d.queue = d.queue[1:]
		if cur, ok := d.keys[k.key]; !ok || cur == k.expires {
			delete(d.keys, k.key)
			_ = b.Delete([]byte(k.key), nil)
		}
	}
	return added, nil
}

// undo forgets keys plan remembered for a publish that did not commit.
func (d *dedupPart) undo(added []string) {
	for _, k := range added {
		delete(d.keys, k)
	}
}

// load rebuilds the remembered keys from the store.
func (d *dedupPart) load(scan func(prefix []byte, fn func(k, v []byte) error) error) error {
	err := scan(tablePrefix(keys.TableDedup), func(k, v []byte) error {
		dec := codec.NewDecoder(v)
		_, _ = dec.ExpectVersion(dedupVersion)
		exp := dec.Varint()
		if err := dec.Finish(); err != nil {
			return corruption("dedup key", err)
		}
		d.keys[string(k)] = exp
		d.queue = append(d.queue, dedupKey{key: string(k), expires: exp})
		return nil
	})
	slices.SortFunc(d.queue, func(a, b dedupKey) int { return int(min(max(a.expires-b.expires, -1), 1)) })
	return err
}
