// Command demo is what `make demo` runs. It starts two greeter servers on
// free 127.0.0.1 ports, one with Bulwark's server chain and one bare gRPC
// server, and then:
//
//  1. (-errors) calls the Bulwark server with the Bulwark client once for
//     each kind of outcome (a success, each seed application error, an
//     ordinary Go error, a panic, a deadline), prints what the client
//     decodes and what the server logged, and checks each against what
//     Bulwark promises;
//  2. (-compare) runs five scenarios (healthy, flaky, outage, overload,
//     slow), each twice with the same calls and the same faults: the bare
//     client against the bare server, and the Bulwark client against the
//     Bulwark server, changing the faults through the servers' /faults
//     endpoints; it prints progress as it goes and then a table side by
//     side: success, codes, attempts per call, p50 and p99, the breaker's
//     states over time, and rejections by reason;
//  3. (-live) changes the Bulwark server's load-shedding limit while it
//     serves: with 100ms of latency per call (set through /faults), the
//     bare client runs the same 40 calls three times, at the limit of 8
//     read from the server's -config file, after POST /config lowers it to
//     2, and after the file is rewritten and the server gets SIGHUP; in
//     between, a POST /config with limit 0 is refused with 400. It prints
//     the share of calls shed in each run and the server's
//     bulwark_config_reloads_total, and checks that the lowered limit shed
//     clearly more (at least 20 points), that raising it brought that back
//     down, and that the counter says 2 reloads applied and 1 refused.
//
// It stops the servers and exits 1 if anything was not as expected,
// including a scenario in which Bulwark did not come out ahead.
//
// Usage:
//
//	go -C examples build -o ../.bin/greeter-server ./greeter/server
//	go -C examples build -o ../.bin/greeter-client ./greeter/client
//	go -C examples run ./greeter/demo -bin ../.bin [-quick] [-errors=false] [-compare=false] [-live=false]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is what the demo does.
type config struct {
	bin     string
	errors  bool    // the error walkthrough
	compare bool    // the scenarios
	live    bool    // live reconfiguration
	scale   float64 // of the scenarios' runs: 1, less to be quick
}

func main() {
	var cfg config
	flag.StringVar(&cfg.bin, "bin", ".bin", "directory holding the greeter-server and greeter-client binaries")
	flag.BoolVar(&cfg.errors, "errors", true, "show each kind of error as the client decodes it")
	flag.BoolVar(&cfg.compare, "compare", true, "run the scenarios, bare gRPC against Bulwark")
	flag.BoolVar(&cfg.live, "live", true, "change the Bulwark server's limit while it serves (POST /config, SIGHUP)")
	quick := flag.Bool("quick", false, "runs a fifth as long (less telling: for tests)")
	timeout := flag.Duration("timeout", 2*time.Minute, "bound on the whole demo")
	flag.Parse()
	cfg.scale = 1
	if *quick {
		cfg.scale = quickScale
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	_, err := run(ctx, cfg, os.Stdout)
	cancel()
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

// quickScale is the length of -quick runs, against full ones.
const quickScale = 0.2

// run runs the demo, printing to w, and returns the scenarios' outcomes.
// It returns an error when something was not as expected or a server could
// not be run; the servers are stopped in every case.
func run(ctx context.Context, cfg config, w io.Writer) (outcomes []outcome, err error) {
	begin := time.Now()
	fmt.Fprintln(w, "Bulwark demo: a greeter service that fails on purpose, called with and without Bulwark.")
	fmt.Fprintln(w)
	// The Bulwark server's -config file, removed after the servers stop.
	bwFlags := bulwarkServerFlags
	var configPath string
	if cfg.live {
		path, remove, err := writeLiveFile()
		if err != nil {
			return nil, err
		}
		defer remove()
		configPath = path
		bwFlags = append(append([]string{}, bwFlags...), "-config", path)
	}
	var servers []*server
	defer func() {
		for _, s := range servers {
			if stopErr := s.Stop(); stopErr != nil && err == nil {
				err = stopErr
			}
		}
		if len(servers) > 0 {
			fmt.Fprintln(w, "servers stopped.")
		}
	}()
	bw, err := startServer(ctx, cfg.bin, w, "Bulwark server (Bulwark's server chain, load shedding beyond 8 calls in flight)", bwFlags...)
	if err != nil {
		return nil, err
	}
	servers = append(servers, bw)
	var bare *server
	if cfg.compare {
		if bare, err = startServer(ctx, cfg.bin, w, "bare server (plain gRPC, no interceptor)", "-bare"); err != nil {
			return nil, err
		}
		servers = append(servers, bare)
	}
	fmt.Fprintf(w, "\nThe Bulwark server's Prometheus metrics, live while the demo runs: %s/metrics\n", bw.HTTPURL)

	failed := 0
	if cfg.errors {
		failed += walkthrough(ctx, w, cfg.bin, bw)
	}
	if cfg.compare {
		var n int
		if outcomes, n, err = compare(ctx, w, cfg, bare, bw); err != nil {
			return outcomes, err
		}
		failed += n
	}
	if cfg.live {
		failed += reconfigure(ctx, w, cfg.bin, bw, configPath)
	}
	fmt.Fprintln(w)
	if failed > 0 {
		fmt.Fprintf(w, "%d check(s) were NOT as expected.\n", failed)
		return outcomes, fmt.Errorf("%d check(s) failed", failed)
	}
	fmt.Fprintf(w, "Everything behaved as expected (%.1fs).\n", time.Since(begin).Seconds())
	return outcomes, nil
}

// walkthrough runs the error cases and the HTTP check against srv and
// returns how many were not as expected.
func walkthrough(ctx context.Context, w io.Writer, bin string, srv *server) int {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Part 1: each kind of error, as Bulwark's client decodes it. The server fails on request")
	fmt.Fprintln(w, "(greeter-fault metadata); the client makes up to 3 attempts of calls that may be retried.")
	failed := 0
	for i, ec := range errorCases() {
		if ctx.Err() != nil {
			return failed + 1
		}
		if !ec.run(ctx, w, i+1, bin, srv) {
			failed++
		}
	}
	if !checkHTTP(ctx, w, srv) {
		failed++
	}
	if failed == 0 {
		fmt.Fprintf(w, "\nAll %d error cases behaved as expected: every error reached the client with its code, and nothing internal leaked.\n", len(errorCases()))
	}
	return failed
}

// compare runs the scenarios, prints the table, and returns the outcomes
// and how many runs failed or scenarios did not show Bulwark ahead (with
// -quick, runs that failed only). It returns an error when ctx ended.
func compare(ctx context.Context, w io.Writer, cfg config, bare, bw *server) ([]outcome, int, error) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Part 2: bare gRPC against Bulwark. Each scenario runs twice with the same calls and the same")
	fmt.Fprintln(w, "faults (set through the servers' /faults): the bare client against the bare server, then the")
	fmt.Fprintln(w, "Bulwark client against the Bulwark server. Calls arrive at a fixed rate (an open loop).")
	fmt.Fprintf(w, "  Bulwark client: greeter-client %s\n", joinArgs(bulwarkClientFlags()))
	fmt.Fprintf(w, "  Bulwark server: greeter-server %s\n", joinArgs(bulwarkServerFlags))
	if cfg.scale != 1 {
		fmt.Fprintf(w, "  -quick: runs %.0f%% as long as the real demo's; the numbers say less, and who comes out ahead is not checked.\n", 100*cfg.scale)
	}
	c := &comparer{bin: cfg.bin, bare: bare, bw: bw, scale: cfg.scale, w: w,
		http: &http.Client{Timeout: 5 * time.Second}, concurrency: 500}
	defer c.http.CloseIdleConnections()
	scs := comparisons()
	fmt.Fprintln(w)
	for i, sc := range scs {
		fmt.Fprintf(w, "%d. %s: %s\n", i+1, sc.name, sc.explain)
	}
	fmt.Fprintln(w)
	var outcomes []outcome
	for i, sc := range scs {
		o := outcome{sc: sc}
		o.bare = c.run(ctx, sc, "bare", 2*i+1, 2*len(scs))
		if err := ctx.Err(); err != nil {
			return outcomes, 0, err
		}
		o.bw = c.run(ctx, sc, "bulwark", 2*i+2, 2*len(scs))
		if err := ctx.Err(); err != nil {
			return outcomes, 0, err
		}
		outcomes = append(outcomes, o)
	}
	failedRuns, behind := printTable(w, outcomes, cfg.scale == 1)
	return outcomes, failedRuns + behind, nil
}
