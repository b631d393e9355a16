package breaker_test

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwarkrpc/bulwark/breaker"
)

// reconfigure calls b.Reconfigure and fails the test on an error.
func reconfigure(t *testing.T, b *breaker.Breaker, opts ...breaker.Option) {
	t.Helper()
	if err := b.Reconfigure(opts...); err != nil {
		t.Fatalf("Reconfigure: %v", err)
	}
}

// wantCounts checks the breaker's counts.
func wantCounts(t *testing.T, b *breaker.Breaker, want breaker.Counts) {
	t.Helper()
	if got := b.Counts(); got != want {
		t.Fatalf("counts = %+v, want %+v", got, want)
	}
}

// sleepTo sleeps d and lets the breaker's timers run.
func sleepTo(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// TestReconfigureKeepsOpenState: an open breaker stays open to the end of
// its current open time, whatever the new thresholds and open duration say,
// then half-opens; the new threshold and duration govern the next opening.
func TestReconfigureKeepsOpenState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := &recorder{}
		opts := func(consecutive int, open time.Duration) []breaker.Option {
			return []breaker.Option{noRate, breaker.WithConsecutiveFailures(consecutive), breaker.WithOpenJitter(0),
				breaker.WithOpenDuration(open, time.Minute), breaker.WithHalfOpen(1, 1), breaker.WithOnStateChange(rec.hook)}
		}
		b, err := breaker.New(opts(5, 5*time.Second)...)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		start := time.Now()
		calls(t, b, 5, breaker.Failed)
		wantState(t, b, breaker.StateOpen)
		sleepTo(2 * time.Second)

		reconfigure(t, b, opts(2, time.Second)...)
		wantState(t, b, breaker.StateOpen)
		if rem := wantRefused(t, b).RefusesFor(); rem != 3*time.Second {
			t.Fatalf("RefusesFor after Reconfigure = %v, want the 3s left of the old open time", rem)
		}
		if c := b.Counts(); c.ConsecutiveFailures != 5 || c.Failures != 5 {
			t.Fatalf("counts while open = %+v, want those of the trip", c)
		}
		sleepTo(3*time.Second - 1)
		wantState(t, b, breaker.StateOpen) // not at the new 1s, nor 1ns early
		sleepTo(time.Nanosecond)
		wantState(t, b, breaker.StateHalfOpen)
		if at := rec.last().at.Sub(start); at != 5*time.Second {
			t.Fatalf("half-open after %v, want the old 5s", at)
		}

		call(t, b, breaker.Succeeded) // the one probe closes it
		wantState(t, b, breaker.StateClosed)
		call(t, b, breaker.Failed)
		wantState(t, b, breaker.StateClosed) // 1 < 2
		call(t, b, breaker.Failed)
		wantState(t, b, breaker.StateOpen) // the new threshold, exactly
		if rem := b.RefusesFor(); rem != time.Second {
			t.Fatalf("RefusesFor on the next opening = %v, want the new 1s", rem)
		}
		sleepTo(time.Second)
		wantState(t, b, breaker.StateHalfOpen)
		call(t, b, breaker.Failed) // reopens for twice the new duration
		if rem := b.RefusesFor(); rem != 2*time.Second {
			t.Fatalf("RefusesFor on reopening = %v, want 2s", rem)
		}
		want := "closed>open open>half_open half_open>closed closed>open open>half_open half_open>open"
		if got := rec.String(); got != want {
			t.Fatalf("transitions:\n got %s\nwant %s", got, want)
		}
	})
}

// TestReconfigureKeepsClosedCounts: the window's counts and the consecutive
// failures survive a threshold change when the window keeps its shape, and
// the next failure is judged by the new threshold.
func TestReconfigureKeepsClosedCounts(t *testing.T) {
	windows := []struct {
		name   string
		window breaker.Option
		rate   bool // the window has a failure rate
	}{
		{"no window", noRate, false},
		{"count window", breaker.WithCountWindow(100), true},
		{"time window", breaker.WithTimeWindow(10*time.Second, 10), true},
	}
	for _, w := range windows {
		t.Run("consecutive/"+w.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rate := breaker.WithFailureRate(1) // with the minimum of 20 calls: never here
				b, _ := newBreaker(t, w.window, rate, breaker.WithConsecutiveFailures(5))
				calls(t, b, 3, breaker.Failed)
				reconfigure(t, b, w.window, rate, breaker.WithConsecutiveFailures(4))
				wantCounts(t, b, breaker.Counts{Failures: 3, ConsecutiveFailures: 3})
				call(t, b, breaker.Failed) // the 4th
				wantState(t, b, breaker.StateOpen)
			})
		})
		if !w.rate {
			continue
		}
		t.Run("rate/"+w.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := func(rate float64) []breaker.Option {
					return []breaker.Option{w.window, breaker.WithMinCalls(10), breaker.WithFailureRate(rate)}
				}
				b, _ := newBreaker(t, opts(0.5)...)
				calls(t, b, 6, breaker.Succeeded)
				calls(t, b, 3, breaker.Failed)
				reconfigure(t, b, opts(0.4)...)
				wantCounts(t, b, breaker.Counts{Successes: 6, Failures: 3, ConsecutiveFailures: 3})
				call(t, b, breaker.Failed) // 4 of 10: 0.4 exactly
				wantState(t, b, breaker.StateOpen)
			})
		})
	}
	t.Run("lowered below the count", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, rec := newBreaker(t, noRate, breaker.WithConsecutiveFailures(5))
			calls(t, b, 3, breaker.Failed)
			reconfigure(t, b, noRate, breaker.WithConsecutiveFailures(2))
			wantState(t, b, breaker.StateClosed) // Reconfigure itself never trips
			call(t, b, breaker.Succeeded)        // ends the run
			call(t, b, breaker.Failed)
			wantState(t, b, breaker.StateClosed)
			call(t, b, breaker.Failed)
			wantState(t, b, breaker.StateOpen)
			if got := rec.String(); got != "" {
				t.Fatalf("transitions = %q, want none: the hooks are those of Reconfigure", got)
			}
		})
	})
}

// TestReconfigureWindowShape: a window of another shape starts empty (the
// consecutive failures are kept), and its timer is stopped or started as
// the new shape needs.
func TestReconfigureWindowShape(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := []breaker.Option{breaker.WithConsecutiveFailures(100), breaker.WithMinCalls(4), breaker.WithFailureRate(0.5)}
		with := func(w breaker.Option) []breaker.Option { return append(base[:len(base):len(base)], w) }
		b, _ := newBreaker(t, with(breaker.WithTimeWindow(10*time.Second, 10))...)
		calls(t, b, 3, breaker.Failed) // the window's timer runs

		// Time to count: the timer must stop (a count window has no buckets).
		reconfigure(t, b, with(breaker.WithCountWindow(4))...)
		wantCounts(t, b, breaker.Counts{ConsecutiveFailures: 3})
		sleepTo(3 * time.Second) // past a few bucket boundaries of the old window
		calls(t, b, 3, breaker.Succeeded)
		call(t, b, breaker.Failed)
		wantCounts(t, b, breaker.Counts{Successes: 3, Failures: 1, ConsecutiveFailures: 1})

		// Count to count of another size: empty again.
		reconfigure(t, b, with(breaker.WithCountWindow(8))...)
		wantCounts(t, b, breaker.Counts{ConsecutiveFailures: 1})

		// Count to time: the first call starts the new window's timer.
		sleepTo(500 * time.Millisecond)
		reconfigure(t, b, with(breaker.WithTimeWindow(4*time.Second, 4))...)
		sleepTo(time.Minute) // no timer runs meanwhile
		calls(t, b, 2, breaker.Succeeded)
		call(t, b, breaker.Failed)
		sleepTo(4*time.Second - 1)
		wantCounts(t, b, breaker.Counts{Successes: 2, Failures: 1, ConsecutiveFailures: 1})
		sleepTo(time.Nanosecond) // the calls' bucket leaves the window
		wantCounts(t, b, breaker.Counts{ConsecutiveFailures: 1})

		// Time to time of another span, while its timer runs.
		calls(t, b, 3, breaker.Succeeded)
		reconfigure(t, b, with(breaker.WithTimeWindow(2*time.Second, 2))...)
		wantCounts(t, b, breaker.Counts{})
		calls(t, b, 2, breaker.Succeeded)
		sleepTo(2*time.Second - 1)
		wantCounts(t, b, breaker.Counts{Successes: 2})
		sleepTo(time.Nanosecond)
		wantCounts(t, b, breaker.Counts{})

		// The same shape keeps the counts, and the rate rule still trips.
		calls(t, b, 2, breaker.Succeeded)
		call(t, b, breaker.Failed)
		reconfigure(t, b, with(breaker.WithTimeWindow(2*time.Second, 2))...)
		wantCounts(t, b, breaker.Counts{Successes: 2, Failures: 1, ConsecutiveFailures: 1})
		call(t, b, breaker.Failed) // 2 of 4
		wantState(t, b, breaker.StateOpen)

		// While open: the state and the open time are kept, and the window
		// of the new shape counts once the breaker closes.
		rem := b.RefusesFor()
		reconfigure(t, b, append(with(breaker.WithCountWindow(2)), breaker.WithHalfOpen(1, 1))...)
		wantState(t, b, breaker.StateOpen)
		if got := b.RefusesFor(); got != rem {
			t.Fatalf("RefusesFor = %v, want %v", got, rem)
		}
		sleepTo(rem)
		call(t, b, breaker.Succeeded)
		wantState(t, b, breaker.StateClosed)
		calls(t, b, 3, breaker.Succeeded)
		wantCounts(t, b, breaker.Counts{Successes: 2})
	})
}

// TestReconfigureInvalid: an invalid option is refused with its name, and
// nothing changes; values at the limits are accepted.
func TestReconfigureInvalid(t *testing.T) {
	tests := []struct {
		opt  breaker.Option
		want string
	}{
		{breaker.WithFailureRate(2), "breaker: WithFailureRate(2): must be in (0, 1]"},
		{breaker.WithFailureRate(0), "breaker: WithFailureRate(0): must be in (0, 1]"},
		{breaker.WithConsecutiveFailures(-1), "breaker: WithConsecutiveFailures(-1): must be at least 0"},
		{breaker.WithHalfOpen(0, 1), "breaker: WithHalfOpen(0, 1): probes must be in [1, 65536]"},
		{breaker.WithHalfOpen(65537, 1), "breaker: WithHalfOpen(65537, 1): probes must be in [1, 65536]"},
		{breaker.WithCountWindow(1<<20 + 1), "breaker: WithCountWindow(1048577): must be in [1, 1048576]"},
		{breaker.WithTimeWindow(10*time.Millisecond-1, 10), "breaker: WithTimeWindow(9.999999ms, 10): each bucket must span at least 1ms"},
		{breaker.WithOpenJitter(1), "breaker: WithOpenJitter(1): must be in [0, 1)"},
		{breaker.WithOnStateChange(nil), "breaker: WithOnStateChange(nil): the hook must not be nil"},
		{nil, "breaker: nil Option"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b, rec := newBreaker(t, noRate, breaker.WithConsecutiveFailures(3), breaker.WithOpenJitter(0))
				calls(t, b, 1, breaker.Failed)
				err := b.Reconfigure(noRate, breaker.WithConsecutiveFailures(1), breaker.WithOpenDuration(time.Second, time.Second), tc.opt)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Reconfigure = %v, want %q", err, tc.want)
				}
				call(t, b, breaker.Failed) // 2 < 3: the old threshold still governs
				wantState(t, b, breaker.StateClosed)
				call(t, b, breaker.Failed)
				wantState(t, b, breaker.StateOpen)
				if rem := b.RefusesFor(); rem != 5*time.Second {
					t.Fatalf("open for %v, want the old 5s", rem)
				}
				if got := rec.String(); got != "closed>open" {
					t.Fatalf("transitions = %q, want the old hook to run", got)
				}
			})
		})
	}
	t.Run("several errors", func(t *testing.T) {
		b, _ := newBreaker(t)
		err := b.Reconfigure(breaker.WithMinCalls(0), breaker.WithFailureRate(2))
		if err == nil || !strings.Contains(err.Error(), "WithMinCalls(0)") || !strings.Contains(err.Error(), "WithFailureRate(2)") {
			t.Fatalf("Reconfigure = %v, want both options named", err)
		}
	})
	t.Run("limits accepted", func(t *testing.T) {
		b, _ := newBreaker(t)
		for _, o := range []breaker.Option{
			breaker.WithFailureRate(1), breaker.WithConsecutiveFailures(0), breaker.WithHalfOpen(1, 1),
			breaker.WithHalfOpen(65536, 1), breaker.WithCountWindow(1), breaker.WithCountWindow(1 << 20),
			breaker.WithTimeWindow(10*time.Millisecond, 10), breaker.WithOpenJitter(0), breaker.WithMinCalls(1),
		} {
			if err := b.Reconfigure(o); err != nil {
				t.Fatalf("Reconfigure: %v", err)
			}
		}
	})
}

// TestReconfigureHalfOpen: a change of the number of probes invalidates the
// probes in flight and keeps the successes so far; other changes keep them.
func TestReconfigureHalfOpen(t *testing.T) {
	opts := func(probes, successes int, timeout time.Duration) []breaker.Option {
		return []breaker.Option{noRate, breaker.WithConsecutiveFailures(1), breaker.WithHalfOpen(probes, successes),
			breaker.WithProbeTimeout(timeout)}
	}
	halfOpen := func(t *testing.T, b *breaker.Breaker) {
		trip(t, b)
		sleepTo(5 * time.Second)
		wantState(t, b, breaker.StateHalfOpen)
	}
	allow := func(t *testing.T, b *breaker.Breaker) breaker.Permit {
		t.Helper()
		p, err := b.Allow()
		if err != nil {
			t.Fatalf("probe refused: %v", err)
		}
		return p
	}
	t.Run("probes resized", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, rec := newBreaker(t, opts(3, 2, 30*time.Second)...)
			halfOpen(t, b)
			p1, p2, p3 := allow(t, b), allow(t, b), allow(t, b)
			p1.Done(breaker.Succeeded)
			reconfigure(t, b, append(opts(2, 2, 30*time.Second), breaker.WithOnStateChange(rec.hook))...)
			wantState(t, b, breaker.StateHalfOpen)
			wantCounts(t, b, breaker.Counts{Successes: 1})
			p2.Done(breaker.Failed) // invalidated: ignored
			wantState(t, b, breaker.StateHalfOpen)
			q1, q2 := allow(t, b), allow(t, b)
			wantRefused(t, b) // 2 probes, exactly
			p3.Done(breaker.Succeeded)
			wantCounts(t, b, breaker.Counts{Successes: 1, Probes: 2})
			q1.Done(breaker.Succeeded) // 1 + 1: closes
			wantState(t, b, breaker.StateClosed)
			q2.Done(breaker.Failed) // of the half-open state: not counted
			wantState(t, b, breaker.StateClosed)
		})
	})
	t.Run("probes kept", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, _ := newBreaker(t, opts(2, 3, 30*time.Second)...)
			halfOpen(t, b)
			p1, p2 := allow(t, b), allow(t, b)
			reconfigure(t, b, opts(2, 1, 30*time.Second)...)
			wantCounts(t, b, breaker.Counts{Probes: 2})
			wantRefused(t, b)
			p1.Done(breaker.Succeeded) // a probe in flight counts, against the new 1
			wantState(t, b, breaker.StateClosed)
			p2.Done(breaker.Failed)
			wantState(t, b, breaker.StateClosed)
		})
	})
	t.Run("probe timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, _ := newBreaker(t, opts(1, 1, 30*time.Second)...)
			halfOpen(t, b)
			stuck := allow(t, b)
			wantRefused(t, b)
			reconfigure(t, b, opts(1, 1, 10*time.Second)...)
			sleepTo(10*time.Second - 1)
			wantRefused(t, b)
			sleepTo(time.Nanosecond)
			p := allow(t, b) // the stuck probe's permit, reclaimed at the new 10s
			stuck.Done(breaker.Failed)
			wantState(t, b, breaker.StateHalfOpen)
			p.Done(breaker.Succeeded)
			wantState(t, b, breaker.StateClosed)
		})
	})
}

// TestReconfigureSlowCalls: slow-call detection turned on or off, or its
// threshold moved, while permits are outstanding. A permit given while it
// was off is never slow; one reported after it was turned off is never
// slow; one reported while it is on is judged by the threshold of the
// moment.
func TestReconfigureSlowCalls(t *testing.T) {
	// A count window of 10 calls and at least 2 of them: one slow call
	// among two trips, when it is judged slow.
	base := []breaker.Option{breaker.WithConsecutiveFailures(0), breaker.WithCountWindow(10), breaker.WithMinCalls(2)}
	slowOpts := func(threshold time.Duration) []breaker.Option {
		return append(base[:len(base):len(base)], breaker.WithSlowCalls(threshold, 0.5))
	}
	allow := func(t *testing.T, b *breaker.Breaker) breaker.Permit {
		t.Helper()
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("turned on", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, _ := newBreaker(t, base...)
			calls(t, b, 3, breaker.Succeeded)
			ok, fail := allow(t, b), allow(t, b) // no start taken
			reconfigure(t, b, slowOpts(time.Second)...)
			sleepTo(time.Minute)
			// Judged slow, either would trip.
			ok.Done(breaker.Succeeded)
			fail.Done(breaker.Failed)
			wantCounts(t, b, breaker.Counts{Successes: 4, Failures: 1, ConsecutiveFailures: 1})
			// Permits given now are timed: the threshold's boundary.
			p, q := allow(t, b), allow(t, b)
			sleepTo(time.Second - 1)
			p.Done(breaker.Succeeded)
			wantCounts(t, b, breaker.Counts{Successes: 5, Failures: 1})
			sleepTo(time.Nanosecond)
			q.Done(breaker.Succeeded) // 1 slow of 7: under 0.5
			wantCounts(t, b, breaker.Counts{Successes: 6, Failures: 1, Slow: 1})
			wantState(t, b, breaker.StateClosed)
		})
	})
	t.Run("turned off", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, _ := newBreaker(t, slowOpts(time.Second)...)
			call(t, b, breaker.Succeeded)
			ok, fail := allow(t, b), allow(t, b) // timed
			reconfigure(t, b, base...)
			sleepTo(time.Minute)
			// Judged slow, either would trip (the new slow rate is none).
			ok.Done(breaker.Succeeded)
			fail.Done(breaker.Failed)
			wantCounts(t, b, breaker.Counts{Successes: 2, Failures: 1, ConsecutiveFailures: 1})
			wantState(t, b, breaker.StateClosed)
		})
	})
	t.Run("threshold moved", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b, _ := newBreaker(t, slowOpts(time.Second)...)
			call(t, b, breaker.Succeeded)
			p := allow(t, b)
			reconfigure(t, b, slowOpts(3*time.Second)...)
			sleepTo(2 * time.Second)
			p.Done(breaker.Succeeded) // slow by the old threshold, not by the new
			wantCounts(t, b, breaker.Counts{Successes: 2})
			p = allow(t, b)
			reconfigure(t, b, slowOpts(time.Second)...)
			sleepTo(time.Second)
			p.Done(breaker.Succeeded) // 1 slow of 3
			wantCounts(t, b, breaker.Counts{Successes: 3, Slow: 1})
			p = allow(t, b)
			sleepTo(time.Second)
			p.Done(breaker.Failed) // 2 slow of 4
			wantState(t, b, breaker.StateOpen)
		})
	})
	t.Run("probes", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			probe := []breaker.Option{noRate, breaker.WithConsecutiveFailures(1), breaker.WithHalfOpen(2, 2)}
			b, _ := newBreaker(t, probe...)
			trip(t, b)
			sleepTo(5 * time.Second)
			before := allow(t, b) // given with detection off
			reconfigure(t, b, append(probe, breaker.WithSlowCalls(time.Second, 1))...)
			after := allow(t, b) // given with detection on
			sleepTo(time.Minute)
			before.Done(breaker.Succeeded) // reported with detection on: not slow
			wantCounts(t, b, breaker.Counts{Successes: 1, Probes: 1})
			reconfigure(t, b, probe...)
			after.Done(breaker.Succeeded) // reported with detection off: not slow
			wantState(t, b, breaker.StateClosed)
		})
	})
}

// TestReconfigureReplacesHooks: the hooks are those of the last
// Reconfigure.
func TestReconfigureReplacesHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, first := newBreaker(t, noRate, breaker.WithConsecutiveFailures(1))
		second := &recorder{}
		reconfigure(t, b, noRate, breaker.WithConsecutiveFailures(1), breaker.WithOnStateChange(second.hook))
		trip(t, b)
		if first.String() != "" || second.String() != "closed>open" {
			t.Fatalf("first hook %q, second %q; want only the second to run", first, second)
		}
	})
}

// TestReconfigureConcurrent races Reconfigure with calls and with itself,
// for the race detector, through every window shape, slow-call detection on
// and off, and probe counts; then checks that the breaker runs one of the
// configurations whole: the consecutive failures that trip it, its open
// time and its number of probes all belong to the same one.
func TestReconfigureConcurrent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		config := func(i int) []breaker.Option {
			opts := []breaker.Option{breaker.WithConsecutiveFailures(i), breaker.WithOpenJitter(0),
				breaker.WithOpenDuration(time.Duration(i)*time.Second, time.Minute), breaker.WithHalfOpen(i, 1),
				breaker.WithMinCalls(1 << 20)}
			switch i % 3 {
			case 0:
				opts = append(opts, breaker.WithTimeWindow(0, 0))
			case 1:
				opts = append(opts, breaker.WithCountWindow(10*i))
			case 2:
				opts = append(opts, breaker.WithTimeWindow(time.Duration(i)*time.Second, i))
			}
			if i%2 == 0 {
				opts = append(opts, breaker.WithSlowCalls(time.Duration(i)*10*time.Millisecond, 1))
			}
			return opts
		}
		b, _ := newBreaker(t, config(2)...)
		var wg sync.WaitGroup
		for g := range 6 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(g), 1))
				for range 1000 {
					p, err := b.Allow()
					if err != nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					time.Sleep(time.Duration(r.IntN(60)) * time.Millisecond)
					p.Done(breaker.Verdict(r.IntN(3)))
				}
			})
		}
		for g := range 3 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(g), 2))
				for range 200 {
					reconfigure(t, b, config(2+r.IntN(5))...)
					_ = b.Counts()
					time.Sleep(time.Duration(r.IntN(100)) * time.Millisecond)
				}
			})
		}
		wg.Wait()

		b.Reset()
		n := 0
		for b.State() == breaker.StateClosed {
			call(t, b, breaker.Failed)
			n++
		}
		if rem := b.RefusesFor(); rem != time.Duration(n)*time.Second {
			t.Fatalf("tripped after %d failures, open for %v: two configurations mixed", n, rem)
		}
		sleepTo(time.Duration(n) * time.Second)
		probes := 0
		for {
			if _, err := b.Allow(); err != nil {
				break
			}
			probes++
		}
		if probes != n {
			t.Fatalf("tripped after %d failures, %d probes: two configurations mixed", n, probes)
		}
	})
}
