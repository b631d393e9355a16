// Package e2e measures whole calls: a client and a server in one process,
// over TCP on 127.0.0.1, each with an implementation's interceptor stack
// (internal/stacks), loaded by a closed loop of a fixed number of callers.
//
// It reports paired ratios to bare gRPC: every round runs every
// implementation once on every workload, in an order that rotates from
// round to round, with the same number of calls; each implementation's
// throughput, p50 and p99 latency are divided by bare gRPC's figure of the
// same round and workload, and the ratios are summarized over the rounds
// (median, min, max). A burst of load from another process then slows one
// round of one implementation, not all the runs of one of them.
// Allocations per call are runtime.MemStats.Mallocs deltas over a run:
// client and server together, since both live in this process.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bulwarkrpc/bulwark/bench/internal/cputime"
	"github.com/bulwarkrpc/bulwark/bench/internal/stacks"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// Config bounds a run. Rounds, Calls and Warmup must be positive; InFlight
// may be empty only with Streams. Without "bare" in Impls (for example to
// profile one implementation alone) there are no ratios.
type Config struct {
	Impls    []string // implementations of internal/stacks
	Log      bool     // the stacks log finished calls (to io.Discard at Info)
	Rounds   int      // rounds; each runs every implementation on every workload once
	Calls    int      // unary calls per implementation, workload and round
	InFlight []int    // callers of the unary workloads, one workload each
	// Streams is the number of server-streaming calls per implementation
	// and round (0: none), made only through stacks with stream
	// interceptors, and bare.
	Streams     int
	Messages    int // messages per server-streaming call
	StreamsOpen int // callers of the server-streaming workload
	Warmup      int // unary calls per implementation before the first round
	// Progress, when not nil, receives one line per measurement, the raw
	// figures behind the table.
	Progress io.Writer
	// Measured, when not nil, is called after the warm-up, before the first
	// round (for example to start a CPU profile).
	Measured func()
}

// Workload names a load shape: unary calls with n callers, or
// server-streaming calls of m messages with n callers.
type Workload struct {
	Stream   bool
	InFlight int
	Messages int
}

func (w Workload) String() string {
	if w.Stream {
		return fmt.Sprintf("stream/%dmsg/inflight=%d", w.Messages, w.InFlight)
	}
	return fmt.Sprintf("unary/inflight=%d", w.InFlight)
}

// Sample is one implementation's figures on one workload in one round.
type Sample struct {
	Round    int
	Workload Workload
	Impl     string
	Calls    int           // calls made (each stream is one call)
	Elapsed  time.Duration // wall time of the run
	P50, P99 time.Duration // per call (a whole stream for streams)
	CPU      time.Duration // CPU time of the process during the run, client and server
	Mallocs  uint64        // heap allocations during the run, client and server
	Bytes    uint64        // bytes allocated during the run
	GCs      uint32        // garbage collections during the run
	Load     string        // /proc/loadavg's first three fields after the run
}

// PerOp is the time per call, or per message on a streaming workload, as
// the closed loop saw it (wall time divided by operations).
func (s Sample) PerOp() time.Duration {
	return s.Elapsed / time.Duration(s.ops())
}

// CPUPerOp is the process's CPU time per call, or per message on a
// streaming workload: client and server together. Another process holding
// a core stretches wall time much more than it does this.
func (s Sample) CPUPerOp() time.Duration { return s.CPU / time.Duration(s.ops()) }

// BytesPerOp is bytes allocated per call, or per message on a streaming
// workload.
func (s Sample) BytesPerOp() float64 { return float64(s.Bytes) / float64(s.ops()) }

// AllocsPerOp is heap allocations per call, or per message on a streaming
// workload.
func (s Sample) AllocsPerOp() float64 { return float64(s.Mallocs) / float64(s.ops()) }

// Throughput is calls per second, or messages per second on a streaming
// workload.
func (s Sample) Throughput() float64 { return float64(s.ops()) / s.Elapsed.Seconds() }

func (s Sample) ops() int {
	if s.Workload.Stream {
		return s.Calls * s.Workload.Messages
	}
	return s.Calls
}

// Result holds every sample of a run.
type Result struct {
	Config  Config
	Samples []Sample
}

// endpoint is one implementation's server and client.
type endpoint struct {
	impl    string
	streams bool // the stack has stream interceptors (or is bare)
	client  testpb.TestServiceClient
	close   func()
}

// Run runs cfg's rounds and returns every sample.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	eps := make([]*endpoint, 0, len(cfg.Impls))
	defer func() {
		for _, ep := range eps {
			ep.close()
		}
	}()
	for _, impl := range cfg.Impls {
		ep, err := start(impl, cfg.Log)
		if err != nil {
			return nil, err
		}
		eps = append(eps, ep)
	}
	workloads := cfg.workloads()
	for _, ep := range eps { // the connections up, the code paths warm
		if _, err := ep.run(ctx, Workload{InFlight: 4}, cfg.Warmup, nil); err != nil {
			return nil, fmt.Errorf("e2e: warm-up of %s: %w", ep.impl, err)
		}
		if cfg.Streams > 0 && ep.streams {
			if _, err := ep.run(ctx, Workload{Stream: true, InFlight: 2, Messages: cfg.Messages}, 4, nil); err != nil {
				return nil, fmt.Errorf("e2e: warm-up of %s: %w", ep.impl, err)
			}
		}
	}
	if cfg.Measured != nil {
		cfg.Measured()
	}
	res := &Result{Config: cfg}
	lat := make([]time.Duration, max(cfg.Calls, cfg.Streams))
	for round := range cfg.Rounds {
		for _, w := range workloads {
			calls := cfg.Calls
			if w.Stream {
				calls = cfg.Streams
			}
			for i := range eps {
				ep := eps[(i+round)%len(eps)] // the order rotates
				if w.Stream && !ep.streams {
					continue
				}
				s, err := ep.measure(ctx, w, calls, lat[:calls])
				if err != nil {
					return nil, fmt.Errorf("e2e: round %d, %s, %s: %w", round+1, w, ep.impl, err)
				}
				s.Round = round + 1
				res.Samples = append(res.Samples, s)
				if cfg.Progress != nil {
					fmt.Fprintf(cfg.Progress, "round=%d workload=%s impl=%s calls=%d elapsed=%s per_op=%s cpu_per_op=%s p50=%s p99=%s allocs_per_op=%.1f bytes_per_op=%.0f gcs=%d load=%q\n",
						s.Round, w, s.Impl, s.Calls, s.Elapsed, s.PerOp(), s.CPUPerOp(), s.P50, s.P99, s.AllocsPerOp(), s.BytesPerOp(), s.GCs, s.Load)
				}
			}
		}
	}
	return res, nil
}

func (cfg Config) check() error {
	var errs []error
	if len(cfg.Impls) == 0 {
		errs = append(errs, errors.New("e2e: no implementation"))
	}
	if cfg.Rounds < 1 || cfg.Calls < 1 || cfg.Warmup < 1 {
		errs = append(errs, errors.New("e2e: Rounds, Calls and Warmup must be positive"))
	}
	if len(cfg.InFlight) == 0 && cfg.Streams == 0 {
		errs = append(errs, errors.New("e2e: no workload: give InFlight or Streams"))
	}
	for _, n := range cfg.InFlight {
		if n < 1 {
			errs = append(errs, fmt.Errorf("e2e: InFlight %d: must be at least 1", n))
		}
	}
	if cfg.Streams > 0 && (cfg.Messages < 1 || cfg.StreamsOpen < 1) {
		errs = append(errs, errors.New("e2e: Messages and StreamsOpen must be positive with Streams"))
	}
	return errors.Join(errs...)
}

func (cfg Config) workloads() []Workload {
	var ws []Workload
	for _, n := range cfg.InFlight {
		ws = append(ws, Workload{InFlight: n})
	}
	if cfg.Streams > 0 {
		ws = append(ws, Workload{Stream: true, InFlight: cfg.StreamsOpen, Messages: cfg.Messages})
	}
	return ws
}

// start serves the test service with impl's server stack on a loopback TCP
// port and connects a client with its client stack.
func start(impl string, log bool) (*endpoint, error) {
	s, err := stacks.New(impl, log)
	if err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return nil, err
	}
	srv := grpc.NewServer(s.ServerOptions()...)
	testpb.RegisterTestServiceServer(srv, &grpctest.Service{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	stop := func() {
		srv.Stop()
		<-done
		s.Close()
	}
	conn, err := grpc.NewClient(lis.Addr().String(), append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, s.DialOptions()...)...)
	if err != nil {
		stop()
		return nil, err
	}
	return &endpoint{impl: impl, streams: impl == "bare" || len(s.ClientStream) > 0, client: testpb.NewTestServiceClient(conn), close: func() { _ = conn.Close(); stop() }}, nil
}

// measure runs calls calls of workload w and returns their figures; lat
// has room for calls latencies.
func (ep *endpoint) measure(ctx context.Context, w Workload, calls int, lat []time.Duration) (Sample, error) {
	before, cpu0 := readMem(), cputime.Now()
	elapsed, err := ep.run(ctx, w, calls, lat)
	cpu1, after := cputime.Now(), readMem()
	if err != nil {
		return Sample{}, err
	}
	slices.Sort(lat)
	return Sample{
		Workload: w, Impl: ep.impl, Calls: calls, Elapsed: elapsed,
		P50: quantile(lat, 0.50), P99: quantile(lat, 0.99),
		CPU: cpu1 - cpu0, Mallocs: after.Mallocs - before.Mallocs, Bytes: after.TotalAlloc - before.TotalAlloc,
		GCs: after.NumGC - before.NumGC, Load: loadavg(),
	}, nil
}

// run makes calls calls with w.InFlight callers in a closed loop (each
// caller starts its next call when the last one ends), records each call's
// latency in lat when lat is not nil, and returns the wall time.
func (ep *endpoint) run(ctx context.Context, w Workload, calls int, lat []time.Duration) (time.Duration, error) {
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	call := ep.unary
	if w.Stream {
		call = func(ctx context.Context) error { return ep.stream(ctx, w.Messages) }
	}
	start := time.Now()
	for range w.InFlight {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= calls {
					return
				}
				t0 := time.Now()
				if err := call(ctx); err != nil {
					errOnce.Do(func() { first = err })
					next.Store(int64(calls)) // stop the others
					return
				}
				if lat != nil {
					lat[i] = time.Since(t0)
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start), first
}

var unaryRequest = &testpb.UnaryRequest{Text: "hello"}

func (ep *endpoint) unary(ctx context.Context) error {
	_, err := ep.client.Unary(ctx, unaryRequest)
	return err
}

func (ep *endpoint) stream(ctx context.Context, messages int) error {
	ctx, cancel := context.WithCancel(ctx) // ends the stream on an early return
	defer cancel()
	st, err := ep.client.ServerStream(ctx, &testpb.ServerStreamRequest{Text: "hello", Count: int32(messages)})
	if err != nil {
		return err
	}
	n := 0
	for {
		_, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		n++
	}
	if n != messages {
		return fmt.Errorf("stream: got %d messages, want %d", n, messages)
	}
	return nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// loadavg returns the first three fields of /proc/loadavg, or "?".
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// Load returns the first three fields of /proc/loadavg, or "?".
func Load() string { return loadavg() }

// Ratio is one implementation's figure divided by bare gRPC's of the same
// round and workload, summarized over the rounds.
type Ratio struct{ Median, Min, Max float64 }

func summarize(xs []float64) Ratio {
	if len(xs) == 0 {
		return Ratio{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Ratio{Median: med, Min: s[0], Max: s[len(s)-1]}
}

// Row is the summary of one implementation on one workload.
type Row struct {
	Workload        Workload
	Impl            string
	Rounds          int
	Throughput      float64 // median over rounds, calls (messages) per second
	PerOp, P50, P99 time.Duration
	CPU             time.Duration // median over rounds, per call (message)
	Allocs          float64       // median over rounds, per call (message)
	Bytes           float64       // median over rounds, per call (message)
	// Paired ratios to bare over the rounds; AllocsDelta is a difference.
	ThroughputRatio, P50Ratio, P99Ratio, PerOpRatio, CPURatio Ratio
	AllocsDelta                                               Ratio
}

// Rows summarizes r: one row per workload and implementation, in the
// order of the configuration.
func (r *Result) Rows() []Row {
	type key struct {
		w     Workload
		round int
	}
	bare := map[key]Sample{}
	for _, s := range r.Samples {
		if s.Impl == "bare" {
			bare[key{s.Workload, s.Round}] = s
		}
	}
	var rows []Row
	for _, w := range r.Config.workloads() {
		for _, impl := range r.Config.Impls {
			row := Row{Workload: w, Impl: impl}
			if !slices.ContainsFunc(r.Samples, func(s Sample) bool { return s.Impl == impl && s.Workload == w }) {
				continue // a stack without stream interceptors
			}
			var tp, p50, p99, perop, cpu, alloc, atp, ap50, ap99, aperop, acpu, aalloc, abytes []float64
			for _, s := range r.Samples {
				if s.Impl != impl || s.Workload != w {
					continue
				}
				row.Rounds++
				atp, ap50, ap99 = append(atp, s.Throughput()), append(ap50, float64(s.P50)), append(ap99, float64(s.P99))
				aperop, aalloc = append(aperop, float64(s.PerOp())), append(aalloc, s.AllocsPerOp())
				acpu = append(acpu, float64(s.CPUPerOp()))
				abytes = append(abytes, s.BytesPerOp())
				b, ok := bare[key{w, s.Round}]
				if !ok {
					continue // no ratios without bare
				}
				tp = append(tp, s.Throughput()/b.Throughput())
				p50 = append(p50, float64(s.P50)/float64(b.P50))
				p99 = append(p99, float64(s.P99)/float64(b.P99))
				perop = append(perop, float64(s.PerOp())/float64(b.PerOp()))
				if b.CPU > 0 {
					cpu = append(cpu, float64(s.CPU)/float64(b.CPU))
				}
				alloc = append(alloc, s.AllocsPerOp()-b.AllocsPerOp())
			}
			row.Throughput = summarize(atp).Median
			row.P50, row.P99 = time.Duration(summarize(ap50).Median), time.Duration(summarize(ap99).Median)
			row.PerOp, row.Allocs = time.Duration(summarize(aperop).Median), summarize(aalloc).Median
			row.CPU, row.CPURatio = time.Duration(summarize(acpu).Median), summarize(cpu)
			row.Bytes = summarize(abytes).Median
			row.ThroughputRatio, row.P50Ratio, row.P99Ratio = summarize(tp), summarize(p50), summarize(p99)
			row.PerOpRatio, row.AllocsDelta = summarize(perop), summarize(alloc)
			rows = append(rows, row)
		}
	}
	return rows
}

// Markdown writes r's rows as a markdown table, ready for the README: the
// medians over the rounds of each figure, and of its ratio to bare's in
// the same round with the smallest and largest. CPU/call is the process's
// CPU time (client and server) per call. On
// a streaming workload the figures are per message (calls/s is messages
// per second, allocs/call allocations per message) and p50, p99 are those
// of whole streams.
func (r *Result) Markdown(w io.Writer) {
	fmt.Fprintln(w, "| workload | impl | calls/s | × bare (median, min–max) | CPU/call | × bare | p50 | × bare | p99 | × bare | allocs/call | − bare | B/call |")
	fmt.Fprintln(w, "|---|---|---:|---|---:|---|---:|---|---:|---|---:|---:|---:|")
	for _, row := range r.Rows() {
		fmt.Fprintf(w, "| %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %.1f | %s | %.0f |\n",
			row.Workload, row.Impl, row.Throughput, ratio(row.ThroughputRatio), round(row.CPU), ratio(row.CPURatio),
			round(row.P50), ratio(row.P50Ratio), round(row.P99), ratio(row.P99Ratio),
			row.Allocs, delta(row), row.Bytes)
	}
}

func delta(row Row) string {
	if row.ThroughputRatio == (Ratio{}) {
		return "–"
	}
	return fmt.Sprintf("%+.1f", row.AllocsDelta.Median)
}

func ratio(r Ratio) string {
	if r == (Ratio{}) {
		return "–"
	}
	return fmt.Sprintf("%.3f× (%.3f–%.3f)", r.Median, r.Min, r.Max)
}

func round(d time.Duration) time.Duration {
	if d < 100*time.Microsecond {
		return d.Round(10 * time.Nanosecond)
	}
	return d.Round(100 * time.Nanosecond)
}

// readMem returns the runtime's memory statistics. It stops the world
// briefly: call it outside the timed part.
func readMem() *runtime.MemStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return &m
}
