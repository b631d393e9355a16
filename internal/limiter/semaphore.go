// Package limiter is the counting semaphore behind package
// interceptors/concurrency: an exact bound on permits held, a lock-free fast
// path, an optional bounded FIFO wait queue, and priority classes that may
// use only part of the limit.
//
// # State
//
// One 64-bit word holds the permits held (low 32 bits) and the callers
// queued (high 32 bits). Taking a permit is a compare-and-swap that only
// succeeds while the permits held are below the caller's threshold and nobody
// waits, so the limit is never exceeded, not even for a moment. Giving one
// back is an atomic add; only when the word says someone waits does it take
// the mutex to hand the permit on. The queue and its mutex are never touched
// while nobody waits.
//
// # Changes
//
// The limit (SetLimit), the queue length (SetMaxQueue) and the shares of
// the classes (SetShares) may change while permits are held and callers
// wait: nothing held is taken back and no waiter is dropped; the new values
// decide only which permits are given from then on.
package limiter

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// MaxLimit is the largest limit a Semaphore accepts: thresholds are packed in
// 21 bits each.
const MaxLimit = 1<<21 - 1

// Class is a priority class. Lower values are more important.
type Class uint8

// The classes, most important first.
const (
	Critical Class = iota
	Default
	Sheddable
	// NumClasses is the number of classes.
	NumClasses
)

// Result is how an acquisition ended.
type Result uint8

// The results of Acquire.
const (
	// Acquired: the caller holds a permit and must Release it.
	Acquired Result = iota
	// Full: no permit was free and the semaphore has no queue.
	Full
	// QueueFull: no permit was free and the queue was full.
	QueueFull
	// Timeout: the caller waited the longest wait allowed.
	Timeout
	// Done: the caller's context ended while it waited.
	Done
)

const (
	inflightMask = 1<<32 - 1
	oneWaiter    = 1 << 32
	thrBits      = 21
	thrMask      = 1<<thrBits - 1
)

// Semaphore is a counting semaphore; see the package documentation. It is
// safe for concurrent use.
type Semaphore struct {
	state atomic.Uint64 // low 32 bits: permits held; high 32 bits: callers queued
	_     [56]byte      // keep the hot word alone on its cache line
	thr   atomic.Uint64 // the threshold of each class, thrBits bits each

	maxQueue atomic.Int64 // the most callers that may wait

	// cfg serializes changes of thr: SetLimit and SetShares each repack it
	// from the other's latest value, so neither change is lost.
	cfg    sync.Mutex
	shares [NumClasses]float64 // under cfg

	mu     sync.Mutex
	queues [NumClasses]waitList
	queued int // len of all queues, under mu
}

// New returns a semaphore with the given limit (1 to MaxLimit) and queue
// length (0: callers never wait). shares[c] is the fraction of the limit
// that class c may use (Critical always uses the whole limit); nil gives
// every class the whole limit. Shares must not increase from one class to
// the next. New panics on values it cannot use; callers validate first.
func New(limit, maxQueue int, shares []float64) *Semaphore {
	s := &Semaphore{shares: sharesOf(shares)}
	s.SetMaxQueue(maxQueue)
	s.thr.Store(pack(limit, &s.shares))
	return s
}

// sharesOf checks shares and fills in the classes it leaves out.
func sharesOf(shares []float64) [NumClasses]float64 {
	var sh [NumClasses]float64
	for c := range sh {
		sh[c] = 1
		if c > int(Critical) && c < len(shares) {
			sh[c] = shares[c]
		}
		if sh[c] <= 0 || sh[c] > 1 || (c > 0 && sh[c] > sh[c-1]) {
			panic("limiter: shares must be in (0, 1] and not increase")
		}
	}
	return sh
}

// pack computes the packed thresholds for limit.
func pack(limit int, shares *[NumClasses]float64) uint64 {
	if limit < 1 || limit > MaxLimit {
		panic("limiter: limit out of range")
	}
	var t uint64
	for c := range NumClasses {
		n := int(float64(limit) * shares[c])
		n = max(1, min(n, limit))
		t |= uint64(n) << (thrBits * uint(c))
	}
	return t
}

func threshold(t uint64, c Class) uint32 {
	return uint32(t>>(thrBits*uint(c))) & thrMask
}

// TryAcquire takes a permit for class c if one is free for it and no caller
// of the same or a more important class waits. It never waits.
func (s *Semaphore) TryAcquire(c Class) bool {
	for {
		v := s.state.Load()
		if v>>32 != 0 {
			return s.tryAcquireSlow(c)
		}
		if uint32(v) >= threshold(s.thr.Load(), c) {
			return false
		}
		if s.state.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

// tryAcquireSlow is TryAcquire when callers wait: c may still go first if
// every waiter is of a less important class.
func (s *Semaphore) tryAcquireSlow(c Class) bool {
	s.mu.Lock()
	ok := s.aheadLocked(c) == 0 && s.casLocked(c)
	s.mu.Unlock()
	return ok
}

// aheadLocked returns how many callers of class c or a more important one wait.
func (s *Semaphore) aheadLocked(c Class) int {
	n := 0
	for k := Critical; k <= c; k++ {
		n += s.queues[k].n
	}
	return n
}

// casLocked takes a permit for c if one is free, ignoring the waiters count.
func (s *Semaphore) casLocked(c Class) bool {
	for {
		v := s.state.Load()
		if uint32(v) >= threshold(s.thr.Load(), c) {
			return false
		}
		if s.state.CompareAndSwap(v, v+1) {
			return true
		}
	}
}

// Acquire takes a permit for class c, waiting in the queue (if the
// semaphore has one) at most maxWait and never after ctx ends. It returns
// Acquired only when the caller holds a permit.
func (s *Semaphore) Acquire(ctx context.Context, c Class, maxWait time.Duration) Result {
	if s.TryAcquire(c) {
		return Acquired
	}
	if s.maxQueue.Load() == 0 {
		return Full
	}
	if ctx.Err() != nil {
		return Done
	}
	s.mu.Lock()
	if s.aheadLocked(c) == 0 && s.casLocked(c) {
		s.mu.Unlock()
		return Acquired
	}
	if s.queued >= int(s.maxQueue.Load()) {
		s.mu.Unlock()
		return QueueFull
	}
	w := &waiter{ready: make(chan struct{}), class: c}
	s.queues[c].push(w)
	s.queued++
	s.state.Add(oneWaiter)
	// A permit given back between the check above and the add would have
	// seen no waiter: look again now that the word counts this one.
	s.grantLocked()
	s.mu.Unlock()

	timer := time.NewTimer(maxWait)
	defer timer.Stop()
	var r Result
	select {
	case <-w.ready:
		return Acquired
	case <-ctx.Done():
		r = Done
	case <-timer.C:
		r = Timeout
	}
	s.mu.Lock()
	if w.granted {
		s.mu.Unlock()
		if r == Done {
			s.Release()
			return Done
		}
		return Acquired // granted as the wait ran out: keep it
	}
	s.queues[c].remove(w)
	s.queued--
	s.state.Add(^uint64(oneWaiter - 1)) // minus one waiter
	s.mu.Unlock()
	return r
}

// Release gives a permit back. Calling it without holding a permit is a bug
// and panics.
func (s *Semaphore) Release() {
	v := s.state.Add(^uint64(0))
	if uint32(v) == inflightMask {
		panic("limiter: Release without a permit")
	}
	if v>>32 != 0 {
		s.wake()
	}
}

// wake hands free permits to waiters.
func (s *Semaphore) wake() {
	s.mu.Lock()
	s.grantLocked()
	s.mu.Unlock()
}

// grantLocked hands free permits to waiters, most important class first and
// in arrival order within a class. Thresholds do not increase from one class
// to the next, so it stops at the first class with no room.
func (s *Semaphore) grantLocked() {
	for c := Critical; c < NumClasses; c++ {
		q := &s.queues[c]
		for q.head != nil {
			v := s.state.Load()
			if uint32(v) >= threshold(s.thr.Load(), c) {
				return
			}
			if !s.state.CompareAndSwap(v, v+1-oneWaiter) {
				continue
			}
			w := q.head
			q.remove(w)
			s.queued--
			w.granted = true
			close(w.ready)
		}
	}
}

// SetLimit changes the limit (1 to MaxLimit). Permits held above a lowered
// limit stay held; no new one is given until the count is below it. A
// raised limit hands the new permits to waiters at once.
func (s *Semaphore) SetLimit(limit int) {
	s.cfg.Lock()
	s.thr.Store(pack(limit, &s.shares))
	s.cfg.Unlock()
	s.wakeIfWaiting()
}

// SetShares changes the shares of the classes, as given to New, and keeps
// the limit. Permits held stay held; raised shares hand permits to waiters
// at once.
func (s *Semaphore) SetShares(shares []float64) {
	sh := sharesOf(shares)
	s.cfg.Lock()
	s.shares = sh
	s.thr.Store(pack(s.Limit(), &s.shares))
	s.cfg.Unlock()
	s.wakeIfWaiting()
}

// Set changes the limit and the shares together, so that no permit is
// given under the new limit with the old shares or the other way round; see
// SetLimit and SetShares.
func (s *Semaphore) Set(limit int, shares []float64) {
	sh := sharesOf(shares)
	s.cfg.Lock()
	s.shares = sh
	s.thr.Store(pack(limit, &s.shares))
	s.cfg.Unlock()
	s.wakeIfWaiting()
}

func (s *Semaphore) wakeIfWaiting() {
	if s.state.Load()>>32 != 0 {
		s.wake()
	}
}

// SetMaxQueue changes the queue length (0: callers never wait). Callers
// already waiting beyond a lowered length stay queued; new ones are refused
// until the queue is shorter than it.
func (s *Semaphore) SetMaxQueue(maxQueue int) {
	if maxQueue < 0 || maxQueue > inflightMask {
		panic("limiter: queue length out of range")
	}
	s.maxQueue.Store(int64(maxQueue))
}

// MaxQueue returns the current queue length.
func (s *Semaphore) MaxQueue() int { return int(s.maxQueue.Load()) }

// Limit returns the current limit.
func (s *Semaphore) Limit() int { return int(threshold(s.thr.Load(), Critical)) }

// Threshold returns the number of permits class c may hold at the current
// limit.
func (s *Semaphore) Threshold(c Class) int { return int(threshold(s.thr.Load(), c)) }

// InFlight returns the number of permits held.
func (s *Semaphore) InFlight() int { return int(uint32(s.state.Load())) }

// Queued returns the number of callers waiting.
func (s *Semaphore) Queued() int { return int(s.state.Load() >> 32) }

// waiter is a caller in the queue.
type waiter struct {
	ready      chan struct{} // closed when granted
	granted    bool          // under mu
	class      Class
	prev, next *waiter
}

// waitList is a FIFO of waiters.
type waitList struct {
	head, tail *waiter
	n          int
}

func (l *waitList) push(w *waiter) {
	w.prev, w.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = w
	} else {
		l.head = w
	}
	l.tail = w
	l.n++
}

func (l *waitList) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		l.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		l.tail = w.prev
	}
	w.prev, w.next = nil, nil
	l.n--
}

// MethodSemaphore returns the semaphore of fullMethod's own limit in a
// *concurrency.Limiter, nil when the method has none; the metrics read its
// gauges. Package concurrency sets it when it is initialised.
var MethodSemaphore func(l any, fullMethod string) *Semaphore
