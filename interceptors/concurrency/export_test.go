package concurrency

import (
	"context"

	"github.com/bulwarkrpc/bulwark/internal/limiter"
)

// The manual permit API the tests drive the Limiter with; users go through
// the interceptors.

type Permit = permit

// TryAcquire takes a permit for a call of fullMethod with criticality c if
// one is free, without waiting. The caller must end a permit it got with
// exactly one of Release, Drop or Ignore. It is meant for code that is not
// a gRPC call; the interceptors call it for you.
func (l *Limiter) TryAcquire(fullMethod string, c Criticality) (permit, bool) {
	class := c.class()
	var ms *limiter.Semaphore
	if l.methods != nil {
		if ms = l.methods[fullMethod]; ms != nil && !ms.TryAcquire(class) {
			return permit{}, false
		}
	}
	if l.global != nil && !l.global.TryAcquire(class) {
		if ms != nil {
			ms.Release()
		}
		return permit{}, false
	}
	p := permit{l: l, method: ms}
	if l.ctrl != nil {
		p.start, p.inflight = l.now(), l.global.InFlight()
	}
	return p, true
}

// Acquire takes a permit for a call of fullMethod, waiting in the queue
// (see WithQueue) if there is one. The criticality is ctx's (see
// CriticalityFromContext) when WithPriority is on. A refusal returns an
// error that, like a client-side one, matches ErrRejected and
// outcome.ErrLocalReject. The caller must end the permit with exactly one
// of Release, Drop or Ignore.
func (l *Limiter) Acquire(ctx context.Context, fullMethod string) (permit, error) {
	c := DefaultCriticality
	if l.priority {
		c = CriticalityFromContext(ctx)
	}
	p, r, s := l.take(ctx, fullMethod, c, "")
	if r != 0 {
		return permit{}, l.clientReject(ctx, fullMethod, "", r, c, s)
	}
	return p, nil
}

// Release ends the permit of a call that completed; with an adaptive
// limit, its duration is a latency sample.
func (p *permit) Release() { p.end(sampleLatency) }

// Drop ends the permit of a call that ended in an overload signal (the peer
// refused it or it ran out of time); with an adaptive limit, it counts as a
// drop.
func (p *permit) Drop() { p.end(sampleDrop) }

// Ignore ends the permit without a sample.
func (p *permit) Ignore() { p.ignore() }

// MethodStats returns the state of the limit of fullMethod, and false when
// the method has no limit of its own.
func (l *Limiter) MethodStats(fullMethod string) (Stats, bool) {
	s, ok := l.methods[fullMethod]
	return statsOf(s), ok
}
