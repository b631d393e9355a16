package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
)

// resetFaults is the /faults query that removes every fault.
const resetFaults = "fail_rate=0&fail_code=UNAVAILABLE&latency=0s&slow_rate=0&slow_latency=0s&retry_after=0s&capacity=0"

// bulwarkServerFlags are the flags of the Bulwark server: its chain sheds
// load beyond 8 calls in flight.
var bulwarkServerFlags = []string{"-chaos", "-limit", "8"}

// bulwarkClientFlags are the flags of the Bulwark client in every
// scenario: 3 attempts at most, a second attempt when the first has not
// answered after 50ms (hedging), and a breaker that opens after 20
// failures in a row (or 50% of at least 100 calls over 10s) and stays open
// 250ms before it lets 3 probes through; while it is open, its fallback
// answers a refused call with the last reply the server sent for the same
// name. The retry budget and the default deadline are the library's.
func bulwarkClientFlags() []string {
	return []string{"-attempts", "3", "-hedge", "50ms", "-breaker-failures", "20", "-breaker-min-calls", "100",
		"-breaker-open", "250ms", "-breaker-max-open", "250ms", "-fallback"}
}

// step changes the faults while a run goes on.
type step struct {
	at     time.Duration // from the start of the run, at full scale
	faults string        // /faults query
	label  string        // what happens, for the progress line
}

// scenario is one workload and its faults, run once against the bare
// server with the bare client and once against the Bulwark server with the
// Bulwark client.
type scenario struct {
	name    string
	explain string
	faults  string        // /faults query for the whole run
	steps   []step        // changes during the run
	length  time.Duration // of a run at full scale
	rate    float64       // calls per second
	// deadline is each call's deadline.
	deadline time.Duration
	// verdict says whether Bulwark came out ahead, and on what.
	verdict func(bare, bw *runResult) (ahead bool, why string)
}

// runResult is what one run did.
type runResult struct {
	mode    string // "bare" or "bulwark"
	summary workload.Summary
	handled int64 // requests the service handled, from /stats
	window  int64 // requests the service handled between the first two steps
	took    time.Duration
	err     error
}

// share is n divided by the run's calls, 0 when it made none.
func (r *runResult) share(n int64) float64 {
	if r.summary.Calls == 0 {
		return 0
	}
	return float64(n) / float64(r.summary.Calls)
}

// success is the share of calls that got an answer, from the server or
// from the client's fallback.
func (r *runResult) success() float64 { return r.share(int64(r.summary.OK)) }

// live is the share of calls that the server answered.
func (r *runResult) live() float64 { return r.share(int64(r.summary.OK) - r.summary.Fallbacks) }

// fallbacks is the share of calls that the client's fallback answered.
func (r *runResult) fallbacks() float64 { return r.share(r.summary.Fallbacks) }

func (r *runResult) handledPerCall() float64 { return r.share(r.handled) }

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

func comparisons() []scenario {
	return []scenario{
		{
			name:     "healthy",
			explain:  "no faults: what the chains cost when nothing goes wrong",
			length:   2 * time.Second,
			rate:     200,
			deadline: time.Second,
			verdict: func(bare, bw *runResult) (bool, string) {
				return bw.live() >= bare.live()-0.005,
					fmt.Sprintf("both succeed (%s vs %s); p50 %s vs %s", pct(bare.live()), pct(bw.live()), ms(bare.summary.P50Millis), ms(bw.summary.P50Millis))
			},
		},
		{
			name:     "flaky",
			explain:  "30% of calls fail with UNAVAILABLE: Bulwark retries them within its budget",
			faults:   "fail_rate=0.3&fail_code=UNAVAILABLE",
			length:   4 * time.Second,
			rate:     200,
			deadline: time.Second,
			verdict: func(bare, bw *runResult) (bool, string) {
				return bw.live() >= bare.live()+0.10,
					fmt.Sprintf("success %s vs %s, with %.2f attempts per call", pct(bw.live()), pct(bare.live()), bw.summary.AttemptsPerCall)
			},
		},
		{
			name: "outage",
			explain: "every call fails (UNAVAILABLE) from 1s to 3.5s, then the server recovers: Bulwark's breaker opens, " +
				"answers calls at once from its fallback (the last reply for the same name) without touching the server, " +
				"and half-open probes close it when the server is back",
			steps: []step{
				{at: time.Second, faults: "fail_rate=1&fail_code=UNAVAILABLE", label: "outage begins"},
				{at: 3500 * time.Millisecond, faults: "fail_rate=0", label: "server recovers"},
			},
			length:   6 * time.Second,
			rate:     200,
			deadline: time.Second,
			verdict: func(bare, bw *runResult) (bool, string) {
				spared := bw.window*5 <= bare.window
				return spared && bw.success() >= bare.success()+0.10 && bw.live() >= bare.live()-0.05,
					fmt.Sprintf("the failing server got %d calls instead of %d; callers got an answer %s vs %s of the time (%s from the fallback); the server answered %s vs %s",
						bw.window, bare.window, pct(bw.success()), pct(bare.success()), pct(bw.fallbacks()), pct(bw.live()), pct(bare.live()))
			},
		},
		{
			name: "overload",
			explain: "the server can work on 4 calls at once, 20ms each (200 calls/s), and gets 400 calls/s: the bare server queues " +
				"them until their deadlines pass; the Bulwark server sheds what it cannot serve at once (SERVER_OVERLOADED, " +
				"with pushback), and the client's retry budget keeps retries from piling on",
			faults:   "capacity=4&latency=20ms",
			length:   4 * time.Second,
			rate:     400,
			deadline: 250 * time.Millisecond,
			verdict: func(bare, bw *runResult) (bool, string) {
				return bw.live() >= bare.live() && bw.summary.P50Millis*2 <= bare.summary.P50Millis,
					fmt.Sprintf("success %s vs %s, p50 %s vs %s", pct(bw.live()), pct(bare.live()), ms(bw.summary.P50Millis), ms(bare.summary.P50Millis))
			},
		},
		{
			name:     "slow",
			explain:  "every 20th call (5%) takes 1s longer (a slow dependency): bare calls wait; Bulwark hedges a call that has not answered after 50ms",
			faults:   "slow_rate=0.05&slow_latency=1s",
			length:   4 * time.Second,
			rate:     200,
			deadline: 2 * time.Second,
			verdict: func(bare, bw *runResult) (bool, string) {
				return bw.live() >= bare.live() && bw.summary.P99Millis*2 <= bare.summary.P99Millis,
					fmt.Sprintf("p99 %s vs %s", ms(bw.summary.P99Millis), ms(bare.summary.P99Millis))
			},
		},
	}
}

// comparer runs the scenarios.
type comparer struct {
	bin         string
	bare, bw    *server
	scale       float64 // of run lengths and step times: 1, or less with -quick
	w           io.Writer
	http        *http.Client
	concurrency int
}

// scaled returns d at the comparer's scale, to the millisecond.
func (c *comparer) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * c.scale).Round(time.Millisecond)
}

// run runs sc once in mode ("bare" or "bulwark") and reports progress.
func (c *comparer) run(ctx context.Context, sc scenario, mode string, n, total int) *runResult {
	srv := c.bare
	label := "bare gRPC"
	if mode == "bulwark" {
		srv, label = c.bw, "Bulwark"
	}
	r := &runResult{mode: mode}
	calls := max(1, int(sc.rate*c.scaled(sc.length).Seconds()))
	fmt.Fprintf(c.w, "  [%2d/%d] %-8s %-9s %d calls at %g/s, deadline %v ", n, total, sc.name, label, calls, sc.rate, sc.deadline)

	if r.err = c.setFaults(ctx, srv, resetFaults); r.err == nil && sc.faults != "" {
		r.err = c.setFaults(ctx, srv, sc.faults)
	}
	before, err := c.requests(ctx, srv)
	if r.err == nil {
		r.err = err
	}
	if r.err != nil {
		fmt.Fprintf(c.w, "-> NOT AS EXPECTED: %v\n", r.err)
		return r
	}

	args := []string{"-target", srv.Addr, "-json", "-n", strconv.Itoa(calls), "-rate", fmt.Sprint(sc.rate),
		"-c", strconv.Itoa(c.concurrency), "-deadline", sc.deadline.String()}
	if mode == "bare" {
		args = append(args, "-bare")
	} else {
		args = append(args, bulwarkClientFlags()...)
	}
	runCtx, cancel := context.WithTimeout(ctx, c.scaled(sc.length)+clientTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(runCtx, filepath.Join(c.bin, "greeter-client"), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	begin := time.Now()
	if r.err = cmd.Start(); r.err != nil {
		fmt.Fprintf(c.w, "-> NOT AS EXPECTED: %v\n", r.err)
		return r
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Change the faults on schedule while the client runs; count what the
	// server handled between the first two changes.
	var marks []int64
	var waitErr error
	finished := false
	for _, st := range sc.steps {
		timer := time.NewTimer(time.Until(begin.Add(c.scaled(st.at))))
		select {
		case waitErr = <-done:
			finished = true
		case <-timer.C:
		}
		timer.Stop()
		if finished {
			break
		}
		n, err := c.requests(ctx, srv)
		if err == nil {
			err = c.setFaults(ctx, srv, st.faults)
		}
		if err != nil && r.err == nil {
			r.err = err
		}
		marks = append(marks, n)
		fmt.Fprint(c.w, ".") // progress
	}
	if !finished {
		waitErr = <-done
	}
	r.took = time.Since(begin)
	after, err := c.requests(ctx, srv)
	if r.err == nil {
		r.err = err
	}
	r.handled = after - before
	if len(marks) >= 2 {
		r.window = marks[1] - marks[0]
	}
	if waitErr != nil && r.err == nil {
		r.err = fmt.Errorf("the client failed: %v: %s", waitErr, strings.TrimSpace(stderr.String()))
	}
	if r.err == nil {
		if err := json.Unmarshal(stdout.Bytes(), &r.summary); err != nil {
			r.err = fmt.Errorf("reading the client's JSON: %v: %q", err, stdout.String())
		}
	}
	if r.err == nil && r.summary.Calls != calls {
		r.err = fmt.Errorf("the client made %d calls; want %d", r.summary.Calls, calls)
	}
	if r.err != nil {
		fmt.Fprintf(c.w, "-> NOT AS EXPECTED: %v\n", r.err)
		return r
	}
	ok := pct(r.success()) + " ok"
	if r.summary.Fallbacks > 0 {
		ok += fmt.Sprintf(" (%s from the fallback)", pct(r.fallbacks()))
	}
	fmt.Fprintf(c.w, "-> %s, p99 %s (%.1fs)\n", ok, ms(r.summary.P99Millis), r.took.Seconds())
	return r
}

// setFaults changes the faults of srv with a /faults query.
func (c *comparer) setFaults(ctx context.Context, srv *server, query string) error {
	return srv.setFaults(ctx, c.http, query)
}

// requests returns how many requests srv's service has handled.
func (c *comparer) requests(ctx context.Context, srv *server) (int64, error) {
	return srv.Requests(ctx, c.http)
}

// ms renders milliseconds.
func ms(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	case v >= 10:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fms", v)
}

// joinArgs renders flags on one line.
func joinArgs(args []string) string { return strings.Join(args, " ") }
