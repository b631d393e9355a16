// Command demo is what `make demo` runs: it starts the greeter server with
// chaos on, on free 127.0.0.1 ports, calls it with the client once for each
// kind of outcome (a success, each seed application error, an ordinary Go
// error, a panic, a deadline), prints what the client decodes and what the
// server logged, checks each against what Bulwark promises, and stops the
// server. It exits 1 if anything was not as expected.
//
// Usage:
//
//	go build -o .bin/greeter-server ./examples/greeter/server
//	go build -o .bin/greeter-client ./examples/greeter/client
//	go run ./examples/greeter/demo -bin .bin
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", ".bin", "directory holding the greeter-server and greeter-client binaries")
	timeout := flag.Duration("timeout", time.Minute, "bound on the whole demo")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	err := run(ctx, *bin, os.Stdout)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// run runs the demo, printing to w. It returns an error when a scenario was
// not as expected or the server could not be run; the server is stopped in
// every case.
func run(ctx context.Context, bin string, w io.Writer) (err error) {
	fmt.Fprintln(w, "Bulwark demo: the greeter server fails on request (greeter-fault metadata),")
	fmt.Fprintln(w, "and the client shows each error as Bulwark's client interceptor decodes it.")
	fmt.Fprintln(w)
	srv, err := startServer(ctx, bin, w)
	if err != nil {
		return err
	}
	defer func() {
		if stopErr := srv.stop(); stopErr != nil && err == nil {
			err = stopErr
		}
		fmt.Fprintln(w, "server stopped.")
	}()

	failed := 0
	for i, sc := range scenarios() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped before scenario %d: %w", i+1, err)
		}
		if !sc.run(ctx, w, i+1, bin, srv) {
			failed++
		}
	}
	if !checkHTTP(ctx, w, srv) {
		failed++
	}
	fmt.Fprintln(w)
	if failed > 0 {
		fmt.Fprintf(w, "%d check(s) were NOT as expected.\n", failed)
		return fmt.Errorf("%d check(s) failed", failed)
	}
	fmt.Fprintf(w, "All %d scenarios behaved as expected: every error reached the client with its code, and nothing internal leaked.\n", len(scenarios()))
	return nil
}
