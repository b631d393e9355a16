package concurrency

import (
	"context"
	"sync"
	"time"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
	"github.com/bulwarkrpc/bulwark/internal/limiter"
)

// controller gathers the calls of a window into a limit.Sample and applies
// the algorithm's answer to the global semaphore. Its lock is held for a few
// additions per call, and for one Update per window.
type controller struct {
	alg      limit.Algorithm
	sem      *limiter.Semaphore
	obs      Observer
	minTime  time.Duration
	minCalls int

	mu       sync.Mutex
	started  bool          // the window has a start
	start    time.Duration // of the window, since the Limiter's epoch
	calls    int
	drops    int
	sum      time.Duration // latency of the calls not dropped
	inflight int           // most calls in flight as a call of the window started
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
	if c.calls >= c.minCalls && now-c.start >= c.minTime {
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
	}
	c.mu.Unlock()
	if c.obs.OnSample != nil {
		c.obs.OnSample(context.Background(), SampleEvent{RTT: rtt, InFlight: p.inflight, Dropped: dropped})
	}
	if changed && c.obs.OnLimit != nil {
		c.obs.OnLimit(context.Background(), ev)
	}
}
