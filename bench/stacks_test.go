package bench

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/failsafegrpc"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	mwlogging "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	grpcretry "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/timeout"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	bwlogging "github.com/bulwarkrpc/bulwark/interceptors/logging"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
)

// The whole-chain benchmarks (chain_test.go, grpc_test.go) compare the
// stacks a team would register on a client and a server, configured alike
// where their features allow:
//
//   - impl=bulwark: interceptors.NewClientChain with metrics, deadline
//     (default timeout 10 s), retry (3 attempts, with its retry budget),
//     concurrency (limit 1000) and circuit breaker, and
//     interceptors.NewServerChain with metrics, the error boundary,
//     deadline, concurrency (limit 1000) and circuit breaker.
//   - impl=grpcmiddleware: go-grpc-middleware's Prometheus provider (with
//     the handling-time histogram, as Bulwark has), timeout (10 s) and retry
//     (3 attempts, exponential backoff from 100 ms) on the client; the
//     Prometheus provider and recovery (its error boundary) on the server.
//   - impl=failsafe: failsafe-go's gRPC interceptors with a retry policy (3
//     attempts, backoff 100 ms to 1 s), a bulkhead (1000) and a circuit
//     breaker on the client, a bulkhead and a circuit breaker on the server,
//     each beside go-grpc-middleware's Prometheus, timeout (client) and
//     recovery (server) interceptors, since failsafe-go has neither metrics
//     nor a timeout interceptor.
//   - impl=bare: no interceptor at all: the floor.
//
// With log=on, each stack also logs finished calls to a *slog.Logger
// writing JSON to io.Discard at level Info: Bulwark through its chain
// option, the others through go-grpc-middleware's logging interceptor
// configured like Bulwark's (only finished calls, OK at Debug, other codes
// at Bulwark's levels), so a successful call is not written by either.
//
// Each side's layers are given outermost first, in the order of Bulwark's
// chains (logging, metrics, deadline/timeout, retry, limiter, breaker).

// benchUnaryMethod is IDEMPOTENT in its descriptor, so every stack may retry it.
const benchUnaryMethod = "/bulwark.testing.v1.TestService/Unary"

// impls lists the implementations in the order benchstat shows them as
// columns: Bulwark first, so that its column is the base of every ratio.
var impls = []string{"bulwark", "bare", "grpcmiddleware", "failsafe"}

// stack is one implementation's interceptors for a client and a server.
type stack struct {
	client []grpc.UnaryClientInterceptor
	server []grpc.UnaryServerInterceptor
	dial   []grpc.DialOption // what else the client chain asks of grpc.NewClient
}

func benchLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// newStack builds impl's stack; log adds the logging interceptors.
func newStack(tb testing.TB, impl string, log bool) stack {
	tb.Helper()
	switch impl {
	case "bare":
		return stack{}
	case "bulwark":
		return bulwarkStack(tb, log)
	case "grpcmiddleware":
		return middlewareStack(log)
	case "failsafe":
		return failsafeStack(log)
	}
	tb.Fatalf("bench: no stack %q", impl)
	return stack{}
}

func bulwarkStack(tb testing.TB, log bool) stack {
	tb.Helper()
	mc, err := metrics.New()
	if err != nil {
		tb.Fatal(err)
	}
	ms, err := metrics.New()
	if err != nil {
		tb.Fatal(err)
	}
	copts := []interceptors.ClientOption{
		interceptors.WithMetrics(mc), interceptors.WithDeadline(), interceptors.WithRetry(),
		interceptors.WithConcurrency(concurrency.WithLimit(1000)), interceptors.WithCircuitBreaker(),
	}
	sopts := []interceptors.ServerOption{
		interceptors.WithMetrics(ms), interceptors.WithDeadline(),
		interceptors.WithConcurrency(concurrency.WithLimit(1000)), interceptors.WithCircuitBreaker(),
	}
	if log {
		copts = append(copts, interceptors.WithLogger(benchLogger()))
		sopts = append(sopts, interceptors.WithLogger(benchLogger()))
	}
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
	// DialOptions holds the interceptors and grpc.WithDisableRetry; keep
	// only what is not an interceptor.
	return stack{client: cc.UnaryInterceptors(), server: sc.UnaryInterceptors(), dial: []grpc.DialOption{grpc.WithDisableRetry()}}
}

// middlewareLogging returns go-grpc-middleware's logging interceptors
// configured like Bulwark's: one record per finished call, at Bulwark's
// default levels.
func middlewareLogging() (grpc.UnaryClientInterceptor, grpc.UnaryServerInterceptor) {
	l := benchLogger()
	logger := mwlogging.LoggerFunc(func(ctx context.Context, lvl mwlogging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	client := mwlogging.UnaryClientInterceptor(logger, mwlogging.WithLogOnEvents(mwlogging.FinishCall),
		mwlogging.WithLevels(func(c codes.Code) mwlogging.Level { return mwlogging.Level(bwlogging.DefaultClientLevels(c)) }))
	server := mwlogging.UnaryServerInterceptor(logger, mwlogging.WithLogOnEvents(mwlogging.FinishCall),
		mwlogging.WithLevels(func(c codes.Code) mwlogging.Level { return mwlogging.Level(bwlogging.DefaultServerLevels(c)) }))
	return client, server
}

func middlewareStack(log bool) stack {
	var s stack
	if log {
		lc, ls := middlewareLogging()
		s.client, s.server = append(s.client, lc), append(s.server, ls)
	}
	pc := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram())
	ps := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	s.client = append(s.client,
		pc.UnaryClientInterceptor(),
		timeout.UnaryClientInterceptor(10*time.Second),
		grpcretry.UnaryClientInterceptor(grpcretry.WithMax(3), grpcretry.WithBackoff(grpcretry.BackoffExponentialWithJitter(100*time.Millisecond, 0.2))),
	)
	s.server = append(s.server, ps.UnaryServerInterceptor(), recovery.UnaryServerInterceptor())
	return s
}

func failsafeStack(log bool) stack {
	var s stack
	if log {
		lc, ls := middlewareLogging()
		s.client, s.server = append(s.client, lc), append(s.server, ls)
	}
	pc := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram())
	ps := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	rp := failsafegrpc.NewRetryPolicyBuilder[any]().WithMaxAttempts(3).WithBackoff(100*time.Millisecond, time.Second).WithJitterFactor(0.2).Build()
	s.client = append(s.client,
		pc.UnaryClientInterceptor(),
		timeout.UnaryClientInterceptor(10*time.Second),
		failsafegrpc.NewUnaryClientInterceptor[any](rp, bulkhead.New[any](1000), failsafeBreaker(5*time.Second)),
	)
	s.server = append(s.server,
		ps.UnaryServerInterceptor(),
		recovery.UnaryServerInterceptor(),
		failsafegrpc.NewUnaryServerInterceptor[any](bulkhead.New[any](1000), failsafeBreaker(5*time.Second)),
	)
	return s
}
