package concurrency

import (
	"context"
	"reflect"
	"sync"
	"time"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
	"github.com/bulwarkrpc/bulwark/internal/limiter"
)

// controller gathers the calls of a window into a limit.Sample and applies
// the algorithm's answer to the global semaphore. Its lock is held for a few
// additions per call, for one Update per window, and for a reconfiguration.
type controller struct {
	sem *limiter.Semaphore

	mu       sync.Mutex
	alg      limit.Algorithm
	obs      Observer
	win      window        // of the window being gathered
	next     window        // for the windows after it
	started  bool          // the window has a start
	start    time.Duration // of the window, since the Limiter's epoch
	calls    int
	drops    int
	sum      time.Duration // latency of the calls not dropped
	inflight int           // most calls in flight as a call of the window started
}

// window is when a window closes: once it is at least minTime old and holds
// at least minCalls calls.
type window struct {
	minTime  time.Duration
	minCalls int
}

// reconfigure applies new options at now (since the Limiter's epoch),
// shares included, under the lock that also guards the limit's changes. A new
// algorithm takes over at once, with its own limit and a window that starts
// now; the calls recorded into the replaced algorithm's window are
// forgotten. The window options apply to the next window.
func (c *controller) reconfigure(o *options, now time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.obs = o.observer
	c.next = window{minTime: o.windowTime, minCalls: o.windowCalls}
	if sameAlgorithm(o.algorithm, c.alg) {
		c.sem.SetShares(o.shares)
		return
	}
	c.alg, c.win = o.algorithm, c.next
	c.sem.Set(clampLimit(c.alg.Limit()), o.shares)
	c.started, c.start = true, now
	c.calls, c.drops, c.sum, c.inflight = 0, 0, 0, 0
}

// record adds the call that held p to the window, and closes the window
// when it is old and full enough.
func (c *controller) record(p *permit, now time.Duration, dropped bool) {
	rtt := now - p.start
	changed := false
	var ev LimitEvent
	c.mu.Lock()
	if !c.started {
		c.started, c.start = true, p.start
	}
	c.calls++
	if dropped {
		c.drops++
	} else {
		c.sum += rtt
	}
	c.inflight = max(c.inflight, p.inflight)
	if c.calls >= c.win.minCalls && now-c.start >= c.win.minTime {
		s := limit.Sample{InFlight: c.inflight, Calls: c.calls, Drops: c.drops}
		if ok := c.calls - c.drops; ok > 0 {
			s.RTT = c.sum / time.Duration(ok)
		}
		old := c.sem.Limit()
		if next := clampLimit(c.alg.Update(s)); next != old {
			c.sem.SetLimit(next)
			changed, ev = true, LimitEvent{Old: old, New: next, Sample: s}
		}
		c.start, c.calls, c.drops, c.sum, c.inflight = now, 0, 0, 0, 0
		c.win = c.next
	}
	obs := c.obs
	c.mu.Unlock()
	if obs.OnSample != nil {
		obs.OnSample(context.Background(), SampleEvent{RTT: rtt, InFlight: p.inflight, Dropped: dropped})
	}
	if changed && obs.OnLimit != nil {
		obs.OnLimit(context.Background(), ev)
	}
}

// sameAlgorithm reports whether a and b are the same algorithm. Comparing
// two interfaces that hold the same type panics when the type is not
// comparable (a struct with a slice, say): such values are never the same.
func sameAlgorithm(a, b limit.Algorithm) bool {
	ta := reflect.TypeOf(a)
	if ta != reflect.TypeOf(b) || ta == nil || !ta.Comparable() {
		return false
	}
	return a == b
}
