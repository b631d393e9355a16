package chaos_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
)

// The service's healthy latency in every scenario but overload.
const latency = 10 * time.Millisecond

// hedgeDelay is the hedging delay of the slow-dependency scenario's hedged
// run: five times the healthy latency.
const hedgeDelay = 50 * time.Millisecond

// pushback is the delay the Bulwark server asks overload-rejected callers
// to wait (concurrency.WithRetryAfter's default).
const pushback = 100 * time.Millisecond

// checkBare checks what holds for every bare run: gRPC does not retry, so
// exactly one attempt per call reaches the server.
func checkBare(t *testing.T, r *result) {
	t.Helper()
	if len(r.arrivals) != len(r.calls) {
		t.Errorf("bare: %d attempts reached the server for %d calls; want exactly one per call", len(r.arrivals), len(r.calls))
	}
}

// checkBulwark checks what holds for every Bulwark run: the deadline covers
// all attempts, so no call outlives it.
func checkBulwark(t *testing.T, r *result) {
	t.Helper()
	if d := latencies(r.calls, false); d[len(d)-1] > deadlineAll {
		t.Errorf("%s: the slowest call took %v; the deadline (%v) covers all attempts", r.mode, d[len(d)-1], deadlineAll)
	}
}

// checkClosed checks that the breaker never left the closed state.
func checkClosed(t *testing.T, r *result, why string) {
	t.Helper()
	if len(r.transitions) != 0 || r.final != breaker.StateClosed {
		t.Errorf("%s: breaker went %v and ended %v; want closed throughout: %s", r.mode, r.transitions, r.final, why)
	}
}

// budgetBound is the most attempts per call the retry budget allows when a
// run's retries all fall in one 10 s budget window: one per call, plus
// retries of at most 20% of the calls plus 10/s × 10 s.
func budgetBound(calls int) float64 {
	return 1 + budgetRatio + budgetFlat/float64(calls)
}

// Healthy: a service that answers every call in 10 ms. Bulwark must cost
// nothing a caller can see.
func TestHealthy(t *testing.T) {
	sc := scenario{name: "healthy", config: greeter.Config{Latency: latency}, rate: 100, duration: 5 * time.Second}
	runs := compare(t, sc)
	b, w := runs[0], runs[1]
	checkBare(t, b)
	checkBulwark(t, w)
	for _, r := range runs {
		if ok := okCount(r.calls); ok != len(r.calls) {
			t.Errorf("%s: %d of %d calls succeeded; want all", r.mode, ok, len(r.calls))
		}
		// Nothing fails, so nothing is retried or hedged.
		if len(r.arrivals) != len(r.calls) {
			t.Errorf("%s: %d attempts for %d calls; want one each", r.mode, len(r.arrivals), len(r.calls))
		}
		// In fake time bufconn and the interceptors take no time, and at
		// 100 calls/s of 10 ms no call waits for another: every call
		// takes exactly the service's latency, in both modes.
		if d := latencies(r.calls, false); d[0] != latency || d[len(d)-1] != latency {
			t.Errorf("%s: calls took from %v to %v; want exactly %v each", r.mode, d[0], d[len(d)-1], latency)
		}
	}
	checkClosed(t, w, "nothing failed")
}

// Flaky: 30% of the attempts fail with UNAVAILABLE, each drawn on its own.
// Retries make Bulwark's calls succeed where bare gRPC's fail.
func TestFlaky(t *testing.T) {
	const failRate = 0.3
	// 40 calls/s for 9.5 s: every retry falls in one 10 s budget window,
	// and the retries the calls need (0.3 + 0.09 per call: 0.39 × 380 ≈
	// 148) stay under what the budget allows (0.2 × 380 + 100 = 176), so
	// that every call gets its three attempts.
	sc := scenario{
		name:   "flaky",
		config: greeter.Config{Latency: latency, FailRate: failRate, FailCode: "UNAVAILABLE"},
		rate:   40, duration: 9500 * time.Millisecond,
	}
	runs := compare(t, sc)
	b, w := runs[0], runs[1]
	checkBare(t, b)
	checkBulwark(t, w)
	n := float64(len(b.calls))

	// Bare makes one attempt per call, so it succeeds as often as an
	// attempt does: 70%, within 4 standard deviations of the binomial
	// (sqrt(0.21/n) ≈ 2.4 points).
	if got, want := successRate(b.calls), 1-failRate; math.Abs(got-want) > 4*math.Sqrt(failRate*(1-failRate)/n) {
		t.Errorf("bare success %.3f; want %.2f, one attempt per call", got, want)
	}
	// Bulwark fails a call only when its three attempts all fail: 0.3³ =
	// 2.7%, about 10 calls, with a standard deviation of about 3. 95% is
	// more than 3 standard deviations below the expected 97.3%.
	if got := successRate(w.calls); got < 0.95 {
		t.Errorf("bulwark success %.3f; want at least 0.95 (three attempts fail together 2.7%% of the time)", got)
	}
	if d := successRate(w.calls) - successRate(b.calls); d < 0.2 {
		t.Errorf("bulwark is %.1f points ahead of bare; want at least 20", 100*d)
	}
	// Amplification: at most the retry budget's, and at most the attempts
	// per call; more than one, since a third of the first attempts fail.
	if a := w.amplification(); a > budgetBound(len(w.calls)) || a > maxAttempts || a < 1+failRate/2 {
		t.Errorf("bulwark amplification %.3f; want between %.2f and the budget's %.3f", a, 1+failRate/2, budgetBound(len(w.calls)))
	}
	// Latency: every attempt takes 10 ms, failed or not, so a call that
	// needs all three attempts takes 3 × 10 ms plus the two backoffs
	// (100 ms, 200 ms, no jitter): 330 ms is the most any call can take.
	if d := latencies(w.calls, false); d[len(d)-1] > 3*latency+backoff1+backoff2 {
		t.Errorf("bulwark: slowest call %v; want at most %v (three attempts and two backoffs)", d[len(d)-1], 3*latency+backoff1+backoff2)
	}
	if p50 := percentile(latencies(w.calls, false), 50); p50 != latency {
		t.Errorf("bulwark p50 %v; want %v: most first attempts succeed", p50, latency)
	}
	// The failure rate (30%) is below the breaker's 50%.
	checkClosed(t, w, "30% of failures is under the 50% failure rate")
}

// Blip: the service fails every call for 300 ms (a restart, a failover),
// then recovers. Bulwark's retries ride over it; the breaker, which trips
// on the failure rate, does not open for it.
func TestBlip(t *testing.T) {
	const from, to = 2 * time.Second, 2300 * time.Millisecond
	sc := scenario{
		name:   "blip",
		config: greeter.Config{Latency: latency},
		phases: []phase{
			{at: from, name: "down", change: func(c *greeter.Config) { c.FailRate, c.FailCode = 1, "UNAVAILABLE" }},
			{at: to, name: "up", change: func(c *greeter.Config) { c.FailRate = 0 }},
		},
		rate: 50, duration: 5 * time.Second,
	}
	runs := compare(t, sc)
	b, w := runs[0], runs[1]
	checkBare(t, b)
	checkBulwark(t, w)

	// Bare fails exactly the calls that reached the service while it was
	// down.
	inBlip := len(b.between(from, to))
	for _, c := range b.calls {
		down := c.start >= from && c.start < to
		if down != (c.err != nil) {
			t.Errorf("bare call at %v: err %v; want failures exactly during the blip", c.start, c.err)
		}
	}
	// Bulwark: a call's third attempt starts 2 × 10 ms + 100 ms + 200 ms =
	// 320 ms after its first, after the end of a 300 ms blip, and the
	// budget (100 retries and more) covers the at most 2 × 15 retries.
	if ok := okCount(w.calls); ok != len(w.calls) {
		t.Errorf("bulwark: %d of %d calls succeeded; want all: the retries outlast the blip (%s)", ok, len(w.calls), reasons(w.calls))
	}
	if successRate(w.calls) <= successRate(b.calls) {
		t.Errorf("bulwark success %.3f is not ahead of bare's %.3f", successRate(w.calls), successRate(b.calls))
	}
	if a, most := w.amplification(), 1+2*float64(inBlip)/float64(len(w.calls)); a > most {
		t.Errorf("bulwark amplification %.3f; want at most %.3f: only the calls of the blip retry, twice at most", a, most)
	}
	if d := latencies(w.calls, false); d[len(d)-1] > 3*latency+backoff1+backoff2 {
		t.Errorf("bulwark: slowest call %v; want at most %v", d[len(d)-1], 3*latency+backoff1+backoff2)
	}
	// The window holds 2 s of successes (100 calls) when the blip's ~25
	// failed attempts come: a failure rate under 50%.
	checkClosed(t, w, "a blip does not reach the 50% failure rate")
}

// Outage and recovery: for 4 s the service is down, then it recovers. It
// goes down in two ways: it fails every call at once with UNAVAILABLE, or it
// hangs, so that every attempt waits until its caller gives up. Bulwark's
// breaker opens, refuses calls at once without sending them, probes, and
// closes after the recovery; bare gRPC keeps sending every call (and, while
// the service hangs, waits the whole deadline for each). The breaker costs
// the client the calls it refuses after the recovery, before a probe finds
// the service up: Bulwark is not ahead on success here, and the test bounds
// what it loses.
func TestOutageAndRecovery(t *testing.T) {
	const rate = 50
	const down, up = 2 * time.Second, 6 * time.Second
	for _, tc := range []struct {
		name string
		// fail is how the service goes down.
		fail func(*greeter.Config)
		// failTime is how long a bare call takes to fail during the
		// outage; tripDelay how long after an attempt starts the
		// client's breaker learns that it failed.
		failTime, tripDelay time.Duration
	}{
		{
			name:     "outage",
			fail:     func(c *greeter.Config) { c.FailRate, c.FailCode = 1, "UNAVAILABLE" },
			failTime: latency, tripDelay: latency,
		},
		{
			// The per-attempt timeout is what makes a hang a failure
			// for the breaker: the caller's own deadline expiring is
			// not the server's fault (outcome.Ignored), so without it a
			// hung server would never open the breaker.
			name:     "hang",
			fail:     func(c *greeter.Config) { c.Latency = greeter.MaxDelay },
			failTime: deadlineAll, tripDelay: attemptTimeout,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := scenario{
				name:   tc.name,
				config: greeter.Config{Latency: latency},
				phases: []phase{
					{at: down, name: "down", change: tc.fail},
					{at: up, name: "up", change: func(c *greeter.Config) { *c = greeter.Config{Latency: latency} }},
				},
				rate: rate, duration: 12 * time.Second,
			}
			runs := compare(t, sc)
			checkOutage(t, sc, runs[0], runs[1], down, up, tc.failTime, tc.tripDelay)
		})
	}
}

// checkOutage checks an outage from down to up.
func checkOutage(t *testing.T, sc scenario, b, w *result, down, up, failTime, tripDelay time.Duration) {
	t.Helper()
	checkBare(t, b)
	checkBulwark(t, w)
	every := interval(sc.rate)

	// Bare fails exactly the calls made during the outage, each after
	// failTime.
	for _, c := range b.calls {
		outage := c.start >= down && c.start < up
		if outage != (c.err != nil) || outage && c.took != failTime {
			t.Errorf("bare call at %v: %v after %v; want failures exactly during the outage, after %v", c.start, c.err, c.took, failTime)
		}
	}

	tr := w.transitions
	if len(tr) < 3 || tr[0].to != breaker.StateOpen || tr[len(tr)-1].to != breaker.StateClosed {
		t.Fatalf("breaker transitions %v; want it to open, probe and close", tr)
	}
	// It opens on the failure rate: the 10 s window holds at most 2 s of
	// successes (100 calls) when the outage begins, and from tripDelay on
	// at least 50 attempts fail per second, so failures outnumber
	// successes within 2 s + tripDelay.
	if at := tr[0].at; at < down || at > down+2*time.Second+tripDelay {
		t.Errorf("breaker opened at %v; want within %v of the outage at %v", at, 2*time.Second+tripDelay, down)
	}
	reopens := 0
	for i, x := range tr {
		end := sc.duration + deadlineAll
		if i+1 < len(tr) {
			end = tr[i+1].at
		}
		switch x.to {
		case breaker.StateOpen:
			// Open: nothing reaches the server; every call that starts
			// fails at once with the breaker's error, in 0 fake time.
			if n := w.arrivedBetween(x.at, end); n != 0 {
				t.Errorf("%d attempts reached the server while the breaker was open (%v to %v)", n, x.at, end)
			}
			for _, c := range w.between(x.at, end) {
				if !errors.Is(c.err, breaker.ErrOpen) || c.took != 0 {
					t.Errorf("call at %v while open: %v after %v; want the breaker's refusal at once", c.start, c.err, c.took)
				}
			}
			// The open time doubles on each reopening, and jitter only
			// shortens it, by at most 20%.
			most := openMax << reopens
			if d := end - x.at; d > most || d < most*8/10 {
				t.Errorf("breaker open for %v; want between %v and %v", d, most*8/10, most)
			}
			if x.from == breaker.StateHalfOpen {
				reopens++
			}
		case breaker.StateHalfOpen:
			// Half-open: at most the three probes reach the server, and
			// during the outage they fail and it opens again.
			if n := w.arrivedBetween(x.at, end); n > probes {
				t.Errorf("%d attempts reached the server while half-open (%v to %v); want at most %d probes", n, x.at, end, probes)
			}
			if x.at < up && (i+1 >= len(tr) || tr[i+1].to != breaker.StateOpen) {
				t.Errorf("the breaker went half-open at %v, during the outage, and did not reopen: %v", x.at, tr)
			}
		}
	}
	// It cannot close before the service is up (its probes fail), and it
	// closes once two probes, the next two calls after it goes half-open,
	// have succeeded.
	closeAt, halfOpen := tr[len(tr)-1].at, tr[len(tr)-2]
	if closeAt < up || halfOpen.to != breaker.StateHalfOpen || closeAt-halfOpen.at > 2*every+latency {
		t.Errorf("breaker closed at %v, %v after it went half-open at %v; want after the recovery at %v and within two calls (%v)",
			closeAt, closeAt-halfOpen.at, halfOpen.at, up, 2*every+latency)
	}
	// So it closes within one open time (the longest it reached) and the
	// probes' time of the recovery.
	if most := up + openMax<<reopens + 2*every + latency; closeAt > most {
		t.Errorf("breaker closed at %v; want by %v (recovery + open time + probes)", closeAt, most)
	}
	// After it closes, every call succeeds again.
	if after := w.between(closeAt, sc.duration); successRate(after) != 1 {
		t.Errorf("bulwark after the breaker closed: %d of %d calls succeeded (%s); want all",
			okCount(after), len(after), reasons(after))
	}
	// Calls start at the same times in both runs: the only calls bare got
	// right and Bulwark did not are the ones its breaker refused after the
	// recovery, before the probes found the service up.
	lost := 0
	for i, c := range w.calls {
		if b.calls[i].err == nil && c.err != nil {
			lost++
			if !errors.Is(c.err, breaker.ErrOpen) || c.start < up || c.start >= closeAt {
				t.Errorf("call at %v: bare succeeded, bulwark failed with %v; want only breaker refusals between %v and %v",
					c.start, c.err, up, closeAt)
			}
		}
	}
	t.Logf("bulwark lost %d calls (%.1f%%) to the breaker in the %v after the recovery",
		lost, 100*float64(lost)/float64(len(w.calls)), closeAt-up)
	// Amplification during the outage. Before the breaker opened, each
	// call made up to three attempts (the retry budget's flat 100 retries
	// allow that burst); once it opened, only probes reached the server.
	// Bare sends every call, one attempt each.
	outage := w.between(down, up)
	beforeOpen := len(w.between(down, tr[0].at))
	halfOpens := 0
	for _, x := range tr {
		if x.to == breaker.StateHalfOpen && x.at < up {
			halfOpens++
		}
	}
	arrived := w.arrivedBetween(down, up)
	if most := maxAttempts*beforeOpen + probes*halfOpens; arrived > most || arrived >= len(outage) {
		t.Errorf("%d attempts reached the server during the outage, for %d calls; want at most %d (3 per call before the breaker opened, then %d probes) and fewer than the calls",
			arrived, len(outage), most, probes*halfOpens)
	}
	afterOpen := w.arrivedBetween(tr[0].at, up)
	if afterOpen > probes*halfOpens {
		t.Errorf("%d attempts reached the server after the breaker opened; want at most %d probes", afterOpen, probes*halfOpens)
	}
	t.Logf("attempts per call during the outage: bare 1.000, bulwark %.3f (%.3f once the breaker opened)",
		float64(arrived)/float64(len(outage)), float64(afterOpen)/float64(len(w.between(tr[0].at, up))))
}

// Overload: 400 calls/s to a service that runs 2 calls of 20 ms at once
// (100/s): four times its capacity. Bare gRPC queues every call, the queue
// outgrows the deadline and goodput collapses; Bulwark's server limiter
// (set to the 2 slots) refuses what it cannot run at once, with a pushback,
// and serves its capacity at unloaded latency.
func TestOverload(t *testing.T) {
	const work, slots, rate = 20 * time.Millisecond, 2, 400
	sc := scenario{
		name:   "overload",
		config: greeter.Config{Latency: work, Capacity: slots},
		rate:   rate, duration: 4 * time.Second,
	}
	runs := compare(t, sc)
	b, w := runs[0], runs[1]
	checkBare(t, b)
	checkBulwark(t, w)
	checkOverload(t, sc, b, w, work, slots)

	// An admitted attempt never waits for a slot, since the limit is the
	// number of slots: the service takes exactly its unloaded time.
	if d := w.serviceTimes(0, sc.duration+deadlineAll); d[0] != work || d[len(d)-1] != work {
		t.Errorf("bulwark: the service took %v to %v per admitted attempt; want exactly %v", d[0], d[len(d)-1], work)
	}
	// A call succeeds on its first attempt (20 ms) or on its one retry,
	// after the server's 100 ms pushback (120 ms); a call refused twice or
	// by the budget ends by then too.
	if p := latencies(w.calls, false); p[len(p)-1] > pushback+work {
		t.Errorf("bulwark: slowest call %v; want at most %v (pushback and one attempt)", p[len(p)-1], pushback+work)
	}
	// Bulwark's goodput is the server's capacity: a permit that frees is
	// taken by the next attempt to arrive, at most one call interval
	// (2.5 ms) later, so each slot serves at least one call per 22.5 ms.
	if ok, least := okCount(w.calls), int(slots*sc.duration/(work+interval(rate))); ok < least {
		t.Errorf("bulwark: %d calls succeeded; want at least %d, the server's capacity over the run", ok, least)
	}
}

// Overload with an adaptive server limit: the same overload, with the
// server's limit learnt by limit.Gradient (defaults) instead of set by the
// operator. It starts at 20, ten times what the service can run, and must
// settle near it.
func TestOverloadAdaptive(t *testing.T) {
	const work, slots, rate = 20 * time.Millisecond, 2, 400
	const settled = 3 * time.Second
	sc := scenario{
		name:   "adaptive",
		config: greeter.Config{Latency: work, Capacity: slots},
		rate:   rate, duration: 6 * time.Second,
		adaptive: func() concurrency.Option {
			g, err := limit.NewGradient(limit.GradientConfig{})
			if err != nil {
				panic(err)
			}
			return concurrency.WithAdaptive(g)
		},
	}
	runs := compare(t, sc)
	b, w := runs[0], runs[1]
	checkBare(t, b)
	checkBulwark(t, w)
	checkOverload(t, sc, b, w, work, slots)

	// Once settled, the limit keeps latency within the gradient's
	// tolerance (1.25) of the unloaded 20 ms, plus its headroom of at least
	// one call: with 2 slots a limit of at most 2 × 1.25 + 1, that is 3,
	// so an admitted attempt takes at most 3/2 × 20 ms = 30 ms; the bound
	// leaves room for a window of 4 while the limit moves.
	d := w.serviceTimes(settled, sc.duration)
	if p := percentile(d, 99); p > 2*work {
		t.Errorf("bulwark: the service's p99 after %v is %v; want at most %v", settled, p, 2*work)
	}
	t.Logf("service time per admitted attempt after %v: p50 %v, p99 %v (unloaded %v; bare p50 %v)", settled,
		percentile(d, 50), percentile(d, 99), work, percentile(b.serviceTimes(settled, sc.duration), 50))
	// Settled, its goodput is close to the capacity: at least 80% of it
	// (the gradient probes now and then with a lower limit).
	settledCalls := w.between(settled, sc.duration)
	if ok, least := okCount(settledCalls), int(0.8*float64(slots)*float64(sc.duration-settled)/float64(work)); ok < least {
		t.Errorf("bulwark after %v: %d calls succeeded; want at least %d (80%% of capacity)", settled, ok, least)
	}
}

// checkOverload checks what both overload scenarios share.
func checkOverload(t *testing.T, sc scenario, b, w *result, work time.Duration, slots int) {
	t.Helper()
	capacity := float64(slots) * float64(time.Second) / float64(work) // calls per second
	// Bare collapses: its backlog grows by rate − capacity a second, so a
	// call that arrives at t waits (rate/capacity − 1) × t, and once that
	// passes deadline − work, no call it serves finishes in time (it serves
	// the oldest first, which have waited the longest). Only the calls
	// before that succeed, and the slots' first ones.
	tStar := float64(deadlineAll-work) / (sc.rate/capacity - 1)
	if ok, most := okCount(b.calls), int(sc.rate*tStar/float64(time.Second))+2*slots; ok > most {
		t.Errorf("bare: %d calls succeeded; want at most %d: a FIFO backlog past the deadline serves nothing in time", ok, most)
	}
	if sb, sw := successRate(b.calls), successRate(w.calls); sw < 2*sb {
		t.Errorf("bulwark success %.3f; want at least twice bare's %.3f", sw, sb)
	}
	// The retry budget binds here: retries after the server's pushback are
	// at most 20% of the calls plus 100. And a retry is refused with a
	// stop (pushback −1) since the caller is already retrying, so no call
	// makes more than two attempts.
	if a := w.amplification(); a > budgetBound(len(w.calls)) || a > 2 {
		t.Errorf("bulwark amplification %.3f; want at most the budget's %.3f and 2", a, budgetBound(len(w.calls)))
	}
	// The server's rejections are not failures of the server for the
	// client's breaker: outcome.Default calls them Shed.
	checkClosed(t, w, "load shedding is not a failure")
}

// Slow dependency: 10% of the attempts wait 2 s for a slow dependency,
// longer than the 1 s deadline; the others take 10 ms. Bare gRPC's slow
// calls time out; Bulwark's per-attempt timeout (200 ms) gives up on a slow
// attempt and retries it, and hedging (a second attempt after 50 ms) does
// not wait for it at all.
func TestSlowDependency(t *testing.T) {
	const share = 0.1
	sc := scenario{
		name:   "slow",
		config: greeter.Config{Latency: latency, Chaos: true},
		slow:   &slowDependency{share: share, delay: 2 * time.Second},
		rate:   100, duration: 5 * time.Second,
	}
	runs := compare(t, sc, hedged)
	b, w, h := runs[0], runs[1], runs[2]
	checkBare(t, b)
	n := float64(len(b.calls))

	// Bare: a slow call fails when its deadline passes, exactly 1 s after
	// it began; about 10% of them.
	if got, want := successRate(b.calls), 1-share; math.Abs(got-want) > 4*math.Sqrt(share*(1-share)/n) {
		t.Errorf("bare success %.3f; want %.2f", got, want)
	}
	for _, c := range b.calls {
		if c.err != nil && (status.Code(c.err) != codes.DeadlineExceeded || c.took != deadlineAll) {
			t.Errorf("bare call at %v: %v after %v; want DEADLINE_EXCEEDED at the deadline", c.start, c.err, c.took)
		}
	}
	for _, r := range []*result{w, h} {
		checkBulwark(t, r)
		// A call fails only if its three attempts are all slow: 0.1%.
		if got := successRate(r.calls); got < 0.99 {
			t.Errorf("%s success %.3f; want at least 0.99 (three slow attempts in a row: 0.1%%)", r.mode, got)
		}
		if a := r.amplification(); a > budgetBound(len(r.calls)) {
			t.Errorf("%s amplification %.3f; want at most the budget's %.3f", r.mode, a, budgetBound(len(r.calls)))
		}
		// Slow attempts count as failures (10%), under the 50% rate.
		checkClosed(t, r, "10% of slow attempts is under the 50% failure rate")
	}
	// Per-attempt timeout: a call with one slow attempt takes 200 ms +
	// 100 ms backoff + 10 ms = 310 ms; with two, 710 ms. Two slow attempts
	// in a row come 1% of the time, three 0.1%: so p95 ≤ 310 ms and
	// p99 ≤ 710 ms, against bare's 1 s.
	lw := latencies(w.calls, false)
	if p95, p99 := percentile(lw, 95), percentile(lw, 99); p95 > attemptTimeout+backoff1+latency || p99 > 2*attemptTimeout+backoff1+backoff2+latency {
		t.Errorf("bulwark p95 %v, p99 %v; want at most %v and %v", p95, p99, attemptTimeout+backoff1+latency, 2*attemptTimeout+backoff1+backoff2+latency)
	}
	// Hedging: the second attempt goes after 50 ms, the third after
	// 100 ms, without waiting for the slow one: p99 ≤ 110 ms.
	lh := latencies(h.calls, false)
	if p99 := percentile(lh, 99); p99 > 2*hedgeDelay+latency {
		t.Errorf("hedged p99 %v; want at most %v", p99, 2*hedgeDelay+latency)
	}
	if p99 := percentile(latencies(b.calls, false), 99); p99 != deadlineAll {
		t.Errorf("bare p99 %v; want the deadline, %v", p99, deadlineAll)
	}
}

// Hedging against a server breaker: a healthy service takes 60 ms, a
// little more than the hedging delay (50 ms), so every hedged call sends a
// second attempt and cancels whichever loses (at 10 calls a second, within
// the retry budget's 10 a second): half the attempts the server
// sees end with their caller gone. The server answers a cancelled call as a
// handler does whose database call failed on the cancelled context (an
// UNAVAILABLE DB_ERROR). A caller that hangs up says nothing of the
// server's health: the server's breaker stays closed, although half its
// calls end in an error, at the 50% failure rate that opens it.
func TestHedgingKeepsServerBreakerClosed(t *testing.T) {
	const slowLatency = 60 * time.Millisecond
	sc := scenario{
		name:   "hedging vs server breaker",
		config: greeter.Config{Latency: slowLatency},
		// 10 calls a second: the retry budget's 10 retries a second let
		// every call hedge.
		rate:              10,
		duration:          10 * time.Second,
		serverBreaker:     true,
		canceledAsDBError: true,
	}
	runs := compare(t, sc, hedged)
	h := runs[2]
	checkBulwark(t, h)
	if a := h.amplification(); a < 1.9 {
		t.Fatalf("hedged amplification %.3f; want a hedge for nearly every call", a)
	}
	if n := h.dbErrors; n < int64(len(h.calls))*9/10 {
		t.Fatalf("the service answered %d cancelled attempts with DB_ERROR; want nearly one per call", n)
	}
	if len(h.serverTransitions) != 0 || h.serverFinal != breaker.StateClosed {
		t.Errorf("hedged: server breaker went %v and ended %v; want closed throughout: callers that hang up are not failures", h.serverTransitions, h.serverFinal)
	}
	if got := successRate(h.calls); got != 1 {
		t.Errorf("hedged success %.3f; want every call answered by a healthy server", got)
	}
}
