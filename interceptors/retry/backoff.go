package retry

import (
	"math"
	"time"
)

type jitterKind uint8

const (
	jitterProportional jitterKind = iota
	jitterFull
	jitterDecorrelated
	jitterNone
)

// Jitter is how a backoff delay is randomised, so that clients that failed
// together do not retry together. Make one with ProportionalJitter,
// FullJitter, DecorrelatedJitter or NoJitter; the zero Jitter is
// ProportionalJitter(0), which is no jitter.
type Jitter struct {
	kind     jitterKind
	fraction float64
}

// ProportionalJitter spreads each delay uniformly within ±fraction of the
// exponential delay (0.2: from 80% to 120%), then caps it at the backoff's
// maximum. fraction must be between 0 and 1.
func ProportionalJitter(fraction float64) Jitter {
	return Jitter{kind: jitterProportional, fraction: fraction}
}

// FullJitter picks each delay uniformly from zero to the exponential delay,
// as gRFC A6 specifies: random(0, min(initial×multiplier^(n-1), max)).
func FullJitter() Jitter { return Jitter{kind: jitterFull} }

// DecorrelatedJitter picks each delay uniformly from the initial delay to
// three times the previous delay, capped at the backoff's maximum (the
// "decorrelated jitter" of the AWS Architecture Blog). The multiplier is not
// used.
func DecorrelatedJitter() Jitter { return Jitter{kind: jitterDecorrelated} }

// NoJitter uses the exponential delays as they are.
func NoJitter() Jitter { return Jitter{kind: jitterNone} }

// backoff is the exponential backoff of a policy.
type backoff struct {
	initial    time.Duration
	multiplier float64
	max        time.Duration
	jitter     Jitter
}

// delay returns the wait before the n-th retry since the call began or since
// the last delay a server set (n >= 1). prev is the previous backoff delay of
// the call (0 for none), used by decorrelated jitter; u is a uniform random
// number in [0, 1). The result is never negative and never above b.max.
func (b *backoff) delay(n int, prev time.Duration, u float64) time.Duration {
	if b.initial <= 0 || b.max <= 0 {
		return 0
	}
	u = min(max(u, 0), 1)
	ceiling := float64(b.max)
	var d float64
	switch b.jitter.kind {
	case jitterDecorrelated:
		lo := float64(b.initial)
		hi := 3 * max(float64(prev), lo)
		d = lo + u*(hi-lo)
	case jitterFull:
		d = b.exponential(n) * u
	case jitterNone:
		d = b.exponential(n)
	default:
		f := min(max(b.jitter.fraction, 0), 1)
		d = b.exponential(n) * (1 + f*(2*u-1))
	}
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

// randomDelay is delay with u drawn from random (see WithRandSource).
func (b *backoff) randomDelay(n int, prev time.Duration, random func() float64) time.Duration {
	if b.jitter.kind == jitterNone {
		return b.delay(n, prev, 0)
	}
	return b.delay(n, prev, random())
}
