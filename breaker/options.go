package breaker

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// An Option configures a Breaker. Later options override earlier ones.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Limits on option values, so that a breaker's memory stays small.
const (
	maxBuckets     = 1000
	maxCountWindow = 1 << 20
	maxProbes      = 1 << 16
	minBucketWidth = time.Millisecond
)

type windowKind uint8

const (
	windowNone windowKind = iota
	windowTime
	windowCount
)

type config struct {
	consecutive int // 0: rule off

	window   windowKind
	span     time.Duration // time window
	buckets  int           // time window
	size     int           // count window
	minCalls int

	failureRate float64
	slowCall    time.Duration // 0: slow-call rule off
	slowRate    float64

	openDuration time.Duration
	maxOpen      time.Duration
	jitter       float64

	probes       int
	toClose      int
	probeTimeout time.Duration
	hooks        []func(from, to State)
	rand         *rand.Rand
	errs         []error
}

func defaultConfig() config {
	return config{
		consecutive:  0,
		window:       windowTime,
		span:         10 * time.Second,
		buckets:      10,
		minCalls:     20,
		failureRate:  0.5,
		openDuration: 5 * time.Second,
		maxOpen:      60 * time.Second,
		jitter:       0.2,
		probes:       3,
		toClose:      2,
		probeTimeout: 30 * time.Second,
	}
}

// newConfig applies opts to the defaults and validates the result.
func newConfig(opts []Option) (config, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o == nil {
			c.fail("nil Option")
			continue
		}
		o.apply(&c)
	}
	return c, c.validate()
}

func (c *config) fail(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("breaker: "+format, args...))
}

func (c *config) validate() error {
	return errors.Join(c.errs...)
}

// WithConsecutiveFailures trips the breaker after n failures in a row, with
// no success between them, whatever the window says. It protects callers
// with too little traffic for the failure rate (5 is a good start for
// them), but on busy callers it trips on ordinary bad luck: a server failing
// 30% of calls gives five failures in a row about every 600 calls. Zero
// turns the rule off. Default: 0 (off; the failure rate decides).
func WithConsecutiveFailures(n int) Option {
	return optionFunc(func(c *config) {
		if n < 0 {
			c.fail("WithConsecutiveFailures(%d): must be at least 0 (0 turns the rule off)", n)
			return
		}
		c.consecutive = n
	})
}

// WithFailureRate trips the breaker when the share of failures among the
// calls in the window reaches rate, once the window holds at least the
// minimum number of calls (WithMinCalls). Default: 0.5.
func WithFailureRate(rate float64) Option {
	return optionFunc(func(c *config) {
		if !(rate > 0 && rate <= 1) {
			c.fail("WithFailureRate(%v): must be in (0, 1]", rate)
			return
		}
		c.failureRate = rate
	})
}

// WithMinCalls sets how many calls the window must hold before the failure
// and slow-call rates may trip the breaker. Default: 20.
func WithMinCalls(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 {
			c.fail("WithMinCalls(%d): must be at least 1", n)
			return
		}
		c.minCalls = n
	})
}

// WithTimeWindow makes the failure and slow-call rates cover the calls of
// the last span, kept in buckets buckets of span/buckets each: the window
// slides by one bucket at a time, so it covers between span-span/buckets and
// span. Counting a call costs no clock read: a timer moves the window once
// per bucket while calls arrive, and stops when they do not. WithTimeWindow(0,
// 0) turns the rate rules off (only consecutive failures trip). It replaces a
// WithCountWindow given before it. Default: 10 s in 10 buckets.
func WithTimeWindow(span time.Duration, buckets int) Option {
	return optionFunc(func(c *config) {
		if span == 0 && buckets == 0 {
			c.window = windowNone
			return
		}
		switch {
		case span <= 0:
			c.fail("WithTimeWindow(%v, %d): span must be positive", span, buckets)
		case buckets < 1 || buckets > maxBuckets:
			c.fail("WithTimeWindow(%v, %d): buckets must be in [1, %d]", span, buckets, maxBuckets)
		case span/time.Duration(buckets) < minBucketWidth:
			c.fail("WithTimeWindow(%v, %d): each bucket must span at least %v", span, buckets, minBucketWidth)
		default:
			c.window, c.span, c.buckets = windowTime, span, buckets
		}
	})
}

// WithCountWindow makes the failure and slow-call rates cover the last n
// calls instead of a time window. It replaces a WithTimeWindow given before
// it. Default: a time window (see WithTimeWindow).
func WithCountWindow(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 || n > maxCountWindow {
			c.fail("WithCountWindow(%d): must be in [1, %d]", n, maxCountWindow)
			return
		}
		c.window, c.size = windowCount, n
	})
}

// WithSlowCalls counts calls that take threshold or longer as slow, and
// trips the breaker when the share of slow calls in the window reaches rate
// (with at least WithMinCalls calls in it). A slow probe reopens a half-open
// breaker. Turning it on costs two clock reads per call (when the permit is
// given and when the outcome is reported). Default: off.
func WithSlowCalls(threshold time.Duration, rate float64) Option {
	return optionFunc(func(c *config) {
		switch {
		case threshold <= 0:
			c.fail("WithSlowCalls(%v, %v): threshold must be positive", threshold, rate)
		case !(rate > 0 && rate <= 1):
			c.fail("WithSlowCalls(%v, %v): rate must be in (0, 1]", threshold, rate)
		default:
			c.slowCall, c.slowRate = threshold, rate
		}
	})
}

// WithOpenDuration sets how long the breaker stays open after it first
// trips (first), and the cap on that duration as it doubles on each
// reopening from half-open (max). Both must be positive and max at least
// first; max equal to first keeps the open duration from growing.
// Default: 5 s, 60 s.
func WithOpenDuration(first, max time.Duration) Option {
	return optionFunc(func(c *config) {
		switch {
		case first <= 0 || max <= 0:
			c.fail("WithOpenDuration(%v, %v): both durations must be positive", first, max)
		case max < first:
			c.fail("WithOpenDuration(%v, %v): max must be at least first", first, max)
		default:
			c.openDuration, c.maxOpen = first, max
		}
	})
}

// WithOpenJitter shortens each open duration by a random share of it, up to
// fraction, so that many clients that tripped together do not probe
// together: an open duration d lasts between d*(1-fraction) and d, never more
// than WithOpenDuration's max. Zero turns jitter off. Default: 0.2.
func WithOpenJitter(fraction float64) Option {
	return optionFunc(func(c *config) {
		if !(fraction >= 0 && fraction < 1) {
			c.fail("WithOpenJitter(%v): must be in [0, 1)", fraction)
			return
		}
		c.jitter = fraction
	})
}

// WithHalfOpen sets how many calls a half-open breaker lets through at once
// (probes), and how many successful probes close it (successes). A single
// failed probe reopens it. Default: 3 probes, 2 successes.
func WithHalfOpen(probes, successes int) Option {
	return optionFunc(func(c *config) {
		switch {
		case probes < 1 || probes > maxProbes:
			c.fail("WithHalfOpen(%d, %d): probes must be in [1, %d]", probes, successes, maxProbes)
		case successes < 1:
			c.fail("WithHalfOpen(%d, %d): successes must be at least 1", probes, successes)
		default:
			c.probes, c.toClose = probes, successes
		}
	})
}

// WithProbeTimeout sets how long a half-open breaker waits for a probe to
// report before it takes the probe's permit back and lets another call
// probe. The late report of a reclaimed probe is ignored. Default: 30 s.
func WithProbeTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d <= 0 {
			c.fail("WithProbeTimeout(%v): must be positive", d)
			return
		}
		c.probeTimeout = d
	})
}

// WithOnStateChange adds a hook called on every state change, with the
// state left and the state entered. Hooks run after the breaker's lock is
// released, one at a time and in the order of the changes, so they may call
// back into the breaker (even change its mode); a change caused by a hook is
// reported after the hook returns. A hook may run on a goroutine other than
// the one that caused the change, such as the breaker's timer. Several hooks
// run in the order given. Default: none.
func WithOnStateChange(hook func(from, to State)) Option {
	return optionFunc(func(c *config) {
		if hook == nil {
			c.fail("WithOnStateChange(nil): the hook must not be nil")
			return
		}
		c.hooks = append(c.hooks, hook)
	})
}

// WithRandSource sets the source of the open-time jitter, for example a
// seeded rand.PCG for a reproducible simulation. The breaker uses it only
// while holding its lock, so it need not be safe for concurrent use, but it
// must not be shared with anything else. Default: math/rand/v2's global
// source.
func WithRandSource(src rand.Source) Option {
	return optionFunc(func(c *config) {
		if src == nil {
			c.fail("WithRandSource(nil): the source must not be nil")
			return
		}
		c.rand = rand.New(src)
	})
}

// sameWindow reports whether c's window has the shape of d's, so that the
// counts of one carry over to the other.
func (c *config) sameWindow(d *config) bool {
	if c.window != d.window {
		return false
	}
	switch c.window {
	case windowTime:
		return c.span == d.span && c.buckets == d.buckets
	case windowCount:
		return c.size == d.size
	}
	return true
}

// openFor returns the open time for the level-th reopening (0 for the
// first trip), before jitter: the open duration doubled level times, capped.
func (c *config) openFor(level int) time.Duration {
	d := c.openDuration
	for range level {
		if d >= c.maxOpen || d > math.MaxInt64/2 {
			break
		}
		d *= 2
	}
	return min(d, c.maxOpen)
}
