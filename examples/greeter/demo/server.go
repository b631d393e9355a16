package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/serverproc"
)

// server is a running greeter-server process.
type server struct {
	*serverproc.Process
}

// startServer starts bin/greeter-server on free 127.0.0.1 ports with the
// extra flags and waits until it prints its addresses. label names it in
// the output.
func startServer(ctx context.Context, bin string, w io.Writer, label string, extra ...string) (*server, error) {
	p, err := serverproc.Start(ctx, bin, w, "the "+label, true, extra...)
	if err != nil {
		return nil, err
	}
	return &server{p}, nil
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
	for _, line := range strings.Split(s.Stderr.String(), "\n") {
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

// setFaults changes the faults of s with a /faults query.
func (s *server) setFaults(ctx context.Context, client *http.Client, query string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.HTTPURL+"/faults?"+query, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /faults?%s: %s: %s", query, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}
