package retry

import (
	"math"
	"time"
)

// backoff is the exponential backoff of a policy.
type backoff struct {
	initial    time.Duration
	multiplier float64
	max        time.Duration
	jitter     float64 // the fraction of WithJitter
}

// delay returns the wait before the n-th retry since the call began or since
// the last delay a server set (n >= 1): the exponential delay spread within
// ±jitter of itself by u, a uniform random number in [0, 1). The result is
// never negative and never above b.max.
func (b *backoff) delay(n int, u float64) time.Duration {
	if b.initial <= 0 || b.max <= 0 {
		return 0
	}
	u = min(max(u, 0), 1)
	ceiling := float64(b.max)
	f := min(max(b.jitter, 0), 1)
	d := b.exponential(n) * (1 + f*(2*u-1))
	if !(d >= 0) { // NaN
		return 0
	}
	if d >= ceiling {
		return b.max
	}
	return time.Duration(d)
}

// exponential returns initial×multiplier^(n-1), at most max, in
// nanoseconds.
func (b *backoff) exponential(n int) float64 {
	d := float64(b.initial)
	if n > 1 && b.multiplier > 1 {
		d *= math.Pow(b.multiplier, float64(n-1))
	}
	return min(d, float64(b.max))
}

// randomDelay is delay with u drawn from random (see withRandSource).
func (b *backoff) randomDelay(n int, random func() float64) time.Duration {
	if b.jitter == 0 {
		return b.delay(n, 0.5)
	}
	return b.delay(n, random())
}
