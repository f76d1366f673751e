package sso

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// SetHook installs a hook that runs at each step of a regenerate; an error
// stops the regenerate there.
func SetHook(o *Options, fn func(step string) error) { o.hook = fn }

// Steps of a regenerate, for tests.
const (
	StepSavedBoth = stepSavedBoth
	StepNext      = stepNext
	StepBatch     = stepBatch
	StepDone      = stepDone
	StepSavedNew  = stepSavedNew
)

// MappingKey is the store key of a mapping.
func MappingKey(app, account string) []byte { return mappingKey(app, account) }

// ConfigKey is the store key of a config entry.
func ConfigKey(app, identifier string) []byte { return configKey(app, identifier) }

// RawGet returns a copy of the stored value at key.
func RawGet(s *Store, key []byte) ([]byte, error) {
	v, closer, err := s.db.Reader().Get(key)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// RawSet writes value at key, bypassing every check, to simulate tampering.
func RawSet(s *Store, key, value []byte) error {
	tx, b := s.begin()
	defer tx.Abort()
	if err := b.Set(key, value, nil); err != nil {
		return err
	}
	_, err := tx.Commit(context.Background())
	return err
}

// WrapDB replaces the Store's database with wrap(db).
func WrapDB(s *Store, wrap func(Database) Database) { s.db = wrap(s.db) }

// RawScan calls fn with every key and value of the Store's database.
func RawScan(s *Store, fn func(k, v []byte)) error {
	it, err := s.db.Reader().NewIter(&pebble.IterOptions{})
	if err != nil {
		return err
	}
	for it.First(); it.Valid(); it.Next() {
		fn(it.Key(), it.Value())
	}
	return errors.Join(it.Error(), it.Close())
}

// BulkMappings writes n individual mappings into app (users "u%06d",
// fields "pw-%06d"), sealed with the current secret, 1,000 per commit and
// with no audit: a fast seed for benchmarks.
func BulkMappings(s *Store, app string, n int) error {
	for i := 0; i < n; {
		tx, b := s.begin()
		for j := 0; j < 1000 && i < n; j, i = j+1, i+1 {
			user := fmt.Sprintf("u%06d", i)
			plain := encodeMapping(&mapping{windows: user, external: "X" + user, fields: [][]byte{fmt.Appendf(nil, "pw-%06d", i)}})
			key := mappingKey(app, user)
			sealed, err := s.sealRecord(key, plain)
			if err == nil {
				err = b.Set(key, sealed, nil)
			}
			if err != nil {
				tx.Abort()
				return err
			}
		}
		if _, err := tx.Commit(context.Background()); err != nil {
			tx.Abort()
			return err
		}
		tx.Abort()
	}
	return nil
}

// OpenOn opens a second Store on s's database: another SSO server of the
// same system, reading what s writes. Tests only: its audit numbering
// would collide with s's if both wrote.
func OpenOn(ctx context.Context, s *Store, opts *Options) (*Store, error) {
	return Open(ctx, s.db, opts)
}

// DatabaseOf returns the Store's database.
func DatabaseOf(s *Store) Database { return s.db }
