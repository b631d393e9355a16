package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serve runs a greeter with chaos on, on 127.0.0.1, for the test.
func serve(t *testing.T) string {
	t.Helper()
	return serveWith(t, greeter.Config{Chaos: true})
}

// serveWith runs a greeter with cfg and a seeded random source.
func serveWith(t *testing.T, cfg greeter.Config) string {
	t.Helper()
	addr, _ := serveService(t, cfg)
	return addr
}

// serveService runs a greeter with cfg and returns its address and its
// service, whose faults the test may change.
func serveService(t *testing.T, cfg greeter.Config) (string, *greeter.Service) {
	t.Helper()
	svc, err := greeter.New(cfg, greeter.WithSeed(3))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := greeter.NewServer(svc, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.GRPC.Serve(lis)
	}()
	t.Cleanup(func() {
		srv.GRPC.Stop()
		<-done
	})
	return lis.Addr().String(), svc
}

// fields reads the "name: value" lines of the client's output.
func fields(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && strings.HasPrefix(line, "  ") {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

func TestClientOneCall(t *testing.T) {
	addr := serve(t)
	tests := []struct {
		name     string
		args     []string
		wantExit int
		wantHead string
		want     map[string]string
	}{
		{"success", []string{"-name", "Ada"}, 0, "SayHello OK", map[string]string{"reply": "Hello, Ada!"}},
		{"validation", []string{"-fault", "error=VALIDATION_ERROR"}, 1, "SayHello failed", map[string]string{
			"grpc code": "INVALID_ARGUMENT", "app code": "VALIDATION_ERROR", "retryable": "false",
			"violations": "name: rejected by fault injection", "go type": "*errdetails.ApplicationError", "domain": "greeter.v1.Greeter",
		}},
		{"database", []string{"-fault", "error=DB_ERROR,retry-after=1500ms", "-attempts", "1"}, 1, "SayHello failed", map[string]string{
			"grpc code": "UNAVAILABLE", "app code": "DB_ERROR", "retryable": "true", "retry after": "1.5s",
			"message": "greeting store unavailable",
		}},
		{"external", []string{"-fault", "error=EXTERNAL_SERVICE_ERROR"}, 1, "SayHello failed", map[string]string{
			"app code": "EXTERNAL_SERVICE_ERROR", "details": `{"service":"weather-api"}`,
		}},
		{"plain error", []string{"-fault", "plain-error"}, 1, "SayHello failed", map[string]string{
			"grpc code": "INTERNAL", "app code": "INTERNAL_ERROR", "message": "internal error",
		}},
		{"bare", []string{"-bare", "-fault", "panic"}, 1, "SayHello failed", map[string]string{
			"grpc code": "INTERNAL", "go type": "*status.Error", "app code": "INTERNAL_ERROR",
		}},
		{"plain status", []string{"-fault", "error=UNAVAILABLE"}, 1, "SayHello failed", map[string]string{
			"grpc code": "UNAVAILABLE", "app code": "none (the status carries no ErrorInfo)",
		}},
		{"deadline", []string{"-fault", "delay=1m", "-deadline", "50ms"}, 1, "SayHello failed", map[string]string{
			"grpc code": "DEADLINE_EXCEEDED",
		}},
		{"stream", []string{"-method", "stream", "-count", "2", "-name", "Ada"}, 0, "SayHelloStream OK", map[string]string{
			"reply": "Hello, Ada! (2/2)",
		}},
		{"bidi fails after one", []string{"-method", "bidi", "-fault", "error=DB_ERROR,after=1"}, 1, "Chat failed", map[string]string{
			"app code": "DB_ERROR",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			exit := run(t.Context(), append([]string{"-target", addr}, tc.args...), &stdout, &stderr)
			out := stdout.String()
			if exit != tc.wantExit || !strings.HasPrefix(out, tc.wantHead) {
				t.Fatalf("exit %d, output:\n%s%s\nwant exit %d and %q first", exit, out, stderr.String(), tc.wantExit, tc.wantHead)
			}
			got := fields(out)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q; want %q\n%s", k, got[k], v, out)
				}
			}
			if strings.Contains(out, greeter.Secret) {
				t.Errorf("the client printed the server's secret:\n%s", out)
			}
		})
	}
}

func TestClientJSON(t *testing.T) {
	addr := serve(t)
	tests := []struct {
		name string
		args []string
		want workload.Summary // compared on mode, calls, ok, attempts and codes
	}{
		{"many ok", []string{"-n", "20", "-c", "4"}, workload.Summary{Mode: "bulwark", Calls: 20, OK: 20, Attempts: 20,
			Codes: map[string]int{"OK": 20}, AppCodes: map[string]int{}}},
		{"bare failures", []string{"-bare", "-n", "5", "-c", "2", "-fault", "error=DB_ERROR", "-method", "stream"}, workload.Summary{Mode: "bare", Calls: 5, Attempts: 5,
			Codes: map[string]int{"UNAVAILABLE": 5}, AppCodes: map[string]int{"DB_ERROR": 5}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if exit := run(t.Context(), append([]string{"-target", addr, "-json"}, tc.args...), &stdout, &stderr); exit != 0 {
				t.Fatalf("exit %d: %s", exit, stderr.String())
			}
			if n := strings.Count(strings.TrimSpace(stdout.String()), "\n"); n != 0 {
				t.Fatalf("printed %d lines; want one JSON object:\n%s", n+1, stdout.String())
			}
			var s workload.Summary
			if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
				t.Fatal(err)
			}
			if s.Mode != tc.want.Mode || s.Calls != tc.want.Calls || s.OK != tc.want.OK || s.Attempts != tc.want.Attempts ||
				!sameCounts(s.Codes, tc.want.Codes) || !sameCounts(s.AppCodes, tc.want.AppCodes) {
				t.Errorf("summary %+v; want %+v", s, tc.want)
			}
			if s.BreakerTransitions == nil || s.P99Millis < s.P50Millis || s.P50Millis <= 0 {
				t.Errorf("summary %+v: want breaker transitions [] and 0 < p50 <= p99", s)
			}
		})
	}
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestClientSummary(t *testing.T) {
	addr := serve(t)
	var stdout bytes.Buffer
	exit := run(t.Context(), []string{"-target", addr, "-n", "4", "-c", "2", "-fault", "error=EXTERNAL_SERVICE_ERROR", "-attempts", "1"}, &stdout, io.Discard)
	got := fields(stdout.String())
	if exit != 1 || got["ok"] != "0 (0.0%)" || got["codes"] != "UNAVAILABLE 4" || got["app codes"] != "EXTERNAL_SERVICE_ERROR 4" ||
		got["attempts"] != "4 (1.00 per call)" || got["breaker"] != "closed throughout" || got["rejections"] != "none" {
		t.Errorf("exit %d, output:\n%s", exit, stdout.String())
	}
}

// TestClientBreakerOpens calls a server that always fails: the first call
// makes its 3 attempts, the second trips the breaker (4 failures in a row)
// with its first attempt, and its retry and every later call are refused
// locally.
func TestClientBreakerOpens(t *testing.T) {
	addr := serve(t)
	var stdout, stderr bytes.Buffer
	args := []string{"-target", addr, "-json", "-n", "10", "-fault", "error=UNAVAILABLE", "-attempts", "3",
		"-breaker-failures", "4", "-breaker-open", "1m", "-v"}
	if exit := run(t.Context(), args, &stdout, &stderr); exit != 0 {
		t.Fatalf("exit %d: %s", exit, stderr.String())
	}
	var s workload.Summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	// Call 1 makes 3 attempts; call 2's first attempt is the fourth failure
	// and opens the breaker, so call 2 ends at once with the server's error
	// (no retry waits for an open breaker); calls 3 to 10 are refused.
	ts := s.BreakerTransitions
	if s.Calls != 10 || s.OK != 0 || s.Attempts != 4 || s.Codes["UNAVAILABLE"] != 10 || s.Rejections["circuit_open"] != 8 ||
		len(ts) != 1 || ts[0].From != "closed" || ts[0].To != "open" || ts[0].AtMillis <= 0 || s.AppCodes["CIRCUIT_OPEN"] != 8 {
		t.Errorf("summary %+v; want 10 failed calls, 4 attempts, the breaker open after them and 8 local rejections", s)
	}
	// -v logs the retries and the transition.
	for _, want := range []string{`"msg":"retrying call"`, `"breaker.state":"open"`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the log lacks %s:\n%s", want, stderr.String())
		}
	}
}

// TestClientRetriesFlakyServer: against a server failing 30% of calls,
// retries (sent at once with -hedge) make nearly every call succeed; the
// bare client gets what the server gives.
func TestClientRetriesFlakyServer(t *testing.T) {
	addr := serveWith(t, greeter.Config{FailRate: 0.3, FailCode: "UNAVAILABLE"})
	summary := func(args ...string) workload.Summary {
		var stdout, stderr bytes.Buffer
		args = append([]string{"-target", addr, "-json", "-n", "50", "-c", "1"}, args...)
		if exit := run(t.Context(), args, &stdout, &stderr); exit != 0 {
			t.Fatalf("exit %d: %s", exit, stderr.String())
		}
		var s workload.Summary
		if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	bw := summary("-attempts", "3", "-hedge", "10s", "-breaker-failures", "0", "-breaker-min-calls", "1000")
	bare := summary("-bare")
	if bw.OK < 45 || bw.Attempts <= 50 || bare.Attempts != 50 || bare.OK >= bw.OK {
		t.Errorf("Bulwark %d ok in %d attempts, bare %d ok in %d; want Bulwark ahead with retries", bw.OK, bw.Attempts, bare.OK, bare.Attempts)
	}
}

func TestClientUsage(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-n", "0"}, "calls"},
		{[]string{"-c", "0"}, "concurrency"},
		{[]string{"-method", "client"}, "method"},
		{[]string{"-count", "0"}, "count"},
		{[]string{"-deadline", "-1s"}, "deadline"},
		{[]string{"stray"}, "unexpected arguments"},
		{[]string{"-nope"}, "flag provided but not defined"},
		{[]string{"-rate", "-5"}, "rate"},
		{[]string{"-attempts", "9"}, "WithMaxAttempts(9)"},
		{[]string{"-attempts", "0"}, "WithMaxAttempts(0)"},
		{[]string{"-hedge", "-1s"}, "WithHedging"},
		{[]string{"-breaker-open", "0s"}, "WithOpenDuration(0s,"},
		{[]string{"-breaker-failures", "-1"}, "WithConsecutiveFailures(-1)"},
		{[]string{"-limit", "-2"}, "WithLimit(-2)"},
		{[]string{"-attempt-timeout", "-1s"}, "WithPerAttemptTimeout(-1s)"},
		{[]string{"-bare", "-fallback"}, "-fallback with -bare"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			if exit := run(t.Context(), tc.args, io.Discard, &stderr); exit != 2 || !strings.Contains(stderr.String(), tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", exit, stderr.String(), tc.wantErr)
			}
		})
	}
}
