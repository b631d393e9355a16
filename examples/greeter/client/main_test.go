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
	svc, err := greeter.New(greeter.Config{Chaos: true})
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
	return lis.Addr().String()
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
		{"database", []string{"-fault", "error=DB_ERROR,retry-after=1500ms"}, 1, "SayHello failed", map[string]string{
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
	exit := run(t.Context(), []string{"-target", addr, "-n", "4", "-c", "2", "-fault", "error=EXTERNAL_SERVICE_ERROR"}, &stdout, io.Discard)
	got := fields(stdout.String())
	if exit != 1 || got["ok"] != "0 (0.0%)" || got["codes"] != "UNAVAILABLE 4" || got["app codes"] != "EXTERNAL_SERVICE_ERROR 4" || got["attempts"] != "4 (1.00 per call)" {
		t.Errorf("exit %d, output:\n%s", exit, stdout.String())
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
