package interop_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/logbuf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// nodeTimeout bounds one run of check.mjs.
const nodeTimeout = time.Minute

// result is what check.mjs prints.
type result struct {
	OK     bool   `json:"ok"`
	Client string `json:"client"`
	Cases  []struct {
		Name         string            `json:"name"`
		Code         string            `json:"code"`
		Message      string            `json:"message"`
		Reason       string            `json:"reason"`
		Domain       string            `json:"domain"`
		Retryable    bool              `json:"retryable"`
		Field        string            `json:"field"`
		RequestID    string            `json:"request_id"`
		Metadata     map[string]string `json:"metadata"`
		RetryDelayMs int               `json:"retry_delay_ms"`
		PushbackMs   string            `json:"pushback_ms"`
		Leaked       []string          `json:"leaked"`
		Failed       []string          `json:"failed"`
	} `json:"cases"`
}

// requireNode fails the test, with what to do, when node or the pinned
// packages are missing.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed (%v): the interop test needs Node.js 18 or newer (apt-get install nodejs npm)", err)
	}
	for _, pkg := range []string{"@grpc/grpc-js", "@grpc/proto-loader", "protobufjs", "google-proto-files"} {
		if _, err := os.Stat("node_modules/" + pkg + "/package.json"); err != nil {
			t.Fatalf("the Node packages are not installed (%s is missing): run `npm ci --prefix examples/greeter/interop` from the repository root (make test does)", pkg)
		}
	}
	return node
}

// serve runs the greeter with chaos on, on 127.0.0.1, until the test ends.
func serve(t *testing.T, opts ...greeter.ServerOption) (addr string, logs *logbuf.Buffer) {
	t.Helper()
	svc, err := greeter.New(greeter.Config{Chaos: true})
	if err != nil {
		t.Fatal(err)
	}
	logs = &logbuf.Buffer{}
	srv, err := greeter.NewServer(svc, slog.New(slog.NewJSONHandler(logs, nil)), opts...)
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
	return lis.Addr().String(), logs
}

// check runs check.mjs against addr and returns its result and exit status.
func check(t *testing.T, node, addr string) (result, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), nodeTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, node, "check.mjs", addr)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	exit := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		exit = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("node check.mjs: %v\n%s", err, stderr.String())
	}
	var r result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("node check.mjs exited %d and printed no JSON result (%v):\nstdout: %s\nstderr: %s", exit, err, stdout.String(), stderr.String())
	}
	return r, exit
}

func TestNodeClientReadsErrorContract(t *testing.T) {
	node := requireNode(t)
	addr, logs := serve(t)
	r, exit := check(t, node, addr)
	if exit != 0 || !r.OK {
		t.Fatalf("check.mjs exit %d, ok %t: %+v", exit, r.OK, r)
	}
	t.Logf("client: %s", r.Client)

	want := map[string]struct {
		code, reason string
		retryable    bool
		field        string
		message      string
	}{
		"success":                {code: "OK"},
		"DB_ERROR":               {code: "UNAVAILABLE", reason: "DB_ERROR", retryable: true, message: "greeting store unavailable"},
		"VALIDATION_ERROR":       {code: "INVALID_ARGUMENT", reason: "VALIDATION_ERROR", field: "name", message: "invalid name: rejected by fault injection"},
		"EXTERNAL_SERVICE_ERROR": {code: "UNAVAILABLE", reason: "EXTERNAL_SERVICE_ERROR", retryable: true, message: "weather-api unavailable"},
		"plain-error":            {code: "INTERNAL", reason: "INTERNAL_ERROR", message: "internal error"},
		"panic":                  {code: "INTERNAL", reason: "INTERNAL_ERROR", message: "internal error"},
	}
	seen := map[string]bool{}
	for _, c := range r.Cases {
		w, ok := want[c.Name]
		if !ok {
			t.Errorf("unexpected case %q", c.Name)
			continue
		}
		seen[c.Name] = true
		if c.Code != w.code || c.Reason != w.reason || c.Retryable != w.retryable || c.Field != w.field || c.Message != w.message || len(c.Failed) != 0 {
			t.Errorf("%s: the Node client read %+v; want %+v", c.Name, c, w)
		}
		if w.code == "OK" {
			continue
		}
		if c.Domain != "greeter.v1.Greeter" || c.RequestID == "" || c.Leaked == nil || len(c.Leaked) != 0 {
			t.Errorf("%s: domain %q, request id %q, leaked %v; want greeter.v1.Greeter, an id, nothing leaked", c.Name, c.Domain, c.RequestID, c.Leaked)
		}
		if w.code == "INTERNAL" && !strings.Contains(logs.String(), c.RequestID) {
			t.Errorf("%s: the server log has no record for request id %s", c.Name, c.RequestID)
		}
		if c.Name == "EXTERNAL_SERVICE_ERROR" && (c.Metadata["service"] != "weather-api" || c.RetryDelayMs != 250 || c.PushbackMs != "250") {
			t.Errorf("%s: metadata %v, retry delay %dms, pushback %q; want service weather-api and 250ms", c.Name, c.Metadata, c.RetryDelayMs, c.PushbackMs)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("check.mjs did not report case %q", name)
		}
	}
	if !strings.Contains(logs.String(), greeter.Secret) {
		t.Error("the server log lacks the secret causes: they must be logged, only not sent")
	}
}

// TestNodeClientCatchesLeaks proves the checker can fail: a server that
// sends google.rpc.DebugInfo (the cause and the stack) must be caught.
func TestNodeClientCatchesLeaks(t *testing.T) {
	node := requireNode(t)
	addr, _ := serve(t, greeter.WithDebugInfo(true))
	r, exit := check(t, node, addr)
	if exit != 1 || r.OK {
		t.Fatalf("check.mjs exit %d, ok %t against a leaking server; want exit 1", exit, r.OK)
	}
	for _, c := range r.Cases {
		leaks := c.Name == "plain-error" || c.Name == "panic" || c.Name == "DB_ERROR" || c.Name == "EXTERNAL_SERVICE_ERROR"
		if leaks != (len(c.Failed) > 0) {
			t.Errorf("%s: failed checks %q; want failures: %t", c.Name, c.Failed, leaks)
		}
		if leaks && !containsAll(c.Leaked, greeter.Secret) {
			t.Errorf("%s: leaked %q; want the secret %q among them", c.Name, c.Leaked, greeter.Secret)
		}
	}
}

func containsAll(list []string, want ...string) bool {
	for _, w := range want {
		found := false
		for _, s := range list {
			found = found || s == w
		}
		if !found {
			return false
		}
	}
	return true
}
