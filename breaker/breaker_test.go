package breaker_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/bulwarkrpc/bulwark/breaker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder collects state changes with the (fake) time they happened.
type recorder struct {
	mu     sync.Mutex
	events []change
}

type change struct {
	from, to breaker.State
	at       time.Time
}

func (r *recorder) hook(from, to breaker.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, change{from, to, time.Now()})
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var parts []string
	for _, e := range r.events {
		parts = append(parts, e.from.String()+">"+e.to.String())
	}
	return strings.Join(parts, " ")
}

func (r *recorder) last() change {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.events) == 0 {
		return change{}
	}
	return r.events[len(r.events)-1]
}

func newBreaker(t *testing.T, opts ...breaker.Option) (*breaker.Breaker, *recorder) {
	t.Helper()
	rec := &recorder{}
	b, err := breaker.New(append([]breaker.Option{breaker.WithOnStateChange(rec.hook)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b, rec
}

// call makes one call that ends with r; it fails the test if refused.
func call(t *testing.T, b *breaker.Breaker, r breaker.Verdict) {
	t.Helper()
	p, err := b.Allow()
	if err != nil {
		t.Fatalf("Allow in state %v: %v", b.State(), err)
	}
	p.Done(r)
}

func calls(t *testing.T, b *breaker.Breaker, n int, r breaker.Verdict) {
	t.Helper()
	for range n {
		call(t, b, r)
	}
}

func wantState(t *testing.T, b *breaker.Breaker, want breaker.State) {
	t.Helper()
	if got := b.State(); got != want {
		t.Fatalf("state = %v, want %v", got, want)
	}
}

func wantRefused(t *testing.T, b *breaker.Breaker) *breaker.OpenError {
	t.Helper()
	p, err := b.Allow()
	if err == nil {
		p.Done(breaker.Skipped)
		t.Fatalf("Allow in state %v: allowed, want refused", b.State())
	}
	if !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("Allow: %v does not match ErrOpen", err)
	}
	var oe *breaker.OpenError
	if !errors.As(err, &oe) {
		t.Fatalf("Allow: %T is not an *OpenError", err)
	}
	return oe
}

// noRate turns the rate rules off, leaving consecutive failures.
var noRate = breaker.WithTimeWindow(0, 0)

// tripped opens b with consecutive failures (b must trip on one failure).
func trip(t *testing.T, b *breaker.Breaker) {
	t.Helper()
	call(t, b, breaker.Failed)
	wantState(t, b, breaker.StateOpen)
}

func TestNewRefusesInvalidOptions(t *testing.T) {
	tests := []struct {
		opt  breaker.Option
		want string
	}{
		{breaker.WithConsecutiveFailures(-1), "breaker: WithConsecutiveFailures(-1): must be at least 0"},
		{breaker.WithFailureRate(1.5), "breaker: WithFailureRate(1.5): must be in (0, 1]"},
		{breaker.WithFailureRate(0), "breaker: WithFailureRate(0): must be in (0, 1]"},
		{breaker.WithMinCalls(0), "breaker: WithMinCalls(0): must be at least 1"},
		{breaker.WithTimeWindow(-time.Second, 10), "breaker: WithTimeWindow(-1s, 10): span must be positive"},
		{breaker.WithTimeWindow(time.Second, 0), "breaker: WithTimeWindow(1s, 0): buckets must be in [1, 1000]"},
		{breaker.WithTimeWindow(time.Millisecond, 10), "breaker: WithTimeWindow(1ms, 10): each bucket must span at least 1ms"},
		{breaker.WithCountWindow(0), "breaker: WithCountWindow(0): must be in [1, 1048576]"},
		{breaker.WithSlowCalls(0, 0.5), "breaker: WithSlowCalls(0s, 0.5): threshold must be positive"},
		{breaker.WithSlowCalls(time.Second, 2), "breaker: WithSlowCalls(1s, 2): rate must be in (0, 1]"},
		{breaker.WithOpenDuration(0, time.Second), "breaker: WithOpenDuration(0s, 1s): both durations must be positive"},
		{breaker.WithOpenDuration(time.Second, -1), "breaker: WithOpenDuration(1s, -1ns): both durations must be positive"},
		{breaker.WithOpenDuration(5*time.Second, time.Second), "breaker: WithOpenDuration(5s, 1s): max must be at least first"},
		{breaker.WithOpenJitter(1), "breaker: WithOpenJitter(1): must be in [0, 1)"},
		{breaker.WithHalfOpen(0, 2), "breaker: WithHalfOpen(0, 2): probes must be in [1, 65536]"},
		{breaker.WithHalfOpen(3, 0), "breaker: WithHalfOpen(3, 0): successes must be at least 1"},
		{breaker.WithProbeTimeout(0), "breaker: WithProbeTimeout(0s): must be positive"},
		{breaker.WithOnStateChange(nil), "breaker: WithOnStateChange(nil): the hook must not be nil"},
		{breaker.WithRandSource(nil), "breaker: WithRandSource(nil): the source must not be nil"},
		{nil, "breaker: nil Option"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			b, err := breaker.New(tc.opt)
			if err == nil || b != nil {
				t.Fatalf("New = %v, %v; want an error", b, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error = %q, want %q", err, tc.want)
			}
		})
	}
	t.Run("an open duration that does not grow", func(t *testing.T) {
		if _, err := breaker.New(breaker.WithOpenDuration(2*time.Minute, 2*time.Minute)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("several errors", func(t *testing.T) {
		_, err := breaker.New(breaker.WithMinCalls(0), breaker.WithHalfOpen(0, 2))
		if err == nil || !strings.Contains(err.Error(), "WithMinCalls") || !strings.Contains(err.Error(), "WithHalfOpen") {
			t.Fatalf("error = %v, want both options named", err)
		}
	})
}

func TestConsecutiveFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, rec := newBreaker(t, noRate, breaker.WithConsecutiveFailures(3))
		calls(t, b, 2, breaker.Failed)
		call(t, b, breaker.Succeeded) // resets the run
		calls(t, b, 2, breaker.Failed)
		call(t, b, breaker.Skipped) // does not
		wantState(t, b, breaker.StateClosed)
		if c := b.Counts(); c.ConsecutiveFailures != 2 || c.Failures != 4 || c.Successes != 1 {
			t.Fatalf("counts = %+v, want 2 consecutive, 4 failures, 1 success", c)
		}
		call(t, b, breaker.Failed)
		wantState(t, b, breaker.StateOpen)
		if got := rec.String(); got != "closed>open" {
			t.Fatalf("transitions = %q", got)
		}
		if c := b.Counts(); c.ConsecutiveFailures != 3 || c.Failures != 5 {
			t.Fatalf("counts while open = %+v, want those of the trip", c)
		}
	})
}

func TestConsecutiveFailuresOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBreaker(t, breaker.WithConsecutiveFailures(0), breaker.WithCountWindow(1000), breaker.WithMinCalls(1000))
		calls(t, b, 100, breaker.Failed)
		wantState(t, b, breaker.StateClosed)
	})
}

func TestFailureRateNeedsMinCalls(t *testing.T) {
	tests := []struct {
		name string
		opts []breaker.Option
	}{
		{"time window", nil},
		{"count window", []breaker.Option{breaker.WithCountWindow(100)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := append([]breaker.Option{breaker.WithConsecutiveFailures(0)}, tc.opts...)
				b, _ := newBreaker(t, opts...) // 50 %, at least 20 calls
				calls(t, b, 19, breaker.Failed)
				wantState(t, b, breaker.StateClosed) // 100 % of 19 calls: too few
				call(t, b, breaker.Failed)
				wantState(t, b, breaker.StateOpen)
			})
		})
	}
}

func TestFailureRateThreshold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBreaker(t, breaker.WithConsecutiveFailures(0)) // 50 %, at least 20 calls
		calls(t, b, 11, breaker.Succeeded)
		calls(t, b, 9, breaker.Failed)
		call(t, b, breaker.Failed) // 10 of 21
		wantState(t, b, breaker.StateClosed)
		if c := b.Counts(); (c.Successes+c.Failures) != 21 || c.Failures != 10 {
			t.Fatalf("counts = %+v", c)
		}
		calls(t, b, 5, breaker.Succeeded) // successes never trip
		call(t, b, breaker.Failed)        // 11 of 27
		wantState(t, b, breaker.StateClosed)
		for b.State() == breaker.StateClosed {
			call(t, b, breaker.Failed)
		}
		if c := b.Counts(); c.Failures != 16 || c.Successes != 16 {
			t.Fatalf("tripped with %+v, want at 16 of 32", c)
		}
	})
}

func TestCountWindowSlides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBreaker(t, breaker.WithConsecutiveFailures(0), breaker.WithCountWindow(10),
			breaker.WithMinCalls(10), breaker.WithFailureRate(0.5))
		calls(t, b, 4, breaker.Failed)
		calls(t, b, 10, breaker.Succeeded) // the failures slide out
		if c := b.Counts(); (c.Successes+c.Failures) != 10 || c.Failures != 0 {
			t.Fatalf("counts = %+v, want 10 successes", c)
		}
		calls(t, b, 4, breaker.Failed) // 4 of the last 10
		wantState(t, b, breaker.StateClosed)
		call(t, b, breaker.Failed) // 5 of the last 10
		wantState(t, b, breaker.StateOpen)
	})
}

func TestTimeWindowExpiresOldBuckets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 10 s in 10 buckets of 1 s; the window starts with the first call.
		b, _ := newBreaker(t, breaker.WithConsecutiveFailures(0))
		calls(t, b, 10, breaker.Failed) // bucket [0 s, 1 s)
		time.Sleep(5 * time.Second)
		calls(t, b, 5, breaker.Failed) // bucket [5 s, 6 s)
		time.Sleep(5*time.Second - 1)  // 9.999… s: both buckets are in the window
		synctest.Wait()
		if c := b.Counts(); c.Failures != 15 {
			t.Fatalf("at 10s-1ns: counts = %+v, want 15 failures", c)
		}
		time.Sleep(time.Nanosecond) // 10 s: the first bucket leaves the window
		synctest.Wait()
		if c := b.Counts(); c.Failures != 5 {
			t.Fatalf("at 10s: counts = %+v, want 5 failures", c)
		}
		calls(t, b, 14, breaker.Failed) // 19 in the window: too few to trip
		wantState(t, b, breaker.StateClosed)
		time.Sleep(20 * time.Second) // the timer sleeps when a bucket passes without calls
		if c := b.Counts(); (c.Successes + c.Failures) != 0 {
			t.Fatalf("after 20 s idle: counts = %+v, want none", c)
		}
		calls(t, b, 19, breaker.Failed)
		wantState(t, b, breaker.StateClosed)
		call(t, b, breaker.Failed)
		wantState(t, b, breaker.StateOpen)
	})
}

func TestTimeWindowAfterIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBreaker(t, breaker.WithConsecutiveFailures(0), breaker.WithTimeWindow(4*time.Second, 4))
		calls(t, b, 3, breaker.Failed)
		time.Sleep(90 * time.Second) // timer asleep since the bucket after the calls
		// A late report of a permit given before the sleep lands in the
		// current bucket, not in an old one.
		p, _ := b.Allow()
		time.Sleep(30 * time.Second)
		p.Done(breaker.Failed)
		if c := b.Counts(); c.Failures != 1 {
			t.Fatalf("counts = %+v, want only the late failure", c)
		}
		time.Sleep(4 * time.Second)
		if c := b.Counts(); c.Failures != 0 {
			t.Fatalf("counts = %+v, want none", c)
		}
	})
}

func TestSlowCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBreaker(t, breaker.WithConsecutiveFailures(0), breaker.WithCountWindow(4), breaker.WithMinCalls(4),
			breaker.WithSlowCalls(time.Second, 0.5))
		slowCall := func(d time.Duration, r breaker.Verdict) {
			p, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(d)
			p.Done(r)
		}
		slowCall(999*time.Millisecond, breaker.Succeeded)
		slowCall(time.Second, breaker.Succeeded) // slow
		slowCall(10*time.Millisecond, breaker.Succeeded)
		if c := b.Counts(); c.Slow != 1 || (c.Successes+c.Failures) != 3 {
			t.Fatalf("counts = %+v, want 1 slow of 3", c)
		}
		wantState(t, b, breaker.StateClosed)
		slowCall(2*time.Second, breaker.Succeeded) // 2 slow of 4
		wantState(t, b, breaker.StateOpen)
		if c := b.Counts(); c.Slow != 2 || c.Failures != 0 {
			t.Fatalf("counts at trip = %+v", c)
		}
	})
}

func TestSlowProbeReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, rec := newBreaker(t, noRate, breaker.WithConsecutiveFailures(1), breaker.WithOpenJitter(0),
			breaker.WithSlowCalls(time.Second, 1))
		trip(t, b)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		p, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		p.Done(breaker.Succeeded)
		if got := rec.String(); got != "closed>open open>half_open half_open>open" {
			t.Fatalf("transitions = %q", got)
		}
	})
}

func TestOpenThenHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, rec := newBreaker(t, noRate, breaker.WithConsecutiveFailures(1), breaker.WithOpenJitter(0))
		start := time.Now()
		trip(t, b)
		if rem := wantRefused(t, b).RefusesFor(); rem != 5*time.Second {
			t.Fatalf("RefusesFor = %v, want 5s", rem)
		}
		time.Sleep(5*time.Second - 1)
		synctest.Wait()
		wantState(t, b, breaker.StateOpen)
		if rem := wantRefused(t, b).RefusesFor(); rem != 1 {
			t.Fatalf("RefusesFor = %v, want 1ns", rem)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		wantState(t, b, breaker.StateHalfOpen)
		if at := rec.last().at.Sub(start); at != 5*time.Second {
			t.Fatalf("half-open after %v, want 5s", at)
		}
		if rem := b.RefusesFor(); rem != 0 {
			t.Fatalf("RefusesFor when half-open = %v", rem)
		}
	})
}

func TestHalfOpenProbeLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBreaker(t, noRate, breaker.WithConsecutiveFailures(1), breaker.WithHalfOpen(3, 2))
		trip(t, b)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		var ps []breaker.Permit
		for range 3 {
			p, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
		if c := b.Counts(); c.Probes != 3 {
			t.Fatalf("probes = %d, want 3", c.Probes)
		}
		if rem := wantRefused(t, b).RefusesFor(); rem != 0 {
			t.Fatalf("RefusesFor = %v, want 0 when half-open", rem)
		}
		ps[0].Done(breaker.Skipped) // gives the permit back, counts nothing
		wantState(t, b, breaker.StateHalfOpen)
		p, err := b.Allow()
		if err != nil {
			t.Fatalf("after a probe was ignored: %v", err)
		}
		wantRefused(t, b)
		p.Done(breaker.Succeeded)
		ps[1].Done(breaker.Succeeded)
		wantState(t, b, breaker.StateClosed)
		ps[2].Done(breaker.Failed) // a probe of the past state: not counted
		wantState(t, b, breaker.StateClosed)
		if c := b.Counts(); (c.Successes + c.Failures) != 0 {
			t.Fatalf("counts after closing = %+v, want none", c)
		}
	})
}

func TestReopenDoublesOpenTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, rec := newBreaker(t, noRate, breaker.WithConsecutiveFailures(1), breaker.WithOpenJitter(0),
			breaker.WithHalfOpen(3, 1))
		trip(t, b)
		for _, want := range []time.Duration{5, 10, 20, 40, 60, 60} {
			want *= time.Second
			openedAt := rec.last().at
			if rem := b.RefusesFor(); rem != want {
				t.Fatalf("RefusesFor = %v, want %v", rem, want)
			}
			time.Sleep(want)
			synctest.Wait()
			wantState(t, b, breaker.StateHalfOpen)
			if got := rec.last().at.Sub(openedAt); got != want {
				t.Fatalf("open for %v, want %v", got, want)
			}
			call(t, b, breaker.Failed) // reopens
			wantState(t, b, breaker.StateOpen)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		call(t, b, breaker.Succeeded) // closes: the open time starts over
		wantState(t, b, breaker.StateClosed)
		trip(t, b)
		if rem := b.RefusesFor(); rem != 5*time.Second {
			t.Fatalf("RefusesFor after closing = %v, want 5s", rem)
		}
	})
}

func TestOpenJitterBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, rec := newBreaker(t, noRate, breaker.WithConsecutiveFailures(1), breaker.WithHalfOpen(3, 1),
			breaker.WithOpenJitter(0.5), breaker.WithRandSource(rand.NewPCG(1, 2)),
			breaker.WithOpenDuration(time.Second, 4*time.Second))
		seen := map[time.Duration]bool{}
		level := 0
		for i := range 200 {
			trip(t, b)
			d := min(time.Second<<level, 4*time.Second)
			rem := b.RefusesFor()
			if rem <= d/2 || rem > d {
				t.Fatalf("trip %d (level %d): open for %v, want in (%v, %v]", i, level, rem, d/2, d)
			}
			seen[rem] = true
			openedAt := rec.last().at
			time.Sleep(rem)
			synctest.Wait()
			wantState(t, b, breaker.StateHalfOpen)
			if got := rec.last().at.Sub(openedAt); got != rem {
				t.Fatalf("half-open after %v, Remaining said %v", got, rem)
			}
			if i%5 == 4 {
				call(t, b, breaker.Succeeded) // close: back to level 0
				level = 0
				continue
			}
			level++
		}
		if len(seen) < 100 {
			t.Fatalf("only %d distinct open times in 200 trips", len(seen))
		}
	})
}

func TestProbeReclaim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, rec := newBreaker(t, noRate, breaker.WithConsecutiveFailures(1), breaker.WithHalfOpen(2, 1))
		trip(t, b)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		stuck, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		other, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		wantRefused(t, b)
		time.Sleep(20*time.Second - 1) // the stuck probe is 30 s old minus 1 ns
		wantRefused(t, b)
		time.Sleep(time.Nanosecond)
		p, err := b.Allow() // takes the stuck probe's permit
		if err != nil {
			t.Fatalf("after 30 s: %v", err)
		}
		wantRefused(t, b) // the other probe is only 20 s old
		stuck.Done(breaker.Failed)
		wantState(t, b, breaker.StateHalfOpen) // its late report is ignored
		if got := rec.String(); got != "closed>open open>half_open" {
			t.Fatalf("transitions = %q", got)
		}
		p.Done(breaker.Skipped)
		other.Done(breaker.Succeeded)
		wantState(t, b, breaker.StateClosed)
	})
}

func TestModes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, rec := newBreaker(t, noRate, breaker.WithConsecutiveFailures(2), breaker.WithOpenJitter(0))

		b.SetMode(breaker.ModeForcedOpen)
		wantState(t, b, breaker.StateForcedOpen)
		if rem := wantRefused(t, b).RefusesFor(); rem != 0 {
			t.Fatalf("RefusesFor when forced open = %v", rem)
		}
		b.Reset() // does nothing in this mode
		wantState(t, b, breaker.StateForcedOpen)

		b.SetMode(breaker.ModeDisabled)
		wantState(t, b, breaker.StateDisabled)
		calls(t, b, 50, breaker.Failed)
		wantState(t, b, breaker.StateDisabled)
		if c := b.Counts(); c != (breaker.Counts{}) {
			t.Fatalf("counts when disabled = %+v", c)
		}

		b.SetMode(breaker.ModeMetricsOnly)
		wantState(t, b, breaker.StateClosed)
		calls(t, b, 2, breaker.Failed)
		wantState(t, b, breaker.StateOpen) // it would be open…
		calls(t, b, 10, breaker.Failed)    // …but lets calls through, unrecorded
		time.Sleep(5 * time.Second)
		synctest.Wait()
		wantState(t, b, breaker.StateHalfOpen)
		probes := make([]breaker.Permit, 3)
		for i := range probes {
			probes[i], _ = b.Allow()
		}
		calls(t, b, 5, breaker.Failed) // beyond the probes: unrecorded
		wantState(t, b, breaker.StateHalfOpen)
		probes[0].Done(breaker.Succeeded)
		probes[1].Done(breaker.Succeeded)
		wantState(t, b, breaker.StateClosed)

		b.SetMode(breaker.ModeNormal)
		wantState(t, b, breaker.StateClosed)
		calls(t, b, 2, breaker.Failed)
		wantRefused(t, b)
		b.Reset()
		wantState(t, b, breaker.StateClosed)
		if b.CurrentMode() != breaker.ModeNormal {
			t.Fatalf("mode = %v", b.CurrentMode())
		}
		want := "closed>forced_open forced_open>disabled disabled>closed closed>open open>half_open half_open>closed closed>open open>closed"
		if got := rec.String(); got != want {
			t.Fatalf("transitions:\n got %s\nwant %s", got, want)
		}
	})
}

func TestSetModeUnknownPanics(t *testing.T) {
	b, _ := newBreaker(t)
	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "breaker: SetMode(9): unknown mode") {
			t.Fatalf("panic = %v", p)
		}
	}()
	b.SetMode(9)
}

func TestStalePermitsAreNotCounted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBreaker(t, noRate, breaker.WithConsecutiveFailures(2))
		old, _ := b.Allow()
		b.Reset()
		old.Done(breaker.Failed)
		call(t, b, breaker.Failed)
		wantState(t, b, breaker.StateClosed) // one failure counted, not two
		if c := b.Counts(); c.Failures != 1 {
			t.Fatalf("counts = %+v", c)
		}
		var zero breaker.Permit
		zero.Done(breaker.Failed) // the zero permit ignores its report
	})
}

func TestHooksRunOutsideTheLock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b *breaker.Breaker
		var got []string
		hook := func(from, to breaker.State) {
			// Calling back into the breaker must not deadlock.
			got = append(got, fmt.Sprintf("%v>%v(state %v, %+v)", from, to, b.State(), b.Counts().Probes))
			if to == breaker.StateOpen && len(got) == 1 {
				b.SetMode(breaker.ModeForcedOpen) // a change made by a hook is reported after it
			}
		}
		var err error
		b, err = breaker.New(noRate, breaker.WithConsecutiveFailures(1), breaker.WithOnStateChange(hook),
			breaker.WithOnStateChange(func(from, to breaker.State) { got = append(got, "second hook") }))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		call(t, b, breaker.Failed)
		want := []string{"closed>open(state open, 0)", "second hook", "open>forced_open(state forced_open, 0)", "second hook"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("hooks:\n got %q\nwant %q", got, want)
		}
	})
}

func TestHookPanicDoesNotWedge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		b, err := breaker.New(noRate, breaker.WithConsecutiveFailures(1), breaker.WithOnStateChange(func(from, to breaker.State) {
			if n++; n == 1 {
				panic("hook")
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		func() {
			defer func() { _ = recover() }()
			call(t, b, breaker.Failed)
		}()
		b.Reset()
		if n != 2 {
			t.Fatalf("hook ran %d times, want 2", n)
		}
	})
}

func TestOpenErrorMessage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBreaker(t, noRate, breaker.WithConsecutiveFailures(1), breaker.WithOpenJitter(0))
		trip(t, b)
		oe := wantRefused(t, b)
		if got := oe.Error(); got != "breaker: circuit open, retry in 5s" {
			t.Fatalf("Error = %q", got)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if got := oe.Error(); got != "breaker: circuit open" {
			t.Fatalf("Error = %q", got)
		}
	})
}

func TestStrings(t *testing.T) {
	tests := []struct{ got, want string }{
		{breaker.StateHalfOpen.String(), "half_open"},
		{breaker.State(42).String(), "state(42)"},
		{breaker.ModeMetricsOnly.String(), "metrics_only"},
		{breaker.Mode(42).String(), "mode(42)"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

// TestConcurrentUse runs calls from many goroutines through every state, for
// the race detector.
func TestConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, rec := newBreaker(t, breaker.WithMinCalls(10), breaker.WithOpenDuration(time.Second, time.Minute),
			breaker.WithSlowCalls(50*time.Millisecond, 0.9))
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(g), 0))
				for range 2000 {
					p, err := b.Allow()
					if err != nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					time.Sleep(time.Duration(r.IntN(60)) * time.Millisecond)
					p.Done(breaker.Verdict(r.IntN(3)))
					_ = b.Counts()
				}
			})
		}
		wg.Wait()
		if !strings.Contains(rec.String(), "closed>open") {
			t.Fatalf("never tripped: %q", rec.String())
		}
	})
}

func (c change) String() string {
	return fmt.Sprintf("%v>%v at %v", c.from, c.to, c.at.Format(time.TimeOnly+".000000000"))
}

// TestRefusesFor: how long the breaker will refuse every call, in each
// state and mode.
func TestRefusesFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, _ := newBreaker(t, noRate, breaker.WithConsecutiveFailures(1),
			breaker.WithOpenDuration(time.Second, time.Minute), breaker.WithOpenJitter(0))
		if d := b.RefusesFor(); d != 0 {
			t.Errorf("closed: %v; want 0", d)
		}
		call(t, b, breaker.Failed)
		time.Sleep(300 * time.Millisecond) // fake time: part of the open time passes
		if d := b.RefusesFor(); d != 700*time.Millisecond {
			t.Errorf("open for 1s, 300ms ago: %v; want 700ms", d)
		}
		time.Sleep(700 * time.Millisecond)
		synctest.Wait()
		if s, d := b.State(), b.RefusesFor(); s != breaker.StateHalfOpen || d != 0 {
			t.Errorf("after the open time: %v, %v; want half-open and 0 (a probe may pass)", s, d)
		}
		b.SetMode(breaker.ModeForcedOpen)
		if d := b.RefusesFor(); d != math.MaxInt64 {
			t.Errorf("forced open: %v; want math.MaxInt64", d)
		}
		b.SetMode(breaker.ModeMetricsOnly)
		call(t, b, breaker.Failed)
		if s, d := b.State(), b.RefusesFor(); s != breaker.StateOpen || d != 0 {
			t.Errorf("metrics-only, tripped: %v, %v; want open and 0: it refuses nothing", s, d)
		}
		b.SetMode(breaker.ModeDisabled)
		if d := b.RefusesFor(); d != 0 {
			t.Errorf("disabled: %v; want 0", d)
		}
	})
}
