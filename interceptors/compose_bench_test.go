package interceptors

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
)

// The composed-chain benchmarks run each side's full recommended chain as
// gRPC runs it, on the success path, around a fake transport or handler:
// composition=bulwark is the one interceptor the chains hand gRPC (what
// DialOptions and ServerOptions install); composition=grpc is the same
// layers chained the way grpc.WithChainUnaryInterceptor and
// grpc.ChainUnaryInterceptor do it, with a closure per layer per call.

const composedMethod = "/bulwark.testing.v1.TestService/Unary"

// grpcChainClient chains ics as grpc-go 1.85 does (clientconn.go,
// getChainUnaryInvoker): per call, a closure per layer but the last.
func grpcChainClient(ics []grpc.UnaryClientInterceptor) grpc.UnaryClientInterceptor {
	var next func(i int, final grpc.UnaryInvoker) grpc.UnaryInvoker
	next = func(i int, final grpc.UnaryInvoker) grpc.UnaryInvoker {
		if i == len(ics)-1 {
			return final
		}
		return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
			return ics[i+1](ctx, method, req, reply, cc, next(i+1, final), opts...)
		}
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return ics[0](ctx, method, req, reply, cc, next(0, invoker), opts...)
	}
}

// grpcChainServer chains ics as grpc-go 1.85 does (server.go,
// getChainUnaryHandler).
func grpcChainServer(ics []grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	var next func(i int, info *grpc.UnaryServerInfo, final grpc.UnaryHandler) grpc.UnaryHandler
	next = func(i int, info *grpc.UnaryServerInfo, final grpc.UnaryHandler) grpc.UnaryHandler {
		if i == len(ics)-1 {
			return final
		}
		return func(ctx context.Context, req any) (any, error) {
			return ics[i+1](ctx, req, info, next(i+1, info, final))
		}
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return ics[0](ctx, req, info, next(0, info, handler))
	}
}

func composedMetrics(b *testing.B) *metrics.Metrics {
	m, err := metrics.New()
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func composedLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

func BenchmarkComposedClientChain(b *testing.B) {
	withDeadline, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for _, d := range []struct {
		name string
		ctx  context.Context
	}{{"caller", withDeadline}, {"default", context.Background()}} {
		for _, composition := range []string{"bulwark", "grpc"} {
			b.Run("deadline="+d.name+"/composition="+composition, func(b *testing.B) {
				ch, err := NewClientChain(WithLogger(composedLogger()), WithMetrics(composedMetrics(b)), WithDeadline(),
					WithRetry(), WithConcurrency(concurrency.WithLimit(1000)), WithCircuitBreaker())
				if err != nil {
					b.Fatal(err)
				}
				defer ch.Close()
				chain := ch.composedUnary
				if composition == "grpc" {
					chain = grpcChainClient(ch.unary)
				}
				cc, err := grpc.NewClient("passthrough:///bench", grpc.WithTransportCredentials(insecure.NewCredentials()))
				if err != nil {
					b.Fatal(err)
				}
				defer cc.Close()
				transport := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
				opts := []grpc.CallOption{grpc.StaticMethod()}
				b.ReportAllocs()
				for b.Loop() {
					if err := chain(d.ctx, composedMethod, 1, 2, cc, transport, opts...); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkComposedServerChain(b *testing.B) {
	md := metadata.Pairs(":authority", "bench", "content-type", "application/grpc", "user-agent", "grpc-go/1.85.0")
	ctx, cancel := context.WithTimeout(metadata.NewIncomingContext(context.Background(), md), time.Hour)
	defer cancel()
	info := &grpc.UnaryServerInfo{FullMethod: composedMethod}
	handler := func(_ context.Context, req any) (any, error) { return req, nil }
	for _, composition := range []string{"bulwark", "grpc"} {
		b.Run("deadline=caller/composition="+composition, func(b *testing.B) {
			ch, err := NewServerChain(WithLogger(composedLogger()), WithMetrics(composedMetrics(b)), WithDeadline(),
				WithConcurrency(concurrency.WithLimit(1000)), WithCircuitBreaker())
			if err != nil {
				b.Fatal(err)
			}
			defer ch.Close()
			chain := ch.composedUnary
			if composition == "grpc" {
				chain = grpcChainServer(ch.unary)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := chain(ctx, 1, info, handler); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
