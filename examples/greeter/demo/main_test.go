package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// build compiles the server and the client into a new directory.
func build(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the binaries: %v", err)
	}
	dir := t.TempDir()
	for name, pkg := range map[string]string{"greeter-server": "../server", "greeter-client": "../client"} {
		out, err := exec.Command(goTool, "build", "-o", filepath.Join(dir, name), pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return dir
}

func TestDemo(t *testing.T) {
	bin := build(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, bin, &out); err != nil {
		t.Fatalf("run = %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"greeter: listening on 127.0.0.1:",
		"app code:    VALIDATION_ERROR",
		"app code:    DB_ERROR",
		"app code:    EXTERNAL_SERVICE_ERROR",
		"grpc code:   INTERNAL",
		"grpc code:   DEADLINE_EXCEEDED",
		`"handler panicked, sent as INTERNAL"`,
		"no call left in flight",
		"All 7 scenarios behaved as expected",
		"server stopped.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "-> as expected"); n != 8 {
		t.Errorf("%d checks as expected; want 8 (7 scenarios and the HTTP endpoints)\n%s", n, text)
	}
}

// TestDemoFailsOnAWrongClient runs the demo with a client that prints a
// greeting for every call and leaks the secret: the demo must say so, fail,
// and still stop the server.
func TestDemoFailsOnAWrongClient(t *testing.T) {
	bin := build(t)
	fake := "#!/bin/sh\necho 'SayHello OK in 1ms'\necho '  reply: Hello, Ada! password=" + secret + "'\n"
	if err := os.WriteFile(filepath.Join(bin, "greeter-client"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(t.Context(), bin, &out)
	if err == nil || !strings.Contains(err.Error(), "check(s) failed") {
		t.Fatalf("run = %v; want failed checks\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{"NOT AS EXPECTED: the server's secret", `NOT AS EXPECTED: grpc code is ""; want`, "server stopped."} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
}

func TestDemoWithoutBinaries(t *testing.T) {
	var out bytes.Buffer
	err := run(t.Context(), t.TempDir(), &out)
	if err == nil || !strings.Contains(err.Error(), "go build -o") {
		t.Fatalf("run = %v; want an error saying how to build the server", err)
	}
}
