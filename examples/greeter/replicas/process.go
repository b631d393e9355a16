package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// replica is one greeter server, wherever it runs.
type replica interface {
	// address is its gRPC address.
	address() string
	// requests returns how many calls reached its service so far.
	requests(ctx context.Context) (int64, error)
	// stop stops it.
	stop() error
}

// process is a greeter-server process.
type process struct {
	cmd      *exec.Cmd
	addr     string
	httpURL  string
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// startProcess starts bin/greeter-server on free 127.0.0.1 ports with the
// extra flags, and waits until it prints its addresses.
func startProcess(ctx context.Context, bin string, w io.Writer, label string, extra ...string) (*process, error) {
	path := filepath.Join(bin, "greeter-server")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%w (build it in the examples module: go build -o %s ./greeter/server)", err, path)
	}
	args := append([]string{"-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0"}, extra...)
	fmt.Fprintf(w, "Starting %s:\n  $ %s %s\n", label, path, strings.Join(args, " "))
	p := &process{cmd: exec.Command(path, args...), exited: make(chan struct{})}
	p.cmd.Stderr = io.Discard
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads after startup
			}
		}
		close(lines)
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for p.addr == "" || p.httpURL == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				_ = p.stop()
				return nil, fmt.Errorf("%s exited before it listened: %v", label, p.waitErr)
			}
			if a, ok := strings.CutPrefix(line, "greeter: listening on "); ok {
				p.addr = a
			}
			if a, ok := strings.CutPrefix(line, "greeter: http on "); ok {
				p.httpURL, _, _ = strings.Cut(a, " ")
			}
		case <-timer.C:
			_ = p.stop()
			return nil, fmt.Errorf("%s did not print its addresses within 10s", label)
		case <-ctx.Done():
			_ = p.stop()
			return nil, ctx.Err()
		}
	}
	fmt.Fprintf(w, "  listening on %s\n", p.addr)
	return p, nil
}

func (p *process) address() string { return p.addr }

// requests reads the server's /stats.
func (p *process) requests(ctx context.Context) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.httpURL+"/stats", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var st struct {
		Requests int64 `json:"requests"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, fmt.Errorf("GET /stats: %w", err)
	}
	return st.Requests, nil
}

// stop asks the server to stop (SIGINT), kills it after 5s, and waits.
func (p *process) stop() error {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		t := time.NewTimer(5 * time.Second)
		defer t.Stop()
		select {
		case <-p.exited:
			if p.waitErr != nil {
				p.stopErr = fmt.Errorf("greeter-server exited with %v", p.waitErr)
			}
		case <-t.C:
			_ = p.cmd.Process.Kill()
			<-p.exited
			p.stopErr = errors.New("greeter-server did not stop within 5s and was killed")
		}
	})
	return p.stopErr
}
