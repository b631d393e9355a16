package retry

import (
	"math"
	"sync"
	"testing"
	"time"
)

// TestWindowBudgetReconfigure: a window budget keeps its calls and
// retries through a change of its parameters; a new length stretches the
// buckets, each keeping its place.
func TestWindowBudgetReconfigure(t *testing.T) {
	t0 := time.Unix(1000, 0)
	t.Run("ratio and reserve", func(t *testing.T) {
		w := newWindowBudget(0.2, 0, 10*time.Second, t0)
		calls(w, 100)
		if got := grants(w, t0, 10); got != 10 {
			t.Fatalf("granted %d; want 10", got)
		}
		w.reconfigure(0.5, 1, 10*time.Second, t0)
		// 50% of the 100 calls kept, plus 10 in reserve, less the 10
		// retries kept.
		if l := w.level(t0); math.Abs(l-50) > 1e-9 {
			t.Errorf("level %v; want 50", l)
		}
		w.reconfigure(0.05, 0, 10*time.Second, t0)
		if l := w.level(t0); l != 0 {
			t.Errorf("level %v; want 0: 5 allowed, 10 taken", l)
		}
	})
	t.Run("longer window", func(t *testing.T) {
		w := newWindowBudget(0.2, 0, 10*time.Second, t0)
		calls(w, 100)
		w.level(t0) // counts them in bucket 0
		// 3 s later the calls are 3 buckets old; in a 20 s window, 6 s.
		at := t0.Add(3 * time.Second)
		w.reconfigure(0.2, 0, 20*time.Second, at)
		for _, tc := range []struct {
			after time.Duration
			want  float64
		}{
			{0, 20},
			{7 * time.Second, 20}, // past the old window's end
			{14*time.Second - 1, 20},
			{14 * time.Second, 0}, // 6 s + 14 s: out of the new window
		} {
			if l := w.level(at.Add(tc.after)); math.Abs(l-tc.want) > 1e-9 {
				t.Errorf("%v after the change: level %v; want %v", tc.after, l, tc.want)
			}
		}
	})
	t.Run("shorter window", func(t *testing.T) {
		w := newWindowBudget(0.2, 0, 10*time.Second, t0)
		calls(w, 100)
		w.level(t0)
		at := t0.Add(4 * time.Second)
		w.reconfigure(0.2, 0, time.Second, at) // 4 buckets old: 400 ms
		for _, tc := range []struct {
			after time.Duration
			want  float64
		}{
			{600*time.Millisecond - 1, 20},
			{600 * time.Millisecond, 0},
		} {
			if l := w.level(at.Add(tc.after)); math.Abs(l-tc.want) > 1e-9 {
				t.Errorf("%v after the change: level %v; want %v", tc.after, l, tc.want)
			}
		}
	})
}

// TestTokenBucketReconfigureConcurrent: the tokens never exceed the
// maximum, even while successes race with a lower maximum.
func TestTokenBucketReconfigureConcurrent(t *testing.T) {
	b := newTokenBucket(1000, 1)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				if (i+g)%3 == 0 {
					b.failure()
				} else {
					b.success()
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 2000 {
			b.reconfigure(float64(1+i%7), 1)
			if maxMilli, milli := unpackTokens(b.state.Load()); milli > maxMilli || milli < 0 {
				t.Errorf("%d of %d thousandths", milli, maxMilli)
				return
			}
		}
	})
	wg.Wait()
	b.reconfigure(2, 1)
	if maxMilli, milli := unpackTokens(b.state.Load()); maxMilli != 2000 || milli > maxMilli || milli < 0 {
		t.Errorf("%d of %d thousandths; want at most 2000 of 2000", milli, maxMilli)
	}
}
