package retry

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestBackoffDelay(t *testing.T) {
	def := backoff{initial: 100 * ms, multiplier: 2, max: time.Second, jitter: 0.2}
	with := func(j float64) backoff { b := def; b.jitter = j; return b }
	tests := []struct {
		name string
		b    backoff
		n    int
		u    float64
		want time.Duration
	}{
		{"first retry, middle of the jitter", def, 1, 0.5, 100 * ms},
		{"first retry, lowest", def, 1, 0, 80 * ms},
		{"first retry, highest", def, 1, 0.999999, 119999960 * time.Nanosecond},
		{"third retry", def, 3, 0.5, 400 * ms},
		{"fourth retry, highest", def, 4, 0.999999, 959999680 * time.Nanosecond},
		{"capped before jitter", def, 9, 0.5, time.Second},
		{"jitter never goes past the cap", def, 5, 0.999, time.Second},
		{"jitter below the cap", def, 5, 0, 800 * ms},
		{"no jitter", with(0), 2, 0.9, 200 * ms},
		{"full spread, lowest", with(1), 2, 0, 0},
		{"zero initial: retry at once", backoff{multiplier: 2, max: time.Second}, 3, 0.5, 0},
		{"multiplier 1: constant", backoff{initial: 50 * ms, multiplier: 1, max: time.Second, jitter: 0}, 5, 0, 50 * ms},
		{"huge attempt number", def, 1 << 30, 0.5, time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.delay(tc.n, tc.u); got != tc.want {
				t.Errorf("delay(%d, %v) = %v; want %v", tc.n, tc.u, got, tc.want)
			}
		})
	}
}

// FuzzBackoff checks the delay of any backoff the options accept, and of
// any input at all: never negative, never above the maximum, and within
// the bounds of its jitter.
func FuzzBackoff(f *testing.F) {
	f.Add(int64(100*ms), 2.0, int64(time.Second), 3, 0.5, 0.2)
	f.Add(int64(0), 1.0, int64(0), 1, 0.0, 0.0)
	f.Add(int64(time.Second), 10.0, int64(time.Minute), 40, 0.999, 1.0)
	f.Add(int64(1), 1e300, int64(math.MaxInt64), 1<<30, -3.0, math.NaN())
	f.Add(int64(-1), math.Inf(1), int64(-1), -7, math.Inf(-1), 5.0)
	f.Fuzz(func(t *testing.T, initial int64, mult float64, maxDelay int64, n int, u float64, fraction float64) {
		raw := backoff{initial: time.Duration(initial), multiplier: mult, max: time.Duration(maxDelay), jitter: fraction}
		d := raw.delay(n, u)
		if d < 0 || d > max(raw.max, 0) {
			t.Fatalf("raw %+v: delay(%d, %v) = %v; want within [0, max]", raw, n, u, d)
		}

		// The same inputs, brought into the ranges the options accept.
		b := backoff{
			initial:    time.Duration(abs(initial) % int64(10*time.Second)),
			multiplier: 1 + math.Mod(math.Abs(finite(mult)), 10),
			jitter:     raw.jitter,
		}
		b.max = b.initial + time.Duration(abs(maxDelay)%int64(time.Minute))
		b.jitter = math.Mod(math.Abs(finite(fraction)), 1)
		n = 1 + int(abs(int64(n))%64)
		u = math.Mod(math.Abs(finite(u)), 1)
		d = b.delay(n, u)
		if d < 0 || d > b.max {
			t.Fatalf("%+v: delay(%d, %v) = %v; want within [0, %v]", b, n, u, d, b.max)
		}
		if b.initial == 0 {
			if d != 0 {
				t.Fatalf("%+v: delay = %v; want 0 with a zero initial delay", b, d)
			}
			return
		}
		exp := b.exponential(n)
		slack := 2.0 // nanoseconds of rounding
		lo, hi := exp*(1-b.jitter), min(exp*(1+b.jitter), float64(b.max))
		if float64(d) < lo-slack || float64(d) > hi+slack {
			t.Fatalf("%+v: delay(%d) = %v; want within [%v, %v]", b, n, d, time.Duration(lo), time.Duration(hi))
		}
		if r := b.randomDelay(n, rand.Float64); r < 0 || r > b.max {
			t.Fatalf("%+v: randomDelay = %v; want within [0, %v]", b, r, b.max)
		}
	})
}

func abs(v int64) int64 {
	if v < 0 {
		if v == math.MinInt64 {
			return math.MaxInt64
		}
		return -v
	}
	return v
}

func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}
