package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/logbuf"
)

// stopTimeout bounds a graceful stop of the server; after it the server is
// killed.
const stopTimeout = 5 * time.Second

// server is a running greeter-server process.
type server struct {
	cmd      *exec.Cmd
	addr     string // gRPC address
	httpURL  string // base URL of /metrics, /faults and /stats
	stderr   *logbuf.Buffer
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// startServer starts bin/greeter-server on free 127.0.0.1 ports with the
// extra flags and waits until it prints its addresses. label names it in
// the output.
func startServer(ctx context.Context, bin string, w io.Writer, label string, extra ...string) (*server, error) {
	path := filepath.Join(bin, "greeter-server")
	if _, err := os.Stat(path); err != nil {
		abs, _ := filepath.Abs(path)
		return nil, fmt.Errorf("%w (build it in the examples module: go build -o %s ./greeter/server)", err, abs)
	}
	args := append([]string{"-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0"}, extra...)
	fmt.Fprintf(w, "Starting the %s:\n  $ %s %s\n", label, path, strings.Join(args, " "))
	s := &server{cmd: exec.Command(path, args...), stderr: &logbuf.Buffer{}, exited: make(chan struct{})}
	s.cmd.Stderr = s.stderr
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads after startup: never block the server
			}
		}
		close(lines)
		s.waitErr = s.cmd.Wait() // after the pipe is read to its end
		close(s.exited)
	}()

	// The server prints its two addresses first.
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for s.addr == "" || s.httpURL == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				_ = s.stop()
				return nil, fmt.Errorf("the server exited before it listened: %v\n%s", s.waitErr, s.stderr.String())
			}
			fmt.Fprintf(w, "  %s\n", line)
			if a, ok := strings.CutPrefix(line, "greeter: listening on "); ok {
				s.addr = a
			}
			if a, ok := strings.CutPrefix(line, "greeter: http on "); ok {
				s.httpURL, _, _ = strings.Cut(a, " ")
			}
		case <-timer.C:
			_ = s.stop()
			return nil, errors.New("the server did not print its addresses within 10s")
		case <-ctx.Done():
			_ = s.stop()
			return nil, ctx.Err()
		}
	}
	return s, nil
}

// stop asks the server to shut down (SIGINT), kills it if it has not
// exited within stopTimeout, and waits for it.
func (s *server) stop() error {
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(os.Interrupt)
		t := time.NewTimer(stopTimeout)
		defer t.Stop()
		select {
		case <-s.exited:
			if s.waitErr != nil {
				s.stopErr = fmt.Errorf("the server exited with %v", s.waitErr)
			}
		case <-t.C:
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.stopErr = fmt.Errorf("the server did not stop within %v and was killed", stopTimeout)
		}
	})
	return s.stopErr
}

// logWait bounds how long waitLogEntry waits for a record.
const logWait = 2 * time.Second

// waitLogEntry finds the server's log record about requestID, waiting up
// to logWait for it: the server writes it before it answers, but its
// standard error reaches the demo through a pipe, which may lag behind the
// client.
func (s *server) waitLogEntry(ctx context.Context, requestID string) (map[string]any, bool) {
	ctx, cancel := context.WithTimeout(ctx, logWait)
	defer cancel()
	for {
		if rec, ok := s.logEntry(requestID); ok || requestID == "" {
			return rec, ok
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-time.After(20 * time.Millisecond): // look again
		}
	}
}

// logEntry finds the server's log record about requestID.
func (s *server) logEntry(requestID string) (map[string]any, bool) {
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		if requestID == "" || !strings.Contains(line, requestID) {
			continue
		}
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["request_id"] == requestID {
			return rec, true
		}
	}
	return nil, false
}
