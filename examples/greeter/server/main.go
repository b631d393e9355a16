// Command server runs the greeter example's gRPC server with fault
// injection. See examples/greeter/README.md.
//
// Usage:
//
//	server [-addr 127.0.0.1:50051] [-metrics-addr 127.0.0.1:9464] [-chaos]
//	       [-fail-rate 0.3] [-fail-code UNAVAILABLE] [-latency 50ms]
//	       [-slow-rate 0.05] [-slow-latency 1s] [-retry-after 0]
//	       [-capacity 0] [-debug-info] [-limit 0] [-adaptive] [-breaker]
//	       [-config FILE] [-bare]
//
// Without -bare it serves through Bulwark's server chain (request id,
// logging, metrics, error boundary, deadline check, and with -limit or
// -adaptive load shedding, with -breaker a circuit breaker per method);
// with -bare it is a plain gRPC server with no interceptor at all.
//
// -config names a JSON file holding the chain's live settings
// (greeter.Live), for example
//
//	{"limit": 8, "min_remaining": "1ms", "max_deadline": "0s", "breaker_failures": 5, "breaker_open": "5s"}
//
// It is read at start: a nonzero limit turns load shedding on as -limit
// would, and nonzero breaker settings turn the breaker on as -breaker
// would. A flag given explicitly must agree with the file (-limit 4 with
// "limit": 8 is refused, as is -breaker=false with breaker settings);
// -config with -bare is refused. On SIGHUP the server reads the file again
// and applies it while it serves (greeter.Server.Reconfigure); a file that
// cannot be read or is refused changes nothing. Either way it logs the
// result and prints a line, "greeter: config reloaded from FILE: JSON" or
// "greeter: config reload from FILE failed; ...". POST /config changes the
// same settings over HTTP.
//
// It prints "greeter: listening on ADDR" on its first line of standard
// output once it accepts calls (ADDR is the bound address, useful with
// port 0), then "greeter: http on http://ADDR" when the metrics address is
// set. Its log goes to standard error as JSON. SIGINT or SIGTERM stop it
// gracefully.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
)

// shutdownGrace is how long running calls may take to finish on shutdown.
const shutdownGrace = 5 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "greeter:", err)
		}
		stop()
		os.Exit(2)
	}
}

// run serves until ctx ends, then shuts down gracefully.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:50051", "gRPC listen address (port 0 picks a free port)")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9464", `HTTP address of /metrics, /faults and /stats ("" disables)`)
	var cfg greeter.Config
	fs.Float64Var(&cfg.FailRate, "fail-rate", 0, "share of calls, 0 to 1, that fail with -fail-code")
	fs.StringVar(&cfg.FailCode, "fail-code", greeter.DefaultFailCode, "application code (DB_ERROR, VALIDATION_ERROR, EXTERNAL_SERVICE_ERROR, ...) or gRPC code name (UNAVAILABLE, ...) of the failing calls")
	fs.DurationVar(&cfg.Latency, "latency", 0, "latency added to every call")
	fs.Float64Var(&cfg.SlowRate, "slow-rate", 0, "share of calls, 0 to 1, spread evenly, that take -slow-latency longer")
	fs.DurationVar(&cfg.SlowLatency, "slow-latency", 0, "extra latency of the -slow-rate share of calls")
	fs.DurationVar(&cfg.RetryAfter, "retry-after", 0, "delay hint sent with retryable injected failures (0: none)")
	fs.IntVar(&cfg.Capacity, "capacity", 0, "calls worked on at once; more wait for a slot (0: unlimited)")
	fs.BoolVar(&cfg.Chaos, "chaos", false, "honour per-request faults from the greeter-fault metadata")
	debugInfo := fs.Bool("debug-info", false, "send error causes and panic stacks to callers in google.rpc.DebugInfo (development only)")
	bare := fs.Bool("bare", false, "plain gRPC server: no Bulwark interceptor at all (no error boundary, metrics, deadline check or load shedding)")
	limit := fs.Int("limit", 0, "shed load beyond this many calls in flight, with SERVER_OVERLOADED and pushback (0: off; with -adaptive, the adaptive limit's maximum)")
	adaptive := fs.Bool("adaptive", false, "shed load beyond an adaptive limit that follows latency (gradient)")
	breaker := fs.Bool("breaker", false, "a circuit breaker per method in front of the service")
	configPath := fs.String("config", "", "JSON file of the chain's live settings (limit, min_remaining, max_deadline, breaker_failures, breaker_open), read at start and on SIGHUP")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	// Caught from now on, so that a SIGHUP sent while the server starts
	// is a reload once it serves, not the end of the process.
	hup := make(chan os.Signal, 1)
	if *configPath != "" {
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
	}
	serverOpts := []greeter.ServerOption{greeter.WithDebugInfo(*debugInfo), greeter.WithBare(*bare),
		greeter.WithLimit(*limit), greeter.WithAdaptive(*adaptive), greeter.WithCircuitBreaker(*breaker)}
	if *configPath != "" {
		live, err := startLive(fs, *configPath)
		if err != nil {
			return err
		}
		serverOpts = append(serverOpts, greeter.WithLive(live))
	}

	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	svc, err := greeter.New(cfg)
	if err != nil {
		return err
	}
	srv, err := greeter.NewServer(svc, logger, serverOpts...)
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	var httpSrv *http.Server
	var httpLis net.Listener
	if *metricsAddr != "" {
		httpLis, err = net.Listen("tcp", *metricsAddr)
		if err != nil {
			_ = lis.Close()
			return err
		}
		httpSrv = &http.Server{Handler: srv.HTTPHandler(), ReadHeaderTimeout: 5 * time.Second}
	}

	served := make(chan error, 2)
	go func() { served <- srv.GRPC.Serve(lis) }()
	fmt.Fprintf(stdout, "greeter: listening on %s\n", lis.Addr())
	if httpSrv != nil {
		go func() { served <- httpSrv.Serve(httpLis) }()
		endpoints := "/metrics, /faults, /stats, /config"
		if *bare {
			endpoints = "/metrics, /faults, /stats"
		}
		fmt.Fprintf(stdout, "greeter: http on http://%s (%s)\n", httpLis.Addr(), endpoints)
	}
	c := svc.Config()
	logger.Info("greeter started", "addr", lis.Addr().String(), "bare", *bare, "adaptive", *adaptive,
		"breaker", srv.Chain != nil && srv.Chain.Circuit() != nil, "config_file", *configPath, "live", srv.Live(),
		"chaos", c.Chaos, "fail_rate", c.FailRate, "fail_code", c.FailCode, "latency", c.Latency.String(),
		"slow_rate", c.SlowRate, "slow_latency", c.SlowLatency.String(), "capacity", c.Capacity)

	var serveErr error
serve:
	for {
		select {
		case <-ctx.Done():
			break serve
		case serveErr = <-served:
			break serve
		case <-hup:
			reload(srv, *configPath, stdout, logger)
		}
	}
	fmt.Fprintln(stdout, "greeter: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if httpSrv != nil {
		_ = httpSrv.Shutdown(shutdownCtx)
	}
	srv.Shutdown(shutdownCtx)
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// startLive reads the -config file at start and checks it against the
// flags given explicitly: they must agree.
func startLive(fs *flag.FlagSet, path string) (greeter.Live, error) {
	live, err := readLive(path)
	if err != nil {
		return greeter.Live{}, fmt.Errorf("-config: %w", err)
	}
	var conflict error
	fs.Visit(func(f *flag.Flag) {
		v := f.Value.(flag.Getter).Get()
		switch {
		case f.Name == "bare" && v == true:
			conflict = errors.New("-config with -bare: a bare server has no chain to configure")
		case f.Name == "limit" && live.Limit != 0 && v != live.Limit:
			conflict = fmt.Errorf("-limit %v and the limit %d in %s disagree: give the limit once", v, live.Limit, path)
		case f.Name == "breaker" && v == false && (live.BreakerFailures != 0 || live.BreakerOpen != 0):
			conflict = fmt.Errorf("-breaker=false and the breaker settings in %s disagree", path)
		}
	})
	return live, conflict
}

// readLive reads a greeter.Live from the JSON file at path.
func readLive(path string) (greeter.Live, error) {
	f, err := os.Open(path)
	if err != nil {
		return greeter.Live{}, err
	}
	defer f.Close()
	live, err := greeter.ReadLive(f)
	if err != nil {
		return greeter.Live{}, fmt.Errorf("%s: %w", path, err)
	}
	return live, nil
}

// reload reads the -config file again and applies it to srv, or keeps the
// settings in force when it cannot; it logs the result and prints a line.
func reload(srv *greeter.Server, path string, stdout io.Writer, logger *slog.Logger) {
	live, err := readLive(path)
	if err == nil {
		err = srv.Reconfigure(live)
	}
	if err != nil {
		logger.Error("greeter: config reload failed; the settings in force are kept", "file", path, "error", err.Error())
		fmt.Fprintf(stdout, "greeter: config reload from %s failed; kept the settings in force: %s\n",
			path, strings.ReplaceAll(err.Error(), "\n", "; "))
		return
	}
	live = srv.Live()
	logger.Info("greeter: config reloaded", "file", path, "live", live)
	text, _ := json.Marshal(live)
	fmt.Fprintf(stdout, "greeter: config reloaded from %s: %s\n", path, text)
}
