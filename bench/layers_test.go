package bench

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/bench/internal/cputime"
	"github.com/bulwarkrpc/bulwark/bench/internal/stacks"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
)

// The layer benchmarks take Bulwark's chains apart, to say where a call's
// cost goes:
//
//   - BenchmarkLayerWithout*: the whole chain (as in stacks.New, logging
//     on) without one component, composed as grpc-go composes it; the full
//     chain's figure minus a row's is what that component costs in the
//     chain, its grpc-go closure included.
//   - BenchmarkLayerParallel*: each layer of the full chain alone (with the
//     observers the chain wires to it) in front of a fake transport or
//     handler, on b.RunParallel: run with -cpu=1,2,4,8. A layer that writes
//     a shared cache line on every call does not get cheaper per call from
//     one to two CPUs.

// The layers of the chains, outermost first, as interceptors.NewClientChain
// and NewServerChain order them with every component configured.
var (
	clientLayers = []string{"requestid", "logging", "metrics", "deadline", "retry", "concurrency", "circuit", "attempt-metrics", "boundary"}
	serverLayers = []string{"requestid", "logging", "metrics", "boundary", "deadline", "concurrency", "circuit"}
)

// chainOptions returns the options of the benchmarked chains (stacks.New's
// bulwark with logging), less the component named without ("" for none).
func chainOptions(tb testing.TB, without string) ([]interceptors.ClientOption, []interceptors.ServerOption) {
	var copts []interceptors.ClientOption
	var sopts []interceptors.ServerOption
	both := func(o interceptors.Option) {
		copts, sopts = append(copts, o), append(sopts, o)
	}
	if without != "metrics" {
		mc, err := metrics.New()
		if err != nil {
			tb.Fatal(err)
		}
		ms, err := metrics.New()
		if err != nil {
			tb.Fatal(err)
		}
		copts, sopts = append(copts, interceptors.WithMetrics(mc)), append(sopts, interceptors.WithMetrics(ms))
	}
	if without != "logging" {
		both(interceptors.WithLogger(stacks.Logger()))
	}
	if without != "deadline" {
		both(interceptors.WithDeadline())
	}
	if without != "retry" {
		copts = append(copts, interceptors.WithRetry())
	}
	if without != "concurrency" {
		both(interceptors.WithConcurrency(concurrency.WithLimit(stacks.Limit)))
	}
	if without != "circuit" {
		both(interceptors.WithCircuitBreaker())
	}
	return copts, sopts
}

func chains(tb testing.TB, without string) (*interceptors.ClientChain, *interceptors.ServerChain) {
	copts, sopts := chainOptions(tb, without)
	cc, err := interceptors.NewClientChain(copts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(cc.Close)
	sc, err := interceptors.NewServerChain(sopts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(sc.Close)
	return cc, sc
}

// BenchmarkLayerWithoutClient: the client chain less one component, with
// the default deadline (the caller has none) and with a caller's deadline.
func BenchmarkLayerWithoutClient(b *testing.B) {
	withDeadline, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for _, dl := range []struct {
		name string
		ctx  context.Context
	}{{"caller", withDeadline}, {"default", context.Background()}} {
		for _, without := range []string{"none", "logging", "metrics", "deadline", "retry", "concurrency", "circuit"} {
			b.Run("deadline="+dl.name+"/without="+without, func(b *testing.B) {
				cc, _ := chains(b, without)
				ic := grpcChainUnaryClient(stacks.ClientUnary(cc))
				conn := idleConn(b)
				ctx, opts := dl.ctx, []grpc.CallOption{grpc.StaticMethod()}
				b.ReportAllocs()
				defer reportCPU(b, cputime.Now())
				for b.Loop() {
					if err := ic(ctx, benchUnaryMethod, 1, 2, conn, fakeInvoker, opts...); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkLayerWithoutServer: the server chain less one component, for a
// request with a deadline.
func BenchmarkLayerWithoutServer(b *testing.B) {
	ctx, cancel := context.WithTimeout(serverContext(), time.Hour)
	defer cancel()
	info := &grpc.UnaryServerInfo{FullMethod: benchUnaryMethod}
	for _, without := range []string{"none", "logging", "metrics", "deadline", "concurrency", "circuit"} {
		b.Run("without="+without, func(b *testing.B) {
			_, sc := chains(b, without)
			ic := grpcChainUnaryServer(stacks.ServerUnary(sc))
			b.ReportAllocs()
			defer reportCPU(b, cputime.Now())
			for b.Loop() {
				if _, err := ic(ctx, 1, info, fakeHandler); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLayerParallelClient: each client layer alone, from every
// goroutine of b.RunParallel. The caller's context has a deadline except
// for layer=deadline-default.
func BenchmarkLayerParallelClient(b *testing.B) {
	withDeadline, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	cc, _ := chains(b, "")
	ics := stacks.ClientUnary(cc)
	if len(ics) != len(clientLayers) {
		b.Fatalf("the client chain has %d layers, the benchmark knows %d: update clientLayers", len(ics), len(clientLayers))
	}
	run := func(name string, ic grpc.UnaryClientInterceptor, ctx context.Context) {
		b.Run("layer="+name, func(b *testing.B) {
			conn := idleConn(b)
			opts := []grpc.CallOption{grpc.StaticMethod()}
			b.ReportAllocs()
			defer reportCPU(b, cputime.Now())
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := ic(ctx, benchUnaryMethod, 1, 2, conn, fakeInvoker, opts...); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	run("none", func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(ctx, method, req, reply, cc, opts...)
	}, withDeadline)
	for i, name := range clientLayers {
		run(name, ics[i], withDeadline)
		if name == "deadline" {
			run("deadline-default", ics[i], context.Background())
		}
	}
	run("chain", grpcChainUnaryClient(ics), withDeadline)
}

// BenchmarkLayerParallelServer: each server layer alone, from every
// goroutine of b.RunParallel, for a request with a deadline.
func BenchmarkLayerParallelServer(b *testing.B) {
	ctx, cancel := context.WithTimeout(serverContext(), time.Hour)
	defer cancel()
	info := &grpc.UnaryServerInfo{FullMethod: benchUnaryMethod}
	_, sc := chains(b, "")
	ics := stacks.ServerUnary(sc)
	if len(ics) != len(serverLayers) {
		b.Fatalf("the server chain has %d layers, the benchmark knows %d: update serverLayers", len(ics), len(serverLayers))
	}
	run := func(name string, ic grpc.UnaryServerInterceptor) {
		b.Run("layer="+name, func(b *testing.B) {
			b.ReportAllocs()
			defer reportCPU(b, cputime.Now())
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := ic(ctx, 1, info, fakeHandler); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
	run("none", func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(ctx, req)
	})
	for i, name := range serverLayers {
		run(name, ics[i])
	}
	run("chain", grpcChainUnaryServer(ics))
}

var (
	clockSink time.Time
	sinceSink time.Duration
)

// BenchmarkClock: what one clock read costs on this machine, wall and
// monotonic (time.Now) or monotonic only (time.Since), to price the reads
// the chains make per call.
func BenchmarkClock(b *testing.B) {
	b.Run("read=now", func(b *testing.B) {
		for b.Loop() {
			clockSink = time.Now()
		}
	})
	b.Run("read=since", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			sinceSink = time.Since(start)
		}
	})
}
