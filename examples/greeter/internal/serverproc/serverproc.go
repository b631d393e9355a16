// Package serverproc runs greeter-server processes for the demos: on free
// 127.0.0.1 ports, read until they print their addresses, stopped with
// SIGINT and killed if they do not stop.
package serverproc

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

	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/logbuf"
)

// StopTimeout bounds a graceful stop; after it the server is killed.
const StopTimeout = 5 * time.Second

// Process is a running greeter-server.
type Process struct {
	// Addr is its gRPC address.
	Addr string
	// HTTPURL is the base URL of its /metrics, /faults, /stats and
	// /config.
	HTTPURL string
	// Stderr holds what it wrote to its standard error (its logs).
	Stderr *logbuf.Buffer

	cmd      *exec.Cmd
	exited   chan struct{}
	waitErr  error
	stopOnce sync.Once
	stopErr  error
}

// Start starts bin/greeter-server with the extra flags and waits until it
// prints its addresses. It tells w the command line under label and, with
// echo, every line the server prints while starting.
func Start(ctx context.Context, bin string, w io.Writer, label string, echo bool, extra ...string) (*Process, error) {
	path := filepath.Join(bin, "greeter-server")
	if _, err := os.Stat(path); err != nil {
		abs, _ := filepath.Abs(path)
		return nil, fmt.Errorf("%w (build it in the examples module: go build -o %s ./greeter/server)", err, abs)
	}
	args := append([]string{"-addr", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0"}, extra...)
	fmt.Fprintf(w, "Starting %s:\n  $ %s %s\n", label, path, strings.Join(args, " "))
	p := &Process{cmd: exec.Command(path, args...), Stderr: &logbuf.Buffer{}, exited: make(chan struct{})}
	p.cmd.Stderr = p.Stderr
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
			default: // nobody reads after startup: never block the server
			}
		}
		close(lines)
		p.waitErr = p.cmd.Wait() // after the pipe is read to its end
		close(p.exited)
	}()
	if err := p.awaitAddresses(ctx, lines, w, echo); err != nil {
		_ = p.Stop()
		return nil, err
	}
	return p, nil
}

// awaitAddresses reads the server's first lines until both addresses are
// known.
func (p *Process) awaitAddresses(ctx context.Context, lines <-chan string, w io.Writer, echo bool) error {
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	for p.Addr == "" || p.HTTPURL == "" {
		select {
		case line, ok := <-lines:
			if !ok {
				<-p.exited
				return fmt.Errorf("the server exited before it listened: %v\n%s", p.waitErr, p.Stderr.String())
			}
			if echo {
				fmt.Fprintf(w, "  %s\n", line)
			}
			if a, ok := strings.CutPrefix(line, "greeter: listening on "); ok {
				p.Addr = a
			}
			if a, ok := strings.CutPrefix(line, "greeter: http on "); ok {
				p.HTTPURL, _, _ = strings.Cut(a, " ")
			}
		case <-timer.C:
			return errors.New("the server did not print its addresses within 10s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Stop asks the server to shut down (SIGINT), kills it if it has not
// exited within StopTimeout, and waits for it.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		t := time.NewTimer(StopTimeout)
		defer t.Stop()
		select {
		case <-p.exited:
			if p.waitErr != nil {
				p.stopErr = fmt.Errorf("the server exited with %v", p.waitErr)
			}
		case <-t.C:
			_ = p.cmd.Process.Kill()
			<-p.exited
			p.stopErr = fmt.Errorf("the server did not stop within %v and was killed", StopTimeout)
		}
	})
	return p.stopErr
}

// Signal sends sig to the server, for example syscall.SIGHUP to make a
// server started with -config read its file again.
func (p *Process) Signal(sig os.Signal) error {
	select {
	case <-p.exited:
		return errors.New("the server has exited")
	default:
	}
	return p.cmd.Process.Signal(sig)
}

// Requests reads, from the server's /stats, how many requests its service
// has handled.
func (p *Process) Requests(ctx context.Context, client *http.Client) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.HTTPURL+"/stats", nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
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
