package concurrency

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/limiter"
)

// Limiter bounds the calls in flight; its methods return the interceptors,
// which share its limits (one Limiter for unary and stream calls). It is
// safe for concurrent use. Install its client interceptors on a client and
// its server interceptors on a server; one Limiter should not do both. The
// chains can change its options while it runs (see Reconfiguration in the
// package documentation).
type Limiter struct {
	epoch  time.Time          // permits' start times count from it
	global *limiter.Semaphore // nil: no global limit; fixed for life
	ctrl   *controller        // nil: fixed limits; fixed for life
	cfg    atomic.Pointer[settings]
	mu     sync.Mutex // serializes commits
}

// settings are what a call reads of the Limiter's configuration, loaded
// once as it starts. They are never modified: a commit publishes new ones.
type settings struct {
	methods    map[string]*limiter.Semaphore // nil: no method limits
	obs        Observer
	classifier outcome.Classifier
	queueLen   int
	maxWait    time.Duration
	retryAfter time.Duration
	priority   bool
	trusted    func(context.Context) bool // nil: no caller may raise its criticality
}

// New returns a Limiter, or an error naming the option that is invalid. At
// least one of WithLimit, WithMethodLimit and WithAdaptive is required.
func New(opts ...Option) (*Limiter, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	l := &Limiter{epoch: time.Now()}
	switch {
	case o.algorithm != nil:
		l.global = limiter.New(clampLimit(o.algorithm.Limit()), o.queueLen, o.shares)
		l.ctrl = &controller{alg: o.algorithm, sem: l.global, obs: o.observer}
		l.ctrl.win = window{minTime: o.windowTime, minCalls: o.windowCalls}
		l.ctrl.next = l.ctrl.win
	case o.limit > 0:
		l.global = limiter.New(o.limit, o.queueLen, o.shares)
	}
	l.cfg.Store(newSettings(&o, nil))
	return l, nil
}

// newSettings returns the settings of o. The method limits that old has
// too keep their semaphores, changed to o's values; the others get new ones.
func newSettings(o *options, old *settings) *settings {
	s := &settings{
		obs:        o.observer,
		classifier: o.classifier,
		queueLen:   o.queueLen,
		maxWait:    o.maxWait,
		retryAfter: o.retryAfter,
		priority:   o.priority,
		trusted:    o.trusted,
	}
	if len(o.methodLimits) > 0 {
		s.methods = make(map[string]*limiter.Semaphore, len(o.methodLimits))
		for m, n := range o.methodLimits {
			sem := old.method(m)
			if sem == nil {
				sem = limiter.New(n, o.queueLen, o.shares)
			} else {
				sem.SetMaxQueue(o.queueLen)
				sem.Set(n, o.shares)
			}
			s.methods[m] = sem
		}
	}
	return s
}

// method returns the semaphore of fullMethod's own limit, nil when it has
// none (or s is nil).
func (s *settings) method(fullMethod string) *limiter.Semaphore {
	if s == nil {
		return nil
	}
	return s.methods[fullMethod]
}

// Stats describes one limit.
type Stats struct {
	// Limit is the current limit.
	Limit int
	// InFlight is the number of permits held.
	InFlight int
	// Queued is the number of calls waiting for a permit.
	Queued int
}

// Stats returns the state of the global limit; the zero Stats when the
// Limiter has only method limits.
func (l *Limiter) Stats() Stats {
	return statsOf(l.global)
}

// The metrics read the gauges of the methods' own limits through
// limiter.MethodSemaphore.
func init() {
	limiter.MethodSemaphore = func(l any, fullMethod string) *limiter.Semaphore {
		return l.(*Limiter).cfg.Load().method(fullMethod)
	}
}

func statsOf(s *limiter.Semaphore) Stats {
	if s == nil {
		return Stats{}
	}
	return Stats{Limit: s.Limit(), InFlight: s.InFlight(), Queued: s.Queued()}
}

// now returns the time since the Limiter was made, on the monotonic clock.
func (l *Limiter) now() time.Duration { return time.Since(l.epoch) }

// take takes a permit for a call under the settings cfg, waiting in the
// queue if there is one. On refusal it returns the reason and the semaphore
// that refused.
func (l *Limiter) take(ctx context.Context, cfg *settings, fullMethod string, c Criticality, target string) (permit, reason, *limiter.Semaphore) {
	class := c.class()
	var ms *limiter.Semaphore
	var waited time.Duration
	if cfg.methods != nil {
		if ms = cfg.methods[fullMethod]; ms != nil && !ms.TryAcquire(class) {
			var r reason
			if r, waited = cfg.wait(ctx, ms, class, cfg.maxWait, fullMethod, target); r != 0 {
				return permit{}, r, ms
			}
		}
	}
	if g := l.global; g != nil && !g.TryAcquire(class) {
		if r, _ := cfg.wait(ctx, g, class, cfg.maxWait-waited, fullMethod, target); r != 0 {
			if ms != nil {
				ms.Release()
			}
			return permit{}, r, g
		}
	}
	p := permit{l: l, method: ms}
	if l.ctrl != nil {
		p.start, p.inflight = l.now(), l.global.InFlight()
	}
	return p, 0, nil
}

// wait queues for a permit of s. It returns 0 and how long it waited when
// it got one, else the reason it did not.
func (cfg *settings) wait(ctx context.Context, s *limiter.Semaphore, class limiter.Class, maxWait time.Duration, fullMethod, target string) (reason, time.Duration) {
	if cfg.queueLen == 0 {
		return cfg.fullReason(s, class), 0
	}
	if maxWait <= 0 {
		return reasonQueueTimeout, 0
	}
	start := time.Now()
	res := s.Acquire(ctx, class, maxWait)
	var r reason
	switch res {
	case limiter.Acquired:
	case limiter.Full:
		return cfg.fullReason(s, class), 0
	case limiter.QueueFull:
		return reasonQueueFull, 0
	case limiter.Timeout:
		r = reasonQueueTimeout
	case limiter.Done:
		r = reasonCanceled
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			r = reasonDeadline
		}
	}
	waited := time.Since(start)
	if cfg.obs.OnWait != nil {
		cfg.obs.OnWait(ctx, WaitEvent{Method: fullMethod, Target: target, Waited: waited, Acquired: r == 0})
	}
	return r, waited
}

// fullReason tells a full limit from one that had room only for more
// critical calls.
func (cfg *settings) fullReason(s *limiter.Semaphore, class limiter.Class) reason {
	if cfg.priority && class != limiter.Critical && s.InFlight() < s.Limit() {
		return reasonPriority
	}
	return reasonLimit
}

// rejectEvent describes a rejection for the Observer.
func rejectEvent(fullMethod, target string, r reason, c Criticality, s *limiter.Semaphore) RejectEvent {
	st := statsOf(s)
	return RejectEvent{Method: fullMethod, Target: target, Reason: r.String(), Criticality: c, Limit: st.Limit, InFlight: st.InFlight, Queued: st.Queued}
}

// permit is a permit to run one call. End it once (ignore, or end with a
// sample kind); ending it again through the same permit does nothing, but
// a copy must not be ended too. The zero permit holds nothing.
type permit struct {
	// Four words at most, so that a permit is returned in registers.
	l        *Limiter
	method   *limiter.Semaphore
	start    time.Duration // since l.epoch; for the adaptive limit only
	inflight int           // as it started; for the adaptive limit only
}

// ignore ends the permit of a call that says nothing about the load (it was
// cancelled, or it was a stream); the adaptive limit does not see it.
func (p *permit) ignore() { p.end(sampleNone) }

type sampleKind uint8

const (
	sampleNone sampleKind = iota
	sampleLatency
	sampleDrop
)

func (p *permit) end(k sampleKind) {
	l := p.l
	if l == nil {
		return
	}
	p.l = nil
	if p.method != nil {
		p.method.Release()
	}
	if l.global != nil {
		l.global.Release()
	}
	if l.ctrl != nil && k != sampleNone {
		l.ctrl.record(p, l.now(), k == sampleDrop)
	}
}

func clampLimit(n int) int {
	return max(1, min(n, maxLimit))
}
