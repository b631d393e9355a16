package retry

import (
	"math"
	"testing"
	"time"
)

// grants asks w for up to n retries at at and returns how many it granted.
func grants(w *windowBudget, at time.Time, n int) int {
	got := 0
	for range n {
		if ok, _ := w.tryRetry(at); ok {
			got++
		}
	}
	return got
}

func calls(w *windowBudget, n int) {
	for range n {
		w.total.Add(1)
	}
}

func TestWindowBudget(t *testing.T) {
	t0 := time.Unix(1000, 0)
	t.Run("reserve only", func(t *testing.T) {
		w := newWindowBudget(0, 1, 10*time.Second, t0) // 10 per 10 s
		if got := grants(w, t0, 20); got != 10 {
			t.Errorf("granted %d; want the reserve, 10", got)
		}
		if got := grants(w, t0.Add(9500*time.Millisecond), 5); got != 0 {
			t.Errorf("granted %d within the window; want 0", got)
		}
		if got := grants(w, t0.Add(10*time.Second), 20); got != 10 {
			t.Errorf("granted %d once the first bucket left the window; want 10", got)
		}
	})
	t.Run("ratio of the calls", func(t *testing.T) {
		w := newWindowBudget(0.2, 0, 10*time.Second, t0)
		calls(w, 100)
		if got := grants(w, t0, 50); got != 20 {
			t.Errorf("granted %d; want 20%% of 100 calls", got)
		}
		calls(w, 10)
		if got := grants(w, t0.Add(time.Second), 50); got != 2 {
			t.Errorf("granted %d; want 2 more for 10 more calls", got)
		}
		if level := w.level(t0.Add(time.Second)); math.Abs(level) > 1e-9 {
			t.Errorf("level = %v; want 0", level)
		}
	})
	t.Run("calls spread over the time since the last look", func(t *testing.T) {
		w := newWindowBudget(0.2, 0, 10*time.Second, t0)
		calls(w, 300)
		// The budget has not looked since t0: it assumes the 300 calls
		// came evenly over the 30 s, so the 9 s of the window (buckets 21
		// to 29, and the start of the 30th) hold 90 of them.
		if got := grants(w, t0.Add(30*time.Second), 100); got != 18 {
			t.Errorf("granted %d; want 20%% of 90 calls", got)
		}
	})
	t.Run("old calls leave the window", func(t *testing.T) {
		w := newWindowBudget(0.2, 0, 10*time.Second, t0)
		calls(w, 100)
		w.level(t0) // counts them in the first bucket
		if got := grants(w, t0.Add(10*time.Second), 50); got != 0 {
			t.Errorf("granted %d after the calls' bucket expired; want 0", got)
		}
	})
}

func TestTokenBucketUnit(t *testing.T) {
	b := newTokenBucket(10, 0.1)
	for range 4 {
		b.failure()
	}
	if ok, level := b.allow(); !ok || level != 6 {
		t.Errorf("after 4 failures: allow = %v, %v; want true, 6", ok, level)
	}
	b.failure()
	if ok, level := b.allow(); ok || level != 5 {
		t.Errorf("after 5 failures: allow = %v, %v; want false, 5 (not above half)", ok, level)
	}
	for range 100 {
		b.success()
	}
	if _, level := b.allow(); level != 10 {
		t.Errorf("after 100 successes: %v tokens; want the maximum, 10", level)
	}
	for range 30 {
		b.failure()
	}
	if _, level := b.allow(); level != 0 {
		t.Errorf("after 30 failures: %v tokens; want 0", level)
	}
}

// FuzzWindowBudget drives a window budget with calls, the passing of time
// and retries, looking at it at least once per bucket (as a busy client
// does), and checks the budget's promise against an exact record: the
// retries granted in the window never exceed the ratio of the calls made
// in it (and in the bucket before, which the spreading may credit) plus the
// reserve.
func FuzzWindowBudget(f *testing.F) {
	f.Add([]byte{0, 50, 2, 10, 1, 200, 2, 50, 1, 255, 2, 40})
	f.Add([]byte{2, 200, 2, 200, 1, 100, 0, 255, 2, 255})
	f.Add([]byte{0, 255, 0, 255, 2, 255, 1, 255, 1, 255, 2, 255})
	f.Add(make([]byte, 64))
	f.Fuzz(func(t *testing.T, ops []byte) {
		const (
			window = 10 * time.Second
			width  = window / buckets
		)
		ratio := 0.2
		reserve := 5.0
		start := time.Unix(0, 0)
		w := newWindowBudget(ratio, reserve/window.Seconds(), window, start)
		now := time.Duration(0)
		var callTimes, grantTimes []time.Duration
		for len(ops) >= 2 {
			op, arg := ops[0]%3, int(ops[1])
			ops = ops[2:]
			switch op {
			case 0: // calls
				for range arg {
					w.total.Add(1)
					callTimes = append(callTimes, now)
				}
			case 1: // time passes, by up to one bucket
				now += time.Duration(arg) * width / 255
				w.level(start.Add(now))
			case 2: // retries
				for range arg % 16 {
					ok, level := w.tryRetry(start.Add(now))
					if level < 0 {
						t.Fatalf("level %v < 0", level)
					}
					if !ok {
						continue
					}
					grantTimes = append(grantTimes, now)
					from := (now/width - buckets + 1) * width // the oldest bucket's start
					inWindow := 0
					for _, g := range grantTimes {
						if g >= from {
							inWindow++
						}
					}
					made := 0
					for _, c := range callTimes {
						if c >= from-width {
							made++
						}
					}
					if limit := ratio*float64(made) + reserve; float64(inWindow) > limit+1e-6 {
						t.Fatalf("at %v: %d retries granted in the window; limit %.3f (%d calls)", now, inWindow, limit, made)
					}
				}
			}
		}
		w.mu.Lock()
		counted, _ := w.sums()
		w.mu.Unlock()
		if counted > float64(len(callTimes))+1e-6 {
			t.Fatalf("buckets hold %v calls; only %d were made", counted, len(callTimes))
		}
	})
}
