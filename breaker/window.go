package breaker

import (
	"time"
	"unsafe"
)

// How the window counts without a lock or a clock read per call:
//
//   - Successes are added to one of several counters (stripes), each on its
//     own cache line. The stripe is picked from the address of the calling
//     goroutine's stack, so a goroutine keeps to one stripe and goroutines
//     running at once rarely share one.
//   - Failures and slow calls take the mutex, which they need anyway to
//     evaluate the trip rules.
//   - Everything is a running total since New. A time window keeps the
//     totals at each bucket boundary (snaps); its counts are the totals now
//     minus the totals at its oldest boundary. A timer records a boundary
//     once per bucket and stops when a whole bucket passed without a call;
//     the next call restarts it on a rare path (the idle bit of the state
//     word), after recording the boundaries missed meanwhile.
//   - A count window keeps the positions (call numbers) of the recent
//     failures and slow calls: the failures in the last n calls are those
//     with a position in the last n.
//   - Consecutive failures: a failure follows another without a success in
//     between when the success total has not moved since the last failure.

// stripe returns the success counter of the calling goroutine.
func (b *Breaker) stripe() *stripe {
	var x byte
	// Goroutine stacks are at least 2 KiB apart: drop the low bits, then
	// spread with Fibonacci hashing.
	h := uint64(uintptr(unsafe.Pointer(&x))>>11) * 0x9E3779B97F4A7C15
	return &b.stripes[h>>b.shift]
}

// Add adds d to the stripe.
func (s *stripe) Add(d uint64) { s.n.Add(d) }

func (b *Breaker) totalsLocked() totals {
	var s uint64
	for i := range b.stripes {
		s += b.stripes[i].n.Load()
	}
	return totals{succ: s + b.succSlow, fail: b.fail, slow: b.slowN}
}

// makeWindowLocked makes an empty window of the configured shape; the
// caller resets it (resetWindowLocked) unless the breaker is new.
func (b *Breaker) makeWindowLocked() {
	b.snaps = nil
	b.failQ, b.slowQ = posQueue{}, posQueue{}
	switch b.cfg.window {
	case windowTime:
		b.snaps = make([]totals, b.cfg.buckets)
	case windowCount:
		b.failQ = newPosQueue(b.cfg.size)
		if b.cfg.slowCall > 0 {
			b.slowQ = newPosQueue(b.cfg.size)
		}
	}
}

// resetWindowLocked empties the window and the consecutive-failure count.
func (b *Breaker) resetWindowLocked(now time.Duration) {
	t := b.totalsLocked()
	b.base = t
	b.consec, b.consecSeen = 0, t.succ
	switch b.cfg.window {
	case windowTime:
		for i := range b.snaps {
			b.snaps[i] = t
		}
		b.tick, b.boundary, b.lastTick = 0, now, t
	case windowCount:
		b.failQ.reset()
		b.slowQ.reset()
	}
}

// windowLocked returns the counts of the window, given the totals now.
func (b *Breaker) windowLocked(t totals) Counts {
	switch b.cfg.window {
	case windowTime:
		start := b.snaps[(b.tick+1)%len(b.snaps)]
		return Counts{Successes: t.succ - start.succ, Failures: t.fail - start.fail, Slow: t.slow - start.slow}
	case windowCount:
		calls := t.succ + t.fail - b.base.succ - b.base.fail
		size := uint64(b.cfg.size)
		if calls > size {
			b.failQ.dropUpTo(calls - size)
			b.slowQ.dropUpTo(calls - size)
			calls = size
		}
		f, s := uint64(b.failQ.len()), uint64(b.slowQ.len())
		return Counts{Successes: calls - f, Failures: f, Slow: s}
	default:
		return Counts{Successes: t.succ - b.base.succ, Failures: t.fail - b.base.fail, Slow: t.slow - b.base.slow}
	}
}

// advanceLocked records the bucket boundaries that passed up to now.
func (b *Breaker) advanceLocked(now time.Duration) {
	if b.cfg.window != windowTime {
		return
	}
	width := b.cfg.span / time.Duration(len(b.snaps))
	n := (now - b.boundary) / width
	if n <= 0 {
		return
	}
	t := b.totalsLocked()
	for range min(n, time.Duration(len(b.snaps))) {
		b.tick = (b.tick + 1) % len(b.snaps)
		b.snaps[b.tick] = t
	}
	b.boundary += n * width
}

// wake restarts the time window's timer, on the first call after it slept.
func (b *Breaker) wake() {
	b.mu.Lock()
	if w := b.word.Load(); w&idleBit != 0 {
		now := b.now()
		b.advanceLocked(now)
		b.lastTick = b.totalsLocked()
		b.word.Store(w &^ idleBit)
		b.startTickerLocked(now)
	}
	b.mu.Unlock()
}

func (b *Breaker) startTickerLocked(now time.Duration) {
	if b.closed || b.tickerOn {
		return
	}
	width := b.cfg.span / time.Duration(len(b.snaps))
	next := b.boundary + width - now
	if b.ticker == nil {
		b.ticker = time.AfterFunc(next, b.onTick)
	} else {
		b.ticker.Reset(next)
	}
	b.tickerOn = true
}

// onTick runs on the window's timer at each bucket boundary.
func (b *Breaker) onTick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.tickerOn {
		return // stopped; this run was already under way
	}
	w := b.word.Load()
	if b.closed || State(w&stateMask) != StateClosed {
		b.tickerOn = false // closing again sets the idle bit
		return
	}
	now := b.now()
	b.advanceLocked(now)
	t := b.totalsLocked()
	if t == b.lastTick {
		// A whole bucket without a call: sleep until the next one.
		b.tickerOn = false
		b.word.Store(w | idleBit)
		return
	}
	b.lastTick = t
	width := b.cfg.span / time.Duration(len(b.snaps))
	b.ticker.Reset(b.boundary + width - now)
}

// posQueue holds increasing call positions, oldest first, in a ring.
type posQueue struct {
	ring       []uint64
	head, size int
}

func newPosQueue(n int) posQueue { return posQueue{ring: make([]uint64, n)} }

func (q *posQueue) len() int { return q.size }

func (q *posQueue) reset() { q.head, q.size = 0, 0 }

// dropUpTo drops the positions at or before p.
func (q *posQueue) dropUpTo(p uint64) {
	for q.size > 0 && q.ring[q.head] <= p {
		q.head = (q.head + 1) % len(q.ring)
		q.size--
	}
}

// push appends position p, first dropping those that fell out of a window
// of n calls ending at p.
func (q *posQueue) push(p, n uint64) {
	if p > n {
		q.dropUpTo(p - n)
	}
	if q.size == len(q.ring) { // cannot happen: positions are distinct
		q.head = (q.head + 1) % len(q.ring)
		q.size--
	}
	q.ring[(q.head+q.size)%len(q.ring)] = p
	q.size++
}

// Counts is a snapshot of what a breaker has recorded.
type Counts struct {
	// Successes, Failures and Slow are the calls in the window while
	// closed (Slow calls are also counted as successes or failures); the
	// window's counts when it tripped while open; and the probes' results
	// while half-open.
	Successes, Failures, Slow uint64
	// ConsecutiveFailures is the number of failures since the last success
	// while closed (when it tripped, while open).
	ConsecutiveFailures uint64
	// Probes is the number of probes in flight while half-open.
	Probes int
}

// calls returns Successes + Failures.
func (c Counts) calls() uint64 { return c.Successes + c.Failures }

// Counts returns a snapshot of the breaker's counts (see Counts). In
// ModeForcedOpen and ModeDisabled it is zero. It takes the breaker's lock,
// and is meant for metrics and tests rather than for every call.
func (b *Breaker) Counts() Counts {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.State() {
	case StateClosed:
		b.advanceLocked(b.now())
		t := b.totalsLocked()
		c := b.windowLocked(t)
		if t.succ == b.consecSeen {
			c.ConsecutiveFailures = b.consec
		}
		return c
	case StateOpen:
		return b.tripCounts
	case StateHalfOpen:
		return Counts{Successes: uint64(b.probeSucc), Probes: int(b.probesBusy.Load())}
	default:
		return Counts{}
	}
}
