package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wantOutput is what run prints; the README's quick start shows it too.
const wantOutput = `reply: Hello, Ada
error: InvalidArgument VALIDATION_ERROR "invalid name: must not be empty" retryable=false
  field name: must not be empty
server handled: InvalidArgument 1
server handled: OK 1
`

func TestRun(t *testing.T) {
	var out, logs bytes.Buffer
	if err := run(context.Background(), &out, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatalf("run: %v\nlog:\n%s", err, logs.String())
	}
	if out.String() != wantOutput {
		t.Errorf("run printed:\n%s\nwant:\n%s", out.String(), wantOutput)
	}
	// Both chains log the failed call, with its application code and the
	// request id the server gave it.
	for _, side := range []string{"server", "client"} {
		line := logLine(logs.String(), "grpc.component="+side, "grpc.code=InvalidArgument")
		if line == "" {
			t.Errorf("no %s log line for the failed call; log:\n%s", side, logs.String())
			continue
		}
		for _, want := range []string{"app.code=VALIDATION_ERROR", "request_id="} {
			if !strings.Contains(line, want) {
				t.Errorf("%s log line lacks %s: %s", side, want, line)
			}
		}
	}
}

// logLine returns the first line of log holding every one of parts.
func logLine(log string, parts ...string) string {
next:
	for line := range strings.Lines(log) {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		return line
	}
	return ""
}

// TestREADME keeps the README's quick start equal to this program and its
// output.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	source, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ marker, want string }{
		{"<!-- examples/quickstart/main.go -->", string(source)},
		{"<!-- examples/quickstart output -->", wantOutput},
	} {
		got, err := fencedAfter(string(readme), tc.marker)
		if err != nil {
			t.Errorf("README.md: %v", err)
			continue
		}
		if got != tc.want {
			t.Errorf("README.md: the block after %s differs from the program; copy it again:\n%s", tc.marker, tc.want)
		}
	}
}
