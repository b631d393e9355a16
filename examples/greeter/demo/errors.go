package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// secret is the text every injected internal failure holds on the server
// (greeter.Secret); it must never reach the client.
const secret = "hunter2"

// clientTimeout bounds one run of the client.
const clientTimeout = 15 * time.Second

// errorCase is one run of the client and what it must print.
type errorCase struct {
	title string
	args  []string
	// wantExit is the client's exit status: 0 for success, 1 for a failed
	// call.
	wantExit int
	// want holds "name: value" lines the client must print.
	want map[string]string
	// serverLog, when set, shows what the server logged about the request.
	serverLog bool
	// within bounds how long the client may take.
	within time.Duration
}

func errorCases() []errorCase {
	return []errorCase{
		{
			title: "A successful call",
			args:  []string{"-name", "Ada"},
			want:  map[string]string{"reply": "Hello, Ada!"},
		},
		{
			title:    "VALIDATION_ERROR: the request is wrong; retrying will not help",
			args:     []string{"-fault", "error=VALIDATION_ERROR"},
			wantExit: 1,
			want: map[string]string{
				"grpc code": "INVALID_ARGUMENT", "app code": "VALIDATION_ERROR", "retryable": "false",
				"violations": "name: rejected by fault injection",
			},
		},
		{
			title:    "DB_ERROR: the database failed; a retry may succeed",
			args:     []string{"-fault", "error=DB_ERROR"},
			wantExit: 1,
			want: map[string]string{
				"grpc code": "UNAVAILABLE", "app code": "DB_ERROR", "retryable": "true",
				"message": "greeting store unavailable",
			},
			serverLog: true,
		},
		{
			title:    "EXTERNAL_SERVICE_ERROR: a dependency failed, with the server's retry delay",
			args:     []string{"-fault", "error=EXTERNAL_SERVICE_ERROR,retry-after=250ms"},
			wantExit: 1,
			want: map[string]string{
				"grpc code": "UNAVAILABLE", "app code": "EXTERNAL_SERVICE_ERROR", "retryable": "true",
				"retry after": "250ms", "details": `{"service":"weather-api"}`,
			},
		},
		{
			title:    "plain-error: the handler returns an ordinary Go error holding a password",
			args:     []string{"-fault", "plain-error"},
			wantExit: 1,
			want: map[string]string{
				"grpc code": "INTERNAL", "app code": "INTERNAL_ERROR", "message": "internal error", "retryable": "false",
			},
			serverLog: true,
		},
		{
			title:    "panic: the handler panics with a secret in the panic value",
			args:     []string{"-fault", "panic"},
			wantExit: 1,
			want: map[string]string{
				"grpc code": "INTERNAL", "app code": "INTERNAL_ERROR", "message": "internal error", "retryable": "false",
			},
			serverLog: true,
		},
		{
			title:    "delay=1m with a 300ms deadline: the server stops waiting when the caller does",
			args:     []string{"-fault", "delay=1m", "-deadline", "300ms"},
			wantExit: 1,
			want:     map[string]string{"grpc code": "DEADLINE_EXCEEDED"},
			within:   5 * time.Second,
		},
	}
}

// run runs the case and reports whether it was as expected.
func (sc errorCase) run(ctx context.Context, w io.Writer, n int, bin string, srv *server) bool {
	fmt.Fprintf(w, "\n%d. %s\n", n, sc.title)
	client := filepath.Join(bin, "greeter-client")
	args := append([]string{"-target", srv.Addr}, sc.args...)
	fmt.Fprintf(w, "   $ %s %s\n", client, quoteArgs(args))

	ctx, cancel := context.WithTimeout(ctx, clientTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, client, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	begin := time.Now()
	err := cmd.Run()
	took := time.Since(begin)
	for _, line := range strings.Split(strings.TrimRight(stdout.String()+stderr.String(), "\n"), "\n") {
		fmt.Fprintf(w, "   %s\n", line)
	}

	var problems []string
	exit := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		exit = exitErr.ExitCode()
	case err != nil:
		problems = append(problems, "the client did not run: "+err.Error())
		exit = -1
	}
	if exit != sc.wantExit && exit != -1 {
		problems = append(problems, fmt.Sprintf("client exit status %d; want %d", exit, sc.wantExit))
	}
	got := fields(stdout.String())
	for k, v := range sc.want {
		if got[k] != v {
			problems = append(problems, fmt.Sprintf("%s is %q; want %q", k, got[k], v))
		}
	}
	if strings.Contains(stdout.String()+stderr.String(), secret) {
		problems = append(problems, fmt.Sprintf("the server's secret %q reached the client", secret))
	}
	if sc.within > 0 && took > sc.within {
		problems = append(problems, fmt.Sprintf("took %v; want at most %v", took.Round(time.Millisecond), sc.within))
	}
	if sc.serverLog {
		if msg, ok := describeLog(ctx, srv, got["request id"]); ok {
			fmt.Fprintf(w, "   server log, request id %s: %s\n", got["request id"], msg)
		} else {
			problems = append(problems, "no server log record for request id "+got["request id"])
		}
	}

	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(w, "   NOT AS EXPECTED: %s\n", p)
		}
		return false
	}
	fmt.Fprintf(w, "   -> as expected%s\n", sc.summary())
	return true
}

// summary says what the case proved.
func (sc errorCase) summary() string {
	switch {
	case sc.wantExit == 0:
		return ""
	case sc.want["grpc code"] == "INTERNAL":
		return ": INTERNAL with a generic message and a request id; the cause stayed in the server log"
	case sc.within > 0:
		return fmt.Sprintf(": %s, well before the 1m delay", sc.want["grpc code"])
	}
	return fmt.Sprintf(": %s / %s, retryable=%s", sc.want["grpc code"], sc.want["app code"], sc.want["retryable"])
}

// describeLog summarises the server's log record about requestID.
func describeLog(ctx context.Context, srv *server, requestID string) (string, bool) {
	rec, ok := srv.waitLogEntry(ctx, requestID)
	if !ok {
		return "", false
	}
	msg := fmt.Sprintf("%q", rec["msg"])
	for _, key := range []string{"error", "panic"} {
		if v, ok := rec[key].(string); ok {
			msg += fmt.Sprintf(" %s=%q", key, v)
		}
	}
	if st, ok := rec["stack"].(string); ok {
		msg += fmt.Sprintf(" and a stack of %d lines", strings.Count(st, "\n")+1)
	}
	return msg, true
}

// checkHTTP shows that the operator endpoints answer while the server runs.
func checkHTTP(ctx context.Context, w io.Writer, srv *server) bool {
	fmt.Fprintf(w, "\nThe server's HTTP endpoints (%s):\n", srv.HTTPURL)
	ok := true
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	for _, path := range []string{"/metrics", "/faults", "/stats"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.HTTPURL+path, nil)
		if err != nil {
			fmt.Fprintf(w, "   NOT AS EXPECTED: %v\n", err)
			ok = false
			continue
		}
		resp, err := client.Do(req)
		if err != nil {
			fmt.Fprintf(w, "   NOT AS EXPECTED: GET %s: %v\n", path, err)
			ok = false
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Fprintf(w, "   NOT AS EXPECTED: GET %s: %s\n", path, resp.Status)
			ok = false
			continue
		}
		text := strings.TrimSpace(string(body))
		if path == "/metrics" {
			text = fmt.Sprintf("%d lines of Prometheus metrics", strings.Count(text, "\n")+1)
		}
		fmt.Fprintf(w, "   GET %-8s %s\n", path, text)
	}
	if ok && !checkIdle(ctx, w, client, srv) {
		ok = false
	}
	return ok
}

// checkIdle waits until the server reports no call in flight: the delayed
// call must have ended with its caller's deadline, not a minute later.
func checkIdle(ctx context.Context, w io.Writer, client *http.Client, srv *server) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.HTTPURL+"/stats", nil)
		if err != nil {
			fmt.Fprintf(w, "   NOT AS EXPECTED: %v\n", err)
			return false
		}
		if resp, err := client.Do(req); err == nil {
			var st struct {
				InFlight int `json:"in_flight"`
				Waiting  int `json:"waiting"`
			}
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil && st.InFlight == 0 && st.Waiting == 0 {
				fmt.Fprintln(w, "   -> as expected: no call left in flight on the server")
				return true
			}
			last = fmt.Sprintf("%+v", st)
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(w, "   NOT AS EXPECTED: calls still in flight on the server: %s\n", last)
			return false
		case <-time.After(50 * time.Millisecond): // poll again
		}
	}
}

// fields reads the "  name: value" lines the client prints.
func fields(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m
}

// quoteArgs renders args for a shell.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, " \"'$\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
