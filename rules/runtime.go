package rules

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"
)

// RuntimeOptions configure a Runtime. A nil *RuntimeOptions means
// defaults.
type RuntimeOptions struct {
	// Registry binds the policies' fact types. Defaults to an empty
	// Registry (XML documents only).
	Registry *Registry
	// CacheEntries bounds the translated policies kept. Defaults to 32, as
	// BizTalk's Rule Engine Update Service.
	CacheEntries int
	// CacheTimeout drops a translated policy not used for this long.
	// Defaults to 3,600 s, as BizTalk's.
	CacheTimeout time.Duration
	// Now is the clock for the cache. Defaults to time.Now.
	Now func() time.Time
}

// Runtime is BizTalk's Rule Engine Update Service with the policy cache in
// front of it: Execute runs the highest deployed version of a policy,
// looked up in the store at every call, so a newly deployed version is
// picked up on the next execution and an undeployed one is dropped (from
// the cache too, once the store reports a deployment change).
// Translated policies are cached (least recently used out; idle ones expire)
// and shared by concurrent executions. A Runtime is safe for concurrent use.
type Runtime struct {
	store *Store
	opts  RuntimeOptions

	// mu guards lru, entries and gen.
	mu      sync.Mutex
	lru     *list.List // of *cacheEntry, most recently used first
	entries map[nameVersion]*list.Element
	// gen is the store's deploy generation the cache was last checked
	// against: when it moves, versions no longer deployed are dropped.
	gen uint64
}

type cacheEntry struct {
	key  nameVersion
	p    *Policy
	used time.Time
}

// NewRuntime returns a Runtime over store.
func NewRuntime(store *Store, opts *RuntimeOptions) *Runtime {
	var o RuntimeOptions
	if opts != nil {
		o = *opts
	}
	if o.Registry == nil {
		o.Registry = NewRegistry()
	}
	if o.CacheEntries <= 0 {
		o.CacheEntries = 32
	}
	if o.CacheTimeout <= 0 {
		o.CacheTimeout = time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Runtime{store: store, opts: o, lru: list.New(), entries: map[nameVersion]*list.Element{}}
}

// Policy returns the translated highest deployed version of the named
// policy. It fails with ErrNotFound when none is deployed, or with the
// translation's error.
func (rt *Runtime) Policy(name string) (*Policy, error) {
	if rt == nil || rt.store == nil {
		return nil, fmt.Errorf("%w: nil runtime", ErrInvalid)
	}
	info, err := rt.store.Deployed(name)
	if err != nil {
		return nil, err
	}
	key := nameVersion{name, info.Version}
	now := rt.opts.Now()
	rt.mu.Lock()
	if g := rt.store.DeployGeneration(); g != rt.gen {
		rt.dropUndeployedLocked()
		rt.gen = g
	}
	if el, ok := rt.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		if now.Sub(e.used) <= rt.opts.CacheTimeout {
			e.used = now
			rt.lru.MoveToFront(el)
			rt.mu.Unlock()
			return e.p, nil
		}
		rt.lru.Remove(el)
		delete(rt.entries, key)
	}
	rt.mu.Unlock()
	// Translate outside the lock: two callers may both translate a new
	// version; the second one's result replaces the first, harmlessly.
	p, err := Translate(info.Ruleset, rt.opts.Registry, nil)
	if err != nil {
		return nil, err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if el, ok := rt.entries[key]; ok {
		rt.lru.Remove(el)
	}
	rt.entries[key] = rt.lru.PushFront(&cacheEntry{key: key, p: p, used: now})
	for rt.lru.Len() > rt.opts.CacheEntries {
		last := rt.lru.Back()
		rt.lru.Remove(last)
		delete(rt.entries, last.Value.(*cacheEntry).key)
	}
	return p, nil
}

// dropUndeployedLocked drops the translated versions that are no longer
// deployed, as the Update Service drops an undeployed policy. rt.mu is
// held; the store's reads take only its own read lock.
func (rt *Runtime) dropUndeployedLocked() {
	for key, el := range rt.entries {
		if p, err := rt.store.Policy(key.name, key.v); err != nil || p.State != StateDeployed {
			rt.lru.Remove(el)
			delete(rt.entries, key)
		}
	}
}

// Cached returns the number of translated policies in the cache.
func (rt *Runtime) Cached() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.lru.Len()
}

// Execute runs the highest deployed version of the named policy on facts
// and returns which version ran.
func (rt *Runtime) Execute(ctx context.Context, name string, facts ...any) (Result, Version, error) {
	p, err := rt.Policy(name)
	if err != nil {
		return Result{}, Version{}, err
	}
	res, err := p.Execute(ctx, facts...)
	return res, p.Version(), err
}
