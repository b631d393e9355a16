// Command client calls the greeter example's server, with Bulwark's client
// interceptors or without them (-bare), and reports what happened: for one
// call, the reply or the error as decoded into an
// *errdetails.ApplicationError; for many, a summary, as one JSON object with
// -json. See examples/greeter/README.md.
//
// Usage:
//
//	client [-target 127.0.0.1:50051] [-n 1] [-c 1] [-rate 0] [-deadline 5s]
//	       [-bare] [-json] [-name world] [-fault error=DB_ERROR]
//	       [-method unary|stream|bidi] [-count 3]
//	       [-attempts 3] [-attempt-timeout 0] [-hedge 0]
//	       [-breaker-failures 0] [-breaker-min-calls 20] [-breaker-open 5s]
//	       [-breaker-max-open 1m] [-fallback] [-limit 0] [-v]
//
// Without -bare the calls go through Bulwark's client chain
// (interceptors.NewClientChain): metrics, the default deadline, retry with
// its budget, the circuit breaker, and with -limit a concurrency limit; the
// flags after -count set it up.
//
// Exit status: 0 when every call succeeded, or with -json whatever the
// calls returned; 1 when a call failed (without -json); 2 on a usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
	"github.com/bulwarkrpc/bulwark/interceptors"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the client's flags.
type options struct {
	target  string
	bare    bool
	json    bool
	verbose bool
	// fallback sets up the breaker's fallback (bulwarkConfig.fallback).
	fallback bool
	work     workload.Config
	bulwark  bulwarkConfig
}

func parse(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.target, "target", "127.0.0.1:50051", "server address")
	fs.IntVar(&o.work.Calls, "n", 1, "number of calls")
	fs.IntVar(&o.work.Concurrency, "c", 1, "calls at a time (with -rate: at most this many in flight)")
	fs.Float64Var(&o.work.Rate, "rate", 0, "start calls at this many per second, whether or not earlier ones ended (0: each of the -c callers starts its next call when the last ends)")
	fs.DurationVar(&o.work.Deadline, "deadline", 5*time.Second, "deadline of each call (0: none)")
	fs.BoolVar(&o.bare, "bare", false, "plain gRPC: no Bulwark interceptors at all")
	fs.BoolVar(&o.json, "json", false, "print one JSON object summing up the calls")
	fs.StringVar(&o.work.Name, "name", "world", "who to greet")
	fs.StringVar(&o.work.Fault, "fault", "", "greeter-fault metadata for a server started with -chaos, e.g. error=DB_ERROR, plain-error, panic, delay=2s")
	fs.StringVar(&o.work.Method, "method", workload.Unary, "method to call: unary (SayHello), stream (SayHelloStream) or bidi (Chat)")
	fs.IntVar(&o.work.Count, "count", 3, "greetings per stream or bidi call")
	fs.IntVar(&o.bulwark.attempts, "attempts", 3, "attempts per call, the first included (1: no retries)")
	fs.DurationVar(&o.bulwark.attemptTimeout, "attempt-timeout", 0, "timeout of each attempt; a timed-out attempt is retried while the deadline allows (0: none)")
	fs.DurationVar(&o.bulwark.hedge, "hedge", 0, "send another attempt when none has answered after this long, up to -attempts (0: no hedging)")
	fs.IntVar(&o.bulwark.breakerFailures, "breaker-failures", defaultBreakerFailures, "also open the circuit breaker after this many failures in a row (0: off; the failure-rate rule, 50% over 10s, decides)")
	fs.IntVar(&o.bulwark.breakerMinCalls, "breaker-min-calls", defaultBreakerMinCalls, "calls the breaker's 10s window must hold before its failure rate (50%) may open it")
	fs.DurationVar(&o.bulwark.breakerOpen, "breaker-open", defaultBreakerOpen, "how long the breaker stays open before it lets probes through (doubles on each reopening)")
	fs.DurationVar(&o.bulwark.breakerMaxOpen, "breaker-max-open", defaultBreakerMaxOpen, "the longest the open time grows to (equal to -breaker-open: it never grows)")
	fs.BoolVar(&o.fallback, "fallback", false, "answer a unary call the breaker refuses with the last reply the server sent for the same name (counted apart, as fallbacks)")
	fs.IntVar(&o.bulwark.limit, "limit", 0, "client concurrency limit: attempts in flight beyond it are refused locally (0: none)")
	fs.BoolVar(&o.verbose, "v", false, "log failed calls and Bulwark's events (retries, breaker transitions) to standard error")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.fallback && o.bare {
		return o, errors.New("-fallback with -bare: the fallback answers the calls Bulwark's circuit breaker refuses, and -bare has none")
	}
	if o.work.Count == 0 {
		return o, errors.New("-count 0: must be at least 1")
	}
	return o, o.work.Validate()
}

// run runs the client and returns its exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "client:", err)
		return 2
	}
	var rejections workload.Rejections
	attempts := &workload.AttemptCounter{Rejections: &rejections}
	transitions := newTransitionLog()
	var chain *interceptors.ClientChain
	if !o.bare {
		if o.verbose {
			o.bulwark.logger = slog.New(slog.NewJSONHandler(stderr, nil))
		}
		if o.fallback {
			o.bulwark.fallback = newReplyCache()
		}
		obs := observers{rejections: &rejections, transitions: transitions}
		if chain, err = bulwarkChain(o.bulwark, prometheus.NewRegistry(), obs); err != nil {
			fmt.Fprintln(stderr, "client:", err)
			return 2
		}
		defer chain.Close()
	}
	conn, err := grpc.NewClient(o.target, dialOptions(chain, o.bulwark.fallback, attempts)...)
	if err != nil {
		fmt.Fprintln(stderr, "client:", err)
		return 2
	}
	defer conn.Close()

	begin := time.Now()
	transitions.Start(begin)
	results, err := workload.Run(ctx, greeterv1.NewGreeterClient(conn), o.work)
	elapsed := time.Since(begin)
	if err != nil && len(results) == 0 {
		fmt.Fprintln(stderr, "client:", err)
		return 2
	}
	mode := "bulwark"
	if o.bare {
		mode = "bare"
	}
	s := workload.Summarize(o.work, o.target, mode, results, attempts.Count(), elapsed, transitions.List())
	s.AddRejections(&rejections)
	if o.bulwark.fallback != nil {
		s.Fallbacks = o.bulwark.fallback.Served()
	}
	if o.json {
		if err := json.NewEncoder(stdout).Encode(s); err != nil {
			fmt.Fprintln(stderr, "client:", err)
			return 2
		}
		return 0
	}
	if len(results) == 1 {
		printOne(stdout, o.work.Method, results[0], s.Attempts)
	} else {
		printSummary(stdout, o.work, s)
	}
	if s.OK < s.Calls || s.Calls < o.work.Calls {
		return 1
	}
	return 0
}
