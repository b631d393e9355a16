// Command e2e measures whole calls through each implementation's client and
// server stacks (bench/internal/stacks) over TCP on 127.0.0.1, client and
// server in this process, and prints paired ratios to bare gRPC over
// interleaved rounds as a markdown table (see bench/internal/e2e).
//
// Usage:
//
//	e2e [-rounds 6] [-calls 20000] [-inflight 8,64] [-streams 2000]
//	    [-messages 100] [-streams-inflight 8] [-impls bare,bulwark,...]
//	    [-cpuprofile f] [-memprofile f] [-memprofilerate n]
//
// bare-deadline is bare gRPC with a 10 s deadline on every call: what the
// default deadline costs gRPC itself. bulwark-onechain, -localdeadline and
// -proposed are Bulwark's chains with changes proposed to them, measured
// before they are made (bench/internal/stacks/proposed.go). To profile one implementation alone,
// leave bare out (-impls=bulwark); profile.sh does so.
//
// Each measurement's raw figures go to standard error, the table to
// standard output. With -memprofile, the allocation profile is written
// twice: f.base after the warm-up and f at the end, so that
// `go tool pprof -sample_index=alloc_objects -base f.base f` shows only
// the measured calls.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/bulwarkrpc/bulwark/bench/internal/e2e"
)

func main() {
	var (
		rounds      = flag.Int("rounds", 6, "rounds; each runs every implementation on every workload once")
		calls       = flag.Int("calls", 20000, "unary calls per implementation, workload and round")
		inflight    = flag.String("inflight", "8,64", "callers of the unary workloads, comma separated")
		streams     = flag.Int("streams", 2000, "server-streaming calls per implementation and round (0: none)")
		messages    = flag.Int("messages", 100, "messages per server-streaming call")
		streamsOpen = flag.Int("streams-inflight", 8, "callers of the server-streaming workload")
		impls       = flag.String("impls", "bare,bulwark,grpcmiddleware,failsafe,bare-deadline,bulwark-onechain,bulwark-localdeadline,bulwark-proposed", "implementations (rows in this order); ratios need bare")
		log         = flag.Bool("log", true, "the stacks log finished calls (to io.Discard at Info)")
		cpuprofile  = flag.String("cpuprofile", "", "write a CPU profile of the measured rounds to this file")
		memprofile  = flag.String("memprofile", "", "write allocation profiles to this file (and this file.base)")
		memrate     = flag.Int("memprofilerate", 0, "runtime.MemProfileRate (1: every allocation); 0 leaves the default")
	)
	flag.Parse()
	if *memrate > 0 {
		runtime.MemProfileRate = *memrate
	}
	cfg := e2e.Config{
		Log: *log, Rounds: *rounds, Calls: *calls, Streams: *streams, Messages: *messages,
		StreamsOpen: *streamsOpen, Warmup: 500, Progress: os.Stderr,
	}
	for _, f := range strings.Split(*inflight, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			fail(fmt.Errorf("-inflight: %w", err))
		}
		cfg.InFlight = append(cfg.InFlight, n)
	}
	for _, impl := range strings.Split(*impls, ",") {
		if impl = strings.TrimSpace(impl); impl != "" {
			cfg.Impls = append(cfg.Impls, impl)
		}
	}
	var stopCPU func()
	cfg.Measured = func() {
		if *memprofile != "" {
			writeHeap(*memprofile + ".base")
		}
		if *cpuprofile != "" {
			f, err := os.Create(*cpuprofile)
			if err == nil {
				err = pprof.StartCPUProfile(f)
			}
			if err != nil {
				fail(err)
			}
			stopCPU = func() { pprof.StopCPUProfile(); _ = f.Close() }
		}
	}
	fmt.Fprintf(os.Stderr, "e2e: %d rounds of %d calls per implementation and workload (inflight %s; streams %d of %d messages, %d in flight); %s, GOMAXPROCS=%d; load before: %s\n",
		cfg.Rounds, cfg.Calls, *inflight, cfg.Streams, cfg.Messages, cfg.StreamsOpen, runtime.Version(), runtime.GOMAXPROCS(0), e2e.Load())
	start := time.Now()
	res, err := e2e.Run(context.Background(), cfg)
	if stopCPU != nil {
		stopCPU()
	}
	if err != nil {
		fail(err)
	}
	if *memprofile != "" {
		writeHeap(*memprofile)
	}
	fmt.Fprintf(os.Stderr, "e2e: done in %s; load after: %s\n", time.Since(start).Round(time.Second), e2e.Load())
	fmt.Printf("Closed loop over TCP on 127.0.0.1, client and server in one process, %d rounds, %d calls per implementation, workload and round (streams: %d calls of %d messages; per-message figures); %s, GOMAXPROCS=%d, load average after: %s. Ratios are paired with bare gRPC's figure of the same round.\n\n",
		cfg.Rounds, cfg.Calls, cfg.Streams, cfg.Messages, runtime.Version(), runtime.GOMAXPROCS(0), e2e.Load())
	res.Markdown(os.Stdout)
}

// writeHeap writes the allocation profile, after a GC so that it counts
// every allocation so far.
func writeHeap(name string) {
	runtime.GC()
	f, err := os.Create(name)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "e2e:", err)
	os.Exit(1)
}
