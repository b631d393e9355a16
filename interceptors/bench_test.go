package interceptors_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
)

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
	return func(ctx context.Context, method string) error { return final(ctx, method, 1, 2, cc) }
}

func benchClientChain(b *testing.B, ctx context.Context, opts ...interceptors.ClientOption) {
	chain, err := interceptors.NewClientChain(opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer chain.Close()
	call := chainUnary(b, chain.UnaryInterceptors())
	const method = "/bulwark.testing.v1.TestService/Unary"
	b.ReportAllocs()
	for b.Loop() {
		if err := call(ctx, method); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkClientChain measures the whole recommended client chain on the
// success path, interceptors only.
func BenchmarkClientChain(b *testing.B) {
	m, err := metrics.New()
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	full := []interceptors.ClientOption{
		interceptors.WithLogger(logger), interceptors.WithMetrics(m), interceptors.WithDeadline(),
		interceptors.WithRetry(), interceptors.WithConcurrency(concurrency.WithLimit(1000)), interceptors.WithCircuitBreaker(),
	}
	withDeadline, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.Run("caller_deadline", func(b *testing.B) { benchClientChain(b, withDeadline, full...) })
	b.Run("default_deadline", func(b *testing.B) { benchClientChain(b, context.Background(), full...) })
	b.Run("minimal", func(b *testing.B) { benchClientChain(b, context.Background()) })
}
