// Package stacks builds the interceptor stacks that the benchmarks of this
// module compare: the ones a team would register on a client and a server,
// configured alike where their features allow.
//
//   - bulwark: interceptors.NewClientChain with metrics, deadline (default
//     timeout 10 s), retry (3 attempts, with its retry budget), concurrency
//     (limit 1024) and circuit breaker, and interceptors.NewServerChain with
//     metrics, the error boundary, deadline, concurrency (limit 1024) and
//     circuit breaker.
//   - grpcmiddleware: go-grpc-middleware's Prometheus provider (with the
//     handling-time histogram, as Bulwark has), timeout (10 s) and retry (3
//     attempts, exponential backoff from 100 ms) on the client; the
//     Prometheus provider and recovery (its error boundary) on the server.
//   - failsafe: failsafe-go's gRPC interceptors with a retry policy (3
//     attempts, backoff 100 ms to 1 s), a bulkhead (1024) and a circuit
//     breaker on the client, a bulkhead and a circuit breaker on the server,
//     each beside go-grpc-middleware's Prometheus, timeout (client) and
//     recovery (server) interceptors, since failsafe-go has neither metrics
//     nor a timeout interceptor.
//   - bare: no interceptor at all: the floor.
//   - bare-deadline: bare gRPC whose calls get a 10 s deadline when the
//     caller set none, like the default timeouts above, from one
//     interceptor: what a deadline costs gRPC itself (a timer on each side,
//     the grpc-timeout header), not part of Impls.
//   - bulwark-onechain, bulwark-localdeadline, bulwark-proposed: Bulwark's
//     stack with changes proposed to its chains, measured here before they
//     are made (proposed.go), not part of Impls.
//
// With log on, each stack also logs finished calls to a *slog.Logger
// writing JSON to io.Discard at level Info: Bulwark through its chain
// option, the others through go-grpc-middleware's logging interceptor
// configured like Bulwark's (only finished calls, OK at Debug, other codes
// at Bulwark's levels), so a successful call is written by neither.
//
// Each side's layers are given outermost first, in the order of Bulwark's
// chains (logging, metrics, deadline/timeout, retry, limiter, breaker).
// Stream interceptors exist for bare and bulwark only.
package stacks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/failsafe-go/failsafe-go/bulkhead"
	"github.com/failsafe-go/failsafe-go/circuitbreaker"
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
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
	"github.com/bulwarkrpc/bulwark/internal/chainlayers"
)

// Limit is every stack's concurrency limit (Bulwark's limiter, failsafe-go's
// bulkhead), on each side.
const Limit = 1024

// Impls lists the implementations, Bulwark first, so that its column is the
// base of benchstat's comparisons.
var Impls = []string{"bulwark", "bare", "grpcmiddleware", "failsafe"}

// Stack is one implementation's interceptors for a client and a server,
// outermost first.
type Stack struct {
	Client       []grpc.UnaryClientInterceptor
	Server       []grpc.UnaryServerInterceptor
	ClientStream []grpc.StreamClientInterceptor // nil for the peers
	ServerStream []grpc.StreamServerInterceptor // nil for the peers
	Dial         []grpc.DialOption              // what else the client chain asks of grpc.NewClient
	Close        func()                         // stops the stack's timers

	// ChainDial and ChainServer, when set, are what the stack's own chains
	// give grpc.NewClient and grpc.NewServer (Bulwark's DialOptions and
	// ServerOptions, as a user passes them), used in place of the lists.
	ChainDial   []grpc.DialOption
	ChainServer []grpc.ServerOption
}

// ServerOptions returns the options of grpc.NewServer that install s's
// server interceptors, as grpc-go chains them.
func (s Stack) ServerOptions() []grpc.ServerOption {
	if s.ChainServer != nil {
		return s.ChainServer
	}
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(s.Server...), grpc.ChainStreamInterceptor(s.ServerStream...)}
}

// DialOptions returns the options of grpc.NewClient that install s's
// client interceptors, as grpc-go chains them, and s.Dial.
func (s Stack) DialOptions() []grpc.DialOption {
	if s.ChainDial != nil {
		return s.ChainDial
	}
	return append([]grpc.DialOption{grpc.WithChainUnaryInterceptor(s.Client...), grpc.WithChainStreamInterceptor(s.ClientStream...)}, s.Dial...)
}

// Logger is the stacks' logger: JSON to io.Discard at level Info.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// New builds impl's stack; log adds the logging interceptors. Call Close
// when done.
func New(impl string, log bool) (Stack, error) {
	switch impl {
	case "bare":
		return Stack{Close: func() {}}, nil
	case "bare-deadline":
		return Stack{Client: []grpc.UnaryClientInterceptor{defaultTimeout}, Close: func() {}}, nil
	case "bulwark":
		return bulwark(log)
	case "bulwark-onechain":
		return proposed(log, true, false)
	case "bulwark-localdeadline":
		return proposed(log, false, true)
	case "bulwark-proposed":
		return proposed(log, true, true)
	case "grpcmiddleware":
		return middleware(log), nil
	case "failsafe":
		return failsafe(log), nil
	}
	return Stack{}, fmt.Errorf("stacks: no stack %q", impl)
}

// defaultTimeout gives a call without a deadline one of 10 s.
func defaultTimeout(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}

func bulwark(log bool) (Stack, error) {
	mc, err := metrics.New()
	if err != nil {
		return Stack{}, err
	}
	ms, err := metrics.New()
	if err != nil {
		return Stack{}, err
	}
	copts := []interceptors.ClientOption{
		interceptors.WithMetrics(mc), interceptors.WithDeadline(), interceptors.WithRetry(),
		interceptors.WithConcurrency(concurrency.WithLimit(Limit)), interceptors.WithCircuitBreaker(),
	}
	sopts := []interceptors.ServerOption{
		interceptors.WithMetrics(ms), interceptors.WithDeadline(),
		interceptors.WithConcurrency(concurrency.WithLimit(Limit)), interceptors.WithCircuitBreaker(),
	}
	if log {
		copts = append(copts, interceptors.WithLogger(Logger()))
		sopts = append(sopts, interceptors.WithLogger(Logger()))
	}
	cc, err := interceptors.NewClientChain(copts...)
	if err != nil {
		return Stack{}, err
	}
	sc, err := interceptors.NewServerChain(sopts...)
	if err != nil {
		cc.Close()
		return Stack{}, err
	}
	// DialOptions holds the interceptors and grpc.WithDisableRetry; keep
	// only what is not an interceptor.
	return Stack{
		Client: ClientUnary(cc), Server: ServerUnary(sc),
		ClientStream: clientStream(cc), ServerStream: serverStream(sc),
		Dial:        []grpc.DialOption{grpc.WithDisableRetry()},
		ChainDial:   cc.DialOptions(),
		ChainServer: sc.ServerOptions(),
		Close:       func() { cc.Close(); sc.Close() },
	}, nil
}

// middlewareLogging returns go-grpc-middleware's logging interceptors
// configured like Bulwark's: one record per finished call, at Bulwark's
// default levels.
func middlewareLogging() (grpc.UnaryClientInterceptor, grpc.UnaryServerInterceptor) {
	l := Logger()
	logger := mwlogging.LoggerFunc(func(ctx context.Context, lvl mwlogging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
	client := mwlogging.UnaryClientInterceptor(logger, mwlogging.WithLogOnEvents(mwlogging.FinishCall),
		mwlogging.WithLevels(func(c codes.Code) mwlogging.Level { return mwlogging.Level(bulwarkClientLevel(c)) }))
	server := mwlogging.UnaryServerInterceptor(logger, mwlogging.WithLogOnEvents(mwlogging.FinishCall),
		mwlogging.WithLevels(func(c codes.Code) mwlogging.Level { return mwlogging.Level(bulwarkServerLevel(c)) }))
	return client, server
}

// bulwarkServerLevel is the level of Bulwark's server records by default
// (see logging.WithLevels).
func bulwarkServerLevel(c codes.Code) slog.Level {
	switch c {
	case codes.OK:
		return slog.LevelDebug
	case codes.Canceled, codes.InvalidArgument, codes.NotFound, codes.AlreadyExists, codes.Unauthenticated:
		return slog.LevelInfo
	case codes.Unknown, codes.Unimplemented, codes.Internal, codes.DataLoss:
		return slog.LevelError
	}
	return slog.LevelWarn
}

// bulwarkClientLevel is the level of Bulwark's client records by default
// (see logging.WithLevels).
func bulwarkClientLevel(c codes.Code) slog.Level {
	switch c {
	case codes.OK:
		return slog.LevelDebug
	case codes.Unknown, codes.Unimplemented, codes.Internal, codes.DataLoss:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

func middleware(log bool) Stack {
	s := Stack{Close: func() {}}
	if log {
		lc, ls := middlewareLogging()
		s.Client, s.Server = append(s.Client, lc), append(s.Server, ls)
	}
	pc := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram())
	ps := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	s.Client = append(s.Client,
		pc.UnaryClientInterceptor(),
		timeout.UnaryClientInterceptor(10*time.Second),
		grpcretry.UnaryClientInterceptor(grpcretry.WithMax(3), grpcretry.WithBackoff(grpcretry.BackoffExponentialWithJitter(100*time.Millisecond, 0.2))),
	)
	s.Server = append(s.Server, ps.UnaryServerInterceptor(), recovery.UnaryServerInterceptor())
	return s
}

// FailsafeBreaker is failsafe-go's breaker configured like Bulwark's
// default: 50% of at least 20 calls in 10 s, open for open, closed again
// after 2 of 3 probes.
func FailsafeBreaker(open time.Duration) circuitbreaker.CircuitBreaker[any] {
	return circuitbreaker.NewBuilder[any]().
		WithFailureRateThreshold(0.5, 20, 10*time.Second).
		WithDelay(open).
		WithSuccessThresholdRatio(2, 3).
		Build()
}

func failsafe(log bool) Stack {
	s := Stack{Close: func() {}}
	if log {
		lc, ls := middlewareLogging()
		s.Client, s.Server = append(s.Client, lc), append(s.Server, ls)
	}
	pc := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram())
	ps := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram())
	rp := failsafegrpc.NewRetryPolicyBuilder[any]().WithMaxAttempts(3).WithBackoff(100*time.Millisecond, time.Second).WithJitterFactor(0.2).Build()
	s.Client = append(s.Client,
		pc.UnaryClientInterceptor(),
		timeout.UnaryClientInterceptor(10*time.Second),
		failsafegrpc.NewUnaryClientInterceptor[any](rp, bulkhead.New[any](Limit), FailsafeBreaker(5*time.Second)),
	)
	s.Server = append(s.Server,
		ps.UnaryServerInterceptor(),
		recovery.UnaryServerInterceptor(),
		failsafegrpc.NewUnaryServerInterceptor[any](bulkhead.New[any](Limit), FailsafeBreaker(5*time.Second)),
	)
	return s
}

// ClientUnary returns the unary interceptors of cc, outermost first.
func ClientUnary(cc *interceptors.ClientChain) []grpc.UnaryClientInterceptor {
	u, _ := chainlayers.Client(cc)
	return u
}

// ServerUnary returns the unary interceptors of sc, outermost first.
func ServerUnary(sc *interceptors.ServerChain) []grpc.UnaryServerInterceptor {
	u, _ := chainlayers.Server(sc)
	return u
}

func clientStream(cc *interceptors.ClientChain) []grpc.StreamClientInterceptor {
	_, s := chainlayers.Client(cc)
	return s
}

func serverStream(sc *interceptors.ServerChain) []grpc.StreamServerInterceptor {
	_, s := chainlayers.Server(sc)
	return s
}
