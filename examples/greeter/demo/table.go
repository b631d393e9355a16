package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
)

// outcome is a scenario's two runs.
type outcome struct {
	sc       scenario
	bare, bw *runResult
}

// printTable prints the runs side by side, with a verdict per scenario,
// and returns how many scenarios had a run that failed, and how many did
// not show Bulwark ahead. Unless enforce, a verdict says it is not
// checked.
func printTable(w io.Writer, outcomes []outcome, enforce bool) (failed, behind int) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Results: the same calls, at the same rate, with the same faults, in both columns.")
	fmt.Fprintln(w, "  attempts/call: attempts the client sent per call, and requests the service handled per call (server's /stats)")
	fmt.Fprintln(w, "  success: calls answered, by the server or by the Bulwark client's fallback while its breaker is open")
	fmt.Fprintln(w, "  rejections: attempts refused by the client's own breaker (circuit_open) or by the server's load shedding")
	fmt.Fprintln(w, "  (server_overloaded), and calls whose retry the retry budget refused (retry_budget)")
	fmt.Fprintln(w)
	row := func(scenario, metric, bare, bw string) {
		fmt.Fprintf(w, "%-9s %-14s %-30s %s\n", scenario, metric, bare, bw)
	}
	row("", "", "bare gRPC", "Bulwark")
	row("", "", strings.Repeat("-", 30), strings.Repeat("-", 30))
	for _, o := range outcomes {
		name := o.sc.name
		if o.bare.err != nil || o.bw.err != nil {
			row(name, "", errText(o.bare.err), errText(o.bw.err))
			fmt.Fprintln(w)
			failed++
			continue
		}
		b, k := o.bare, o.bw
		row(name, "success", successText(b), successText(k))
		row("", "codes", counts(b.summary.Codes), counts(k.summary.Codes))
		row("", "attempts/call", perCall(b), perCall(k))
		row("", "p50 / p99", ms(b.summary.P50Millis)+" / "+ms(b.summary.P99Millis), ms(k.summary.P50Millis)+" / "+ms(k.summary.P99Millis))
		row("", "breaker", "none", workload.Timeline(k.summary.BreakerTransitions))
		row("", "rejections", counts(b.summary.Rejections), counts(k.summary.Rejections))
		if len(o.sc.steps) >= 2 {
			row("", "during "+name, fmt.Sprintf("server handled %d", b.window), fmt.Sprintf("server handled %d", k.window))
		}
		ahead, why := o.sc.verdict(b, k)
		verdict := "Bulwark ahead: "
		if name == "healthy" {
			verdict = "as expected: "
		}
		switch {
		case !ahead && enforce:
			verdict = "NOT AHEAD: "
			behind++
		case !ahead:
			verdict = "not ahead (runs too short to tell; not checked): "
		}
		fmt.Fprintf(w, "%-9s -> %s%s\n\n", "", verdict, why)
	}
	return failed, behind
}

// successText is the share of calls answered, and when the client's
// fallback answered some, how they split.
func successText(r *runResult) string {
	if r.summary.Fallbacks == 0 {
		return pct(r.success())
	}
	return fmt.Sprintf("%s (%s server, %s fallback)", pct(r.success()), pct(r.live()), pct(r.fallbacks()))
}

func errText(err error) string {
	if err == nil {
		return "ran"
	}
	return "failed: " + err.Error()
}

func perCall(r *runResult) string {
	return fmt.Sprintf("%.2f sent, %.2f handled", r.summary.AttemptsPerCall, r.handledPerCall())
}

// counts renders a count map as "A 3, B 1", largest first.
func counts[N int | int64](m map[string]N) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return int(m[b] - m[a]) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
