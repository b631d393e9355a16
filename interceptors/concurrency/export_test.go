package concurrency

import (
	"context"
	"time"

	"github.com/bulwarkrpc/bulwark/internal/limiter"
	"github.com/bulwarkrpc/bulwark/internal/reconfig"
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
	if cfg := l.cfg.Load(); cfg.methods != nil {
		if ms = cfg.methods[fullMethod]; ms != nil && !ms.TryAcquire(class) {
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
	cfg := l.cfg.Load()
	c := cfg.clientCriticality(ctx)
	p, r, s := l.take(ctx, cfg, fullMethod, c, "")
	if r != 0 {
		return permit{}, cfg.clientReject(ctx, fullMethod, "", r, c, s)
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
	s := l.cfg.Load().method(fullMethod)
	return statsOf(s), s != nil
}

// Prepare is what the chains call through reconfig.Limiter.
func (l *Limiter) Prepare(opts ...Option) (func(), error) {
	commit, err := reconfig.Limiter(l, opts)
	return commit, err
}

// Reconfigure prepares opts and commits them when they are valid.
func (l *Limiter) Reconfigure(opts ...Option) error {
	commit, err := l.Prepare(opts...)
	if err != nil {
		return err
	}
	commit()
	return nil
}

// Settings is what a test can compare of a Limiter's configuration.
type Settings struct {
	QueueLen     int
	MaxWait      time.Duration
	RetryAfter   time.Duration
	Priority     bool
	MethodLimits map[string]int // nil: none
	// Of the global semaphore, and of each method's: its queue length and
	// the thresholds of the critical, default and sheddable classes.
	MaxQueue   int
	Thresholds [limiter.NumClasses]int
	Methods    map[string]SemaphoreSettings
}

// SemaphoreSettings is the configuration of one semaphore.
type SemaphoreSettings struct {
	MaxQueue   int
	Thresholds [limiter.NumClasses]int
}

// Settings returns the Limiter's current configuration.
func (l *Limiter) Settings() Settings {
	cfg := l.cfg.Load()
	s := Settings{QueueLen: cfg.queueLen, MaxWait: cfg.maxWait, RetryAfter: cfg.retryAfter, Priority: cfg.priority}
	sem := func(m *limiter.Semaphore) SemaphoreSettings {
		ss := SemaphoreSettings{MaxQueue: m.MaxQueue()}
		for c := range limiter.NumClasses {
			ss.Thresholds[c] = m.Threshold(c)
		}
		return ss
	}
	if l.global != nil {
		g := sem(l.global)
		s.MaxQueue, s.Thresholds = g.MaxQueue, g.Thresholds
	}
	for m, ms := range cfg.methods {
		if s.MethodLimits == nil {
			s.MethodLimits, s.Methods = map[string]int{}, map[string]SemaphoreSettings{}
		}
		s.MethodLimits[m] = ms.Limit()
		s.Methods[m] = sem(ms)
	}
	return s
}
