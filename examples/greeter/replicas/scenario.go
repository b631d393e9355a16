package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/interceptors"
)

// way is one way of calling the replicas.
type way struct {
	name   string
	config string // the channel's service config
	chain  bool   // Bulwark's client chain with its circuit breaker
}

// ways are the three runs, in order.
var ways = []way{
	{"bare gRPC, round_robin", `{"loadBalancingConfig":[{"round_robin":{}}]}`, false},
	{"Bulwark breaker, round_robin", `{"loadBalancingConfig":[{"round_robin":{}}]}`, true},
	{"Bulwark breaker + ejection", `{"loadBalancingConfig":[{"` + policyName + `":{"childPolicy":[{"round_robin":{}}]}}]}`, true},
}

// result is one run's outcome.
type result struct {
	way          string
	calls, ok    int
	badShare     float64 // of the calls that reached the bad replica
	breakerState string
}

func (r result) success() float64 { return float64(r.ok) / float64(r.calls) }

// runAll runs every way against reps, of which reps[bad] is the bad one.
func runAll(ctx context.Context, reps []replica, bad, calls int, w io.Writer) ([]result, error) {
	var out []result
	for i, wy := range ways {
		fmt.Fprintf(w, "\nRun %d of %d: %s, %d calls...\n", i+1, len(ways), wy.name, calls)
		r, err := runWay(ctx, wy, reps, bad, calls)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", wy.name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// workers is how many goroutines share a run's calls.
const workers = 4

func runWay(ctx context.Context, wy way, reps []replica, bad, calls int) (result, error) {
	res := manual.NewBuilderWithScheme("replicas")
	var state resolver.State
	for _, r := range reps {
		state.Endpoints = append(state.Endpoints, resolver.Endpoint{Addresses: []resolver.Address{{Addr: r.address()}}})
	}
	res.InitialState(state)
	opts := []grpc.DialOption{
		grpc.WithResolvers(res),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(wy.config),
	}
	var chain *interceptors.ClientChain
	if wy.chain {
		var err error
		chain, err = interceptors.NewClientChain(interceptors.WithCircuitBreaker())
		if err != nil {
			return result{}, err
		}
		defer chain.Close()
		opts = append(opts, chain.DialOptions()...)
	}
	conn, err := grpc.NewClient("replicas:///greeter", opts...)
	if err != nil {
		return result{}, err
	}
	defer conn.Close()
	client := greeterv1.NewGreeterClient(conn)
	if err := warmUp(ctx, client, reps); err != nil {
		return result{}, err
	}
	if chain != nil {
		// The warm-up's failures are not the run's: the breaker starts
		// from a clean window.
		chain.Circuit().ClientBreaker("replicas:///greeter", "").Reset()
	}

	before, err := reps[bad].requests(ctx)
	if err != nil {
		return result{}, err
	}
	var mu sync.Mutex
	ok := 0
	next := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range next {
				_, err := client.SayHello(ctx, &greeterv1.HelloRequest{Name: "replicas"})
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		})
	}
	for range calls {
		select {
		case next <- struct{}{}:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	after, err := reps[bad].requests(ctx)
	if err != nil {
		return result{}, err
	}
	r := result{way: wy.name, calls: calls, ok: ok, badShare: float64(after-before) / float64(calls), breakerState: "-"}
	if chain != nil {
		r.breakerState = chain.Circuit().ClientBreaker(conn.Target(), "").State().String()
	}
	return r, nil
}

func printTable(w io.Writer, results []result) {
	fmt.Fprintf(w, "%-30s %8s %10s %14s %10s\n", "", "calls", "success", "to bad replica", "breaker")
	for _, r := range results {
		fmt.Fprintf(w, "%-30s %8d %9.2f%% %13.2f%% %10s\n", r.way, r.calls, 100*r.success(), 100*r.badShare, r.breakerState)
	}
}

// check holds the run with ejection to its promise.
func check(results []result) error {
	last := results[len(results)-1]
	if last.success() < 0.99 || last.badShare > 0.05 {
		return fmt.Errorf("with ejection: %.2f%% success (want at least 99%%), %.2f%% of the calls to the bad replica (want at most 5%%)",
			100*last.success(), 100*last.badShare)
	}
	return nil
}

// switchWriter is an io.Writer whose destination can change.
type switchWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *switchWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

func (s *switchWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// dropTime leaves the time out of the log records.
func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// warmUp calls until every replica has served a call, so that the run
// starts with every connection ready: a replica that connects late would
// leave the first calls to the others (the bad one, say).
func warmUp(ctx context.Context, client greeterv1.GreeterClient, reps []replica) error {
	start := make([]int64, len(reps))
	for i, r := range reps {
		n, err := r.requests(ctx)
		if err != nil {
			return err
		}
		start[i] = n
	}
	for range 500 {
		_, _ = client.SayHello(ctx, &greeterv1.HelloRequest{Name: "warm-up"})
		all := true
		for i, r := range reps {
			n, err := r.requests(ctx)
			if err != nil {
				return err
			}
			all = all && n > start[i]
		}
		if all {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond): // let the other connections finish
		}
	}
	return errors.New("warm-up: not every replica was reached in 500 calls")
}
