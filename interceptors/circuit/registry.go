package circuit

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/bulwarkrpc/bulwark/breaker"
)

// key names what a breaker guards: a target, a target's method, or (on the
// server) a method.
type key struct{ target, method string }

// entry is one breaker and the error it refuses calls with.
type entry struct {
	b       *breaker.Breaker
	rej     *openError
	refusal error       // rej, marked as the server's own refusal (server entries)
	used    atomic.Bool // second-chance bit: set by lookups, cleared by the eviction sweep
}

// registry holds a bounded set of breakers. Lookups load an immutable map
// through an atomic pointer: no lock and no allocation. Inserts copy the map
// under a mutex; when the bound is reached they evict with the CLOCK
// (second-chance) approximation of least recently used.
type registry struct {
	m        atomic.Pointer[map[key]*entry]
	overflow atomic.Pointer[entry] // shared by keys admitted while every breaker held is open
	mu       sync.Mutex
	ring     []key // the keys in insertion slots, for the sweep
	hand     int
	max      int
	make     func(key) *entry
	// overflowKey names the overflow breaker in its observer's events.
	overflowKey key
}

func newRegistry(max int, mk func(key) *entry, overflow key) *registry {
	r := &registry{max: max, make: mk, overflowKey: overflow}
	r.m.Store(&map[key]*entry{})
	return r
}

func (r *registry) get(k key) *entry {
	if e, ok := (*r.m.Load())[k]; ok {
		if !e.used.Load() {
			e.used.Store(true)
		}
		return e
	}
	return r.insert(k)
}

func (r *registry) insert(k key) *entry {
	r.mu.Lock()
	old := *r.m.Load()
	if e, ok := old[k]; ok {
		r.mu.Unlock()
		return e
	}
	full := len(r.ring) >= r.max
	if full && !r.sweep(old) {
		// Every breaker held is open or probing: none is evicted, since a
		// new breaker in its place would let traffic through to what it
		// protects. The key shares the overflow breaker, and nothing is
		// made or copied.
		e := r.overflowLocked()
		r.mu.Unlock()
		return e
	}
	e := r.make(k)
	e.used.Store(true)
	next := make(map[key]*entry, len(old)+1)
	maps.Copy(next, old)
	var evicted *entry
	if full {
		evicted = next[r.ring[r.hand]]
		delete(next, r.ring[r.hand])
		r.ring[r.hand] = k
		r.hand = (r.hand + 1) % r.max
	} else {
		r.ring = append(r.ring, k)
	}
	next[k] = e
	r.m.Store(&next)
	r.mu.Unlock()
	if evicted != nil {
		evicted.b.Close()
	}
	return e
}

// sweep moves the clock hand to a closed breaker not used since the last
// turn, clearing used bits on its way, and reports whether it found one.
// Two turns clear every used bit, so it fails only when every breaker held
// is open or probing. r.mu is held.
func (r *registry) sweep(m map[key]*entry) bool {
	for range 2 * r.max {
		victim := m[r.ring[r.hand]]
		switch {
		case victim.b.State() != breaker.StateClosed:
		case victim.used.Load():
			victim.used.Store(false)
		default:
			return true
		}
		r.hand = (r.hand + 1) % r.max
	}
	return false
}

// overflowLocked returns the breaker shared by keys that find the registry
// full of breakers it may not evict, making it on first use. r.mu is held,
// so that it is made as the other entries are (see Circuit.newEntry).
func (r *registry) overflowLocked() *entry {
	e := r.overflow.Load()
	if e == nil {
		e = r.make(r.overflowKey)
		r.overflow.Store(e)
	}
	return e
}

// eachLocked calls f with every entry held and its key, the overflow entry
// included. r.mu is held.
func (r *registry) eachLocked(f func(key, *entry)) {
	for k, e := range *r.m.Load() {
		f(k, e)
	}
	if e := r.overflow.Load(); e != nil {
		f(r.overflowKey, e)
	}
}

// peek returns the entry of k, if it has one, without making one or
// marking it used.
func (r *registry) peek(k key) (*entry, bool) {
	e, ok := (*r.m.Load())[k]
	return e, ok
}

// len returns the number of breakers held.
func (r *registry) len() int { return len(*r.m.Load()) }

// close stops the timers of every breaker held.
func (r *registry) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.eachLocked(func(_ key, e *entry) { e.b.Close() })
}
