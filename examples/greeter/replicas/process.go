package main

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/serverproc"
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
	*serverproc.Process
}

// startProcess starts bin/greeter-server on free 127.0.0.1 ports with the
// extra flags, and waits until it prints its addresses.
func startProcess(ctx context.Context, bin string, w io.Writer, label string, extra ...string) (*process, error) {
	p, err := serverproc.Start(ctx, bin, w, label, false, extra...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	fmt.Fprintf(w, "  listening on %s\n", p.Addr)
	return &process{p}, nil
}

func (p *process) address() string { return p.Addr }

// requests reads the server's /stats.
func (p *process) requests(ctx context.Context) (int64, error) {
	return p.Requests(ctx, http.DefaultClient)
}

// stop stops the server (see serverproc.Process.Stop).
func (p *process) stop() error { return p.Stop() }
