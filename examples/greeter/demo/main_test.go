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

func TestDemoErrors(t *testing.T) {
	bin := build(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if _, err := run(ctx, config{bin: bin, errors: true, scale: 1}, &out); err != nil {
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
		"All 7 error cases behaved as expected",
		"SayHello failed in", ", 3 attempts", // DB_ERROR is retried
		"Everything behaved as expected",
		"servers stopped.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "-> as expected"); n != 8 {
		t.Errorf("%d checks as expected; want 8 (7 error cases and the HTTP endpoints)\n%s", n, text)
	}
	if strings.Contains(text, "bare server") {
		t.Errorf("-compare=false started the bare server:\n%s", text)
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
	_, err := run(t.Context(), config{bin: bin, errors: true, scale: 1}, &out)
	if err == nil || !strings.Contains(err.Error(), "check(s) failed") {
		t.Fatalf("run = %v; want failed checks\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{"NOT AS EXPECTED: the server's secret", `NOT AS EXPECTED: grpc code is ""; want`, "servers stopped."} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
}

func TestDemoWithoutBinaries(t *testing.T) {
	var out bytes.Buffer
	_, err := run(t.Context(), config{bin: t.TempDir(), errors: true, compare: true, scale: 1}, &out)
	if err == nil || !strings.Contains(err.Error(), "go build -o") {
		t.Fatalf("run = %v; want an error saying how to build the server", err)
	}
}

// TestDemoCompareQuick runs the scenarios at a fifth of their length and
// checks what holds however short the runs and however busy the machine:
// every run completes, the bare client never retries, and each scenario
// shows the mechanism it is about. Who comes out ahead at full length is
// checked by the demo itself.
func TestDemoCompareQuick(t *testing.T) {
	bin := build(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	outcomes, err := run(ctx, config{bin: bin, compare: true, scale: quickScale}, &out)
	text := out.String()
	if err != nil {
		t.Fatalf("run = %v\n%s", err, text)
	}
	byName := map[string]outcome{}
	for _, o := range outcomes {
		byName[o.sc.name] = o
		if o.bare.err != nil || o.bw.err != nil {
			t.Errorf("%s: runs failed: %v, %v", o.sc.name, o.bare.err, o.bw.err)
			continue
		}
		// The bare client sends each call once (the server may see fewer,
		// should a call's deadline pass before it is sent).
		if s := o.bare.summary; s.Attempts != int64(s.Calls) || o.bare.handled > int64(s.Calls) || len(s.BreakerTransitions) != 0 {
			t.Errorf("%s: the bare client made %d attempts (server handled %d) for %d calls, with breaker %v; want one each at most and no breaker",
				o.sc.name, s.Attempts, o.bare.handled, s.Calls, s.BreakerTransitions)
		}
		if o.bw.summary.Mode != "bulwark" || o.bare.summary.Mode != "bare" {
			t.Errorf("%s: modes %q and %q", o.sc.name, o.bare.summary.Mode, o.bw.summary.Mode)
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", text)
	}
	if len(byName) != 5 {
		t.Fatalf("%d scenarios ran; want 5\n%s", len(byName), text)
	}
	checks := []struct {
		scenario string
		ok       func(bare, bw *runResult) bool
		want     string
	}{
		{"healthy", func(b, k *runResult) bool { return b.live() == 1 && k.live() == 1 }, "every call succeeds in both"},
		{"flaky", func(b, k *runResult) bool {
			return k.live() > b.live() && k.summary.Attempts > int64(k.summary.Calls)
		}, "Bulwark retries and succeeds more often"},
		{"outage", func(b, k *runResult) bool {
			ts := k.summary.BreakerTransitions
			return len(ts) >= 2 && ts[0].To == "open" && k.summary.Rejections["circuit_open"] > 0 && k.window < b.window &&
				k.summary.Fallbacks > 0 && k.summary.Fallbacks <= k.summary.Rejections["circuit_open"] && k.success() > b.success()
		}, "Bulwark's breaker opens, answers refused calls from its fallback, and spares the failing server"},
		{"overload", func(b, k *runResult) bool {
			return b.summary.Codes["DEADLINE_EXCEEDED"] > 0 && k.summary.Rejections["server_overloaded"] > 0 &&
				k.summary.P50Millis < b.summary.P50Millis
		}, "the bare server lets calls time out in its queue; the Bulwark server sheds them at once"},
		{"slow", func(b, k *runResult) bool {
			// Every 20th call the server handles is slow, so 8 of the bare
			// run's 160 are, and its p99 (the 159th) is one of them. The
			// Bulwark client hedges them after 50ms: a call stays slow only
			// if its hedges land on the server's next 20th calls too, which
			// takes twice the arrival rate, and its p99 would need two such
			// calls. Judged on which calls were slow (a second against
			// 50ms), not on how long the runs took.
			return b.summary.P99Millis >= 1000 && k.summary.P99Millis < 500 && k.summary.Attempts > int64(k.summary.Calls)
		}, "bare calls wait for the slow ones; Bulwark hedges them"},
	}
	for _, c := range checks {
		o := byName[c.scenario]
		if !c.ok(o.bare, o.bw) {
			t.Errorf("%s: want %s; got bare %+v, Bulwark %+v", c.scenario, c.want, o.bare.summary, o.bw.summary)
		}
	}
	for _, want := range []string{
		"Part 2: bare gRPC against Bulwark",
		"The Bulwark server's Prometheus metrics, live while the demo runs: http://127.0.0.1:",
		"[10/10] slow",
		"bare gRPC                      Bulwark",
		"during outage",
		"servers stopped.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q", want)
		}
	}
	if strings.Contains(text, "Part 1") {
		t.Errorf("-errors=false ran the error cases")
	}
	if t.Failed() {
		t.Logf("output:\n%s", text)
	}
}

// TestDemoLive runs part 3 alone: the limit lowered by POST /config and
// raised back by SIGHUP, each checked by the demo itself with margins.
func TestDemoLive(t *testing.T) {
	bin := build(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if _, err := run(ctx, config{bin: bin, live: true, scale: 1}, &out); err != nil {
		t.Fatalf("run = %v\n%s", err, out.String())
	}
	text := out.String()
	for _, want := range []string{
		"-chaos -limit 8 -config ",
		"(/metrics, /faults, /stats, /config)",
		"Part 3: live reconfiguration",
		"[1/3] limit 8, from the file:",
		`POST /config {"limit": 2} -> 200 {"limit":2,`,
		`POST /config {"limit": 2, "breaker_failures": 3} -> 400 {"error":"interceptors: Reconfigure: WithCircuitBreaker: the chain was built without it`,
		"GET /config: limit 2 still",
		"SIGHUP sent -> GET /config says limit 8 after",
		"[3/3] limit 8, after SIGHUP:",
		`bulwark_config_reloads_total{result="ok"} 2, {result="error"} 1`,
		"-> as expected: the limit of 2 shed",
		"Everything behaved as expected",
		"servers stopped.",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Part 1") || strings.Contains(text, "Part 2") {
		t.Errorf("-errors=false -compare=false ran another part:\n%s", text)
	}
}
