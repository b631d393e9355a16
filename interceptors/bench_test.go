package interceptors_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
	"github.com/bulwarkrpc/bulwark/internal/chainlayers"
)

// The chain benchmarks measure the recommended chains on the success path,
// interceptors only: a fake transport (client) or handler (server) that
// succeeds at once. Sub-benchmarks are named key=value so that benchstat
// can put them side by side (-col /chain or -col /deadline):
//
//   - chain=full: every component (logging to io.Discard at Info, metrics,
//     deadline, retry on the client, concurrency, circuit breaker);
//   - chain=metrics: only metrics, beside what every chain has (request id
//     and error boundary); its difference from chain=minimal is what
//     metrics cost per call and side;
//   - chain=minimal: what every chain has.
//
// deadline=caller: the caller's context (on the server, the request) has a
// deadline; deadline=default (client): it has none, so the chain's default
// timeout applies; deadline=none (server): the request has none.
// bench/chain_test.go runs the same chains beside go-grpc-middleware and
// failsafe-go.

const benchMethod = "/bulwark.testing.v1.TestService/Unary"

// chainUnary folds a client chain into one invoker, as grpc does, around a
// fake transport that succeeds at once.
func chainUnary(b *testing.B, ics []grpc.UnaryClientInterceptor) func(ctx context.Context, method string) error {
	final := grpc.UnaryInvoker(func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil })
	for i := len(ics) - 1; i >= 0; i-- {
		ic, next := ics[i], final
		final = func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
			return ic(ctx, method, req, reply, cc, next, opts...)
		}
	}
	cc, err := grpc.NewClient("passthrough:///bench", grpc.WithTransportCredentials(insecureCreds{}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cc.Close() })
	opts := []grpc.CallOption{grpc.StaticMethod()} // as generated clients pass
	return func(ctx context.Context, method string) error { return final(ctx, method, 1, 2, cc, opts...) }
}

// chainHandler folds a server chain into one handler, as grpc does, around
// a handler that answers at once.
func chainHandler(ics []grpc.UnaryServerInterceptor) func(ctx context.Context) error {
	info := &grpc.UnaryServerInfo{FullMethod: benchMethod}
	final := grpc.UnaryHandler(func(_ context.Context, req any) (any, error) { return req, nil })
	for i := len(ics) - 1; i >= 0; i-- {
		ic, next := ics[i], final
		final = func(ctx context.Context, req any) (any, error) { return ic(ctx, req, info, next) }
	}
	return func(ctx context.Context) error {
		_, err := final(ctx, 1)
		return err
	}
}

func benchClientChain(b *testing.B, ctx context.Context, opts ...interceptors.ClientOption) {
	chain, err := interceptors.NewClientChain(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer chain.Close()
	unary, _ := chainlayers.Client(chain)
	call := chainUnary(b, unary)
	b.ReportAllocs()
	for b.Loop() {
		if err := call(ctx, benchMethod); err != nil {
			b.Fatal(err)
		}
	}
}

func benchServerChain(b *testing.B, ctx context.Context, opts ...interceptors.ServerOption) {
	chain, err := interceptors.NewServerChain(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer chain.Close()
	unary, _ := chainlayers.Server(chain)
	handle := chainHandler(unary)
	b.ReportAllocs()
	for b.Loop() {
		if err := handle(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func benchMetrics(b *testing.B) *metrics.Metrics {
	m, err := metrics.New()
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func benchLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// BenchmarkClientChain measures the whole recommended client chain on the
// success path, interceptors only. Issue 6's budget: chain=full at most
// 1.5 µs and 8 allocations with deadline=default, 0.6 µs and 2 allocations
// with deadline=caller; metrics at most 300 ns and 1 allocation.
func BenchmarkClientChain(b *testing.B) {
	full := func() []interceptors.ClientOption {
		return []interceptors.ClientOption{
			interceptors.WithLogger(benchLogger()), interceptors.WithMetrics(benchMetrics(b)), interceptors.WithDeadline(),
			interceptors.WithRetry(), interceptors.WithConcurrency(concurrency.WithLimit(1000)), interceptors.WithCircuitBreaker(),
		}
	}
	withDeadline, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.Run("chain=full/deadline=caller", func(b *testing.B) { benchClientChain(b, withDeadline, full()...) })
	b.Run("chain=full/deadline=default", func(b *testing.B) { benchClientChain(b, context.Background(), full()...) })
	b.Run("chain=metrics/deadline=caller", func(b *testing.B) {
		benchClientChain(b, withDeadline, interceptors.WithMetrics(benchMetrics(b)))
	})
	b.Run("chain=minimal/deadline=caller", func(b *testing.B) { benchClientChain(b, withDeadline) })
}

// serverContext is what a unary handler's context holds on a real server:
// the incoming metadata gRPC always has.
func serverContext() context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs(
		":authority", "bench", "content-type", "application/grpc", "user-agent", "grpc-go/1.85.0",
	))
}

// BenchmarkServerChain measures the whole recommended server chain on the
// success path, interceptors only.
func BenchmarkServerChain(b *testing.B) {
	full := func() []interceptors.ServerOption {
		return []interceptors.ServerOption{
			interceptors.WithLogger(benchLogger()), interceptors.WithMetrics(benchMetrics(b)), interceptors.WithDeadline(),
			interceptors.WithConcurrency(concurrency.WithLimit(1000)), interceptors.WithCircuitBreaker(),
		}
	}
	withDeadline, cancel := context.WithTimeout(serverContext(), time.Hour)
	defer cancel()
	b.Run("chain=full/deadline=caller", func(b *testing.B) { benchServerChain(b, withDeadline, full()...) })
	b.Run("chain=full/deadline=none", func(b *testing.B) { benchServerChain(b, serverContext(), full()...) })
	b.Run("chain=metrics/deadline=caller", func(b *testing.B) {
		benchServerChain(b, withDeadline, interceptors.WithMetrics(benchMetrics(b)))
	})
	b.Run("chain=minimal/deadline=caller", func(b *testing.B) { benchServerChain(b, withDeadline) })
}
