// Command replicas shows one bad replica of three, called three ways. It
// starts three greeter servers on free 127.0.0.1 ports, one of which fails
// every call with UNAVAILABLE, and calls them through one client channel
// that resolves all three (a manual resolver):
//
//  1. bare gRPC with round_robin: a third of the calls fail;
//  2. Bulwark's client chain with its circuit breaker, still round_robin:
//     the breaker is per target and a third of failures is under its
//     threshold, so it stays closed and a third of the calls still fail
//     (were it to open, it would refuse the good replicas' calls too);
//  3. the same chain over Bulwark's outlier policy
//     (bulwark_outlier_detection): the bad replica is ejected after five
//     failed calls, and the rest succeed.
//
// It prints a table and exits 1 unless the third run reaches 99% success
// with the bad replica serving at most 5% of its calls.
//
// Usage:
//
//	go -C examples build -o ../.bin/greeter-server ./greeter/server
//	go -C examples run ./greeter/replicas -bin ../.bin [-calls 3000]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc/balancer"

	"github.com/bulwarkrpc/bulwark/balancer/outlier"
)

// policyName is the name of this program's outlier policy, whose ejections
// are logged.
const policyName = "bulwark_outlier_detection_replicas"

// ejectionLog receives the policy's log records; main points it at its
// output.
var ejectionLog = &switchWriter{w: io.Discard}

func init() {
	// grpc-go's balancer registry is filled during initialisation.
	policy, err := outlier.New(
		outlier.WithName(policyName),
		outlier.WithLogger(slog.New(slog.NewTextHandler(ejectionLog, &slog.HandlerOptions{ReplaceAttr: dropTime}))),
	)
	if err != nil {
		panic(err)
	}
	balancer.Register(policy)
}

func main() {
	bin := flag.String("bin", ".bin", "directory holding the greeter-server binary")
	calls := flag.Int("calls", 3000, "calls per run")
	timeout := flag.Duration("timeout", 2*time.Minute, "bound on the whole program")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	err := run(ctx, *bin, *calls, os.Stdout)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "replicas:", err)
		os.Exit(1)
	}
}

// run starts the three servers, runs the three ways, prints the table, and
// stops the servers.
func run(ctx context.Context, bin string, calls int, w io.Writer) (err error) {
	fmt.Fprintln(w, "One bad replica of three: two healthy greeter servers, one failing every call with UNAVAILABLE.")
	var reps []replica
	defer func() {
		for _, r := range reps {
			if stopErr := r.stop(); stopErr != nil && err == nil {
				err = stopErr
			}
		}
	}()
	for i, extra := range [][]string{nil, nil, {"-fail-rate", "1", "-fail-code", "UNAVAILABLE"}} {
		label := fmt.Sprintf("replica %d (healthy)", i)
		if extra != nil {
			label = fmt.Sprintf("replica %d (bad)", i)
		}
		p, err := startProcess(ctx, bin, w, label, extra...)
		if err != nil {
			return err
		}
		reps = append(reps, p)
	}
	ejectionLog.set(w)
	defer ejectionLog.set(io.Discard)
	results, err := runAll(ctx, reps, 2, calls, w)
	if err != nil {
		return err
	}
	fmt.Fprintln(w)
	printTable(w, results)
	return check(results)
}
