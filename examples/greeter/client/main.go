// Command client calls the greeter example's server, with Bulwark's client
// interceptors or without them (-bare), and reports what happened: for one
// call, the reply or the error as decoded into an
// *errdetails.ApplicationError; for many, a summary, as one JSON object with
// -json. See examples/greeter/README.md.
//
// Usage:
//
//	client [-target 127.0.0.1:50051] [-n 1] [-c 1] [-deadline 5s] [-bare]
//	       [-json] [-name world] [-fault error=DB_ERROR]
//	       [-method unary|stream|bidi] [-count 3]
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
	"os"
	"os/signal"
	"syscall"
	"time"

	"google.golang.org/grpc"

	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the client's flags.
type options struct {
	target string
	bare   bool
	json   bool
	work   workload.Config
}

func parse(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.target, "target", "127.0.0.1:50051", "server address")
	fs.IntVar(&o.work.Calls, "n", 1, "number of calls")
	fs.IntVar(&o.work.Concurrency, "c", 1, "calls at a time")
	fs.DurationVar(&o.work.Deadline, "deadline", 5*time.Second, "deadline of each call (0: none)")
	fs.BoolVar(&o.bare, "bare", false, "plain gRPC: no Bulwark interceptors at all")
	fs.BoolVar(&o.json, "json", false, "print one JSON object summing up the calls")
	fs.StringVar(&o.work.Name, "name", "world", "who to greet")
	fs.StringVar(&o.work.Fault, "fault", "", "greeter-fault metadata for a server started with -chaos, e.g. error=DB_ERROR, plain-error, panic, delay=2s")
	fs.StringVar(&o.work.Method, "method", workload.Unary, "method to call: unary (SayHello), stream (SayHelloStream) or bidi (Chat)")
	fs.IntVar(&o.work.Count, "count", 3, "greetings per stream or bidi call")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
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
	var attempts workload.AttemptCounter
	transitions := newTransitionLog()
	dial, err := dialOptions(o.bare, &attempts, transitions)
	if err != nil {
		fmt.Fprintln(stderr, "client:", err)
		return 2
	}
	conn, err := grpc.NewClient(o.target, dial...)
	if err != nil {
		fmt.Fprintln(stderr, "client:", err)
		return 2
	}
	defer conn.Close()

	begin := time.Now()
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
	if o.json {
		if err := json.NewEncoder(stdout).Encode(s); err != nil {
			fmt.Fprintln(stderr, "client:", err)
			return 2
		}
		return 0
	}
	if len(results) == 1 {
		printOne(stdout, o.work.Method, results[0])
	} else {
		printSummary(stdout, o.work, s)
	}
	if s.OK < s.Calls || s.Calls < o.work.Calls {
		return 1
	}
	return 0
}
