package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
)

// rpcName returns the RPC a workload method calls.
func rpcName(method string) string {
	switch method {
	case workload.Stream:
		return "SayHelloStream"
	case workload.Bidi:
		return "Chat"
	}
	return "SayHello"
}

// printOne prints one call: its replies, or its error field by field, one
// "name: value" line each. attempts is the attempts it made on the wire.
func printOne(w io.Writer, method string, r workload.Result, attempts int64) {
	took := r.Latency.Round(10 * time.Microsecond)
	tries := ""
	if attempts != 1 {
		tries = fmt.Sprintf(", %d attempts", attempts)
	}
	if r.Err == nil {
		fmt.Fprintf(w, "%s OK in %v%s\n", rpcName(method), took, tries)
		for _, m := range r.Replies {
			fmt.Fprintf(w, "  reply: %s\n", m)
		}
		return
	}
	fmt.Fprintf(w, "%s failed in %v%s", rpcName(method), took, tries)
	if n := len(r.Replies); n > 0 {
		fmt.Fprintf(w, " after %d replies", n)
	}
	fmt.Fprintln(w)
	e := workload.Report(r.Err)
	line := func(name, value string) { fmt.Fprintf(w, "  %-12s %s\n", name+":", value) }
	line("grpc code", e.GRPCCode)
	line("go type", e.GoType)
	line("message", e.Message)
	if !e.Decoded {
		line("app code", "none (the status carries no ErrorInfo)")
		return
	}
	line("app code", e.AppCode)
	line("retryable", fmt.Sprint(e.Retryable))
	retryAfter := "none"
	if e.RetryAfterMillis > 0 {
		retryAfter = (time.Duration(e.RetryAfterMillis * float64(time.Millisecond))).String()
	}
	line("retry after", retryAfter)
	line("request id", orNone(e.RequestID))
	line("domain", orNone(e.Domain))
	details := "none"
	if len(e.Details) > 0 {
		b, _ := json.Marshal(e.Details) // sorted keys
		details = string(b)
	}
	line("details", details)
	line("violations", orNone(strings.Join(e.Violations, "; ")))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// printSummary prints what many calls did.
func printSummary(w io.Writer, cfg workload.Config, s workload.Summary) {
	deadline := "none"
	if cfg.Deadline > 0 {
		deadline = cfg.Deadline.String()
	}
	pace := fmt.Sprintf("%d at a time", cfg.Concurrency)
	if cfg.Rate > 0 {
		pace = fmt.Sprintf("%g per second (at most %d at a time)", cfg.Rate, cfg.Concurrency)
	}
	fmt.Fprintf(w, "%d %s calls to %s (%s), %s, deadline %s, in %v\n",
		s.Calls, rpcName(cfg.Method), s.Target, s.Mode, pace, deadline,
		time.Duration(s.ElapsedMillis*float64(time.Millisecond)).Round(time.Millisecond))
	pct := 0.0
	if s.Calls > 0 {
		pct = 100 * float64(s.OK) / float64(s.Calls)
	}
	fmt.Fprintf(w, "  ok:         %d (%.1f%%)", s.OK, pct)
	if s.Fallbacks > 0 {
		fmt.Fprintf(w, ", %d of them answered by the fallback", s.Fallbacks)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  codes:      %s\n", counts(s.Codes))
	fmt.Fprintf(w, "  app codes:  %s\n", counts(s.AppCodes))
	fmt.Fprintf(w, "  attempts:   %d (%.2f per call)\n", s.Attempts, s.AttemptsPerCall)
	fmt.Fprintf(w, "  latency:    p50 %.1fms, p99 %.1fms\n", s.P50Millis, s.P99Millis)
	if s.Mode != "bare" {
		fmt.Fprintf(w, "  breaker:    %s\n", workload.Timeline(s.BreakerTransitions))
	}
	fmt.Fprintf(w, "  rejections: %s\n", counts64(s.Rejections))
	if s.FirstError != nil {
		e := s.FirstError
		first := e.GRPCCode
		if e.AppCode != "" {
			first += " " + e.AppCode
		}
		fmt.Fprintf(w, "  first error: %s: %s\n", first, e.Message)
	}
}

func counts64(m map[string]int64) string {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = int(v)
	}
	return counts(c)
}

// counts renders a count map as "A 3, B 1", largest first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return m[b] - m[a] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
