package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/workload"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

// bulwarkConfig is how the client's Bulwark chain is set up (its flags).
type bulwarkConfig struct {
	// attempts is retry.WithMaxAttempts: 1 turns retries off.
	attempts int
	// attemptTimeout is retry.WithPerAttemptTimeout; 0: none.
	attemptTimeout time.Duration
	// hedge is the hedging delay (retry.WithHedging, up to attempts); 0:
	// no hedging.
	hedge time.Duration
	// breakerFailures trips the breaker after that many failures in a row
	// (breaker.WithConsecutiveFailures); 0 leaves only the failure-rate rule.
	breakerFailures int
	// breakerMinCalls is how many calls the breaker's window must hold
	// before its failure rate may trip it (breaker.WithMinCalls).
	breakerMinCalls int
	// breakerOpen is how long the breaker stays open after it trips
	// (breaker.WithOpenDuration); it doubles on each reopening, up to
	// breakerMaxOpen.
	breakerOpen, breakerMaxOpen time.Duration
	// limit is the client's concurrency limit per attempt
	// (concurrency.WithLimit); 0: none.
	limit int
	// logger, when not nil, logs failed calls and Bulwark's events.
	logger *slog.Logger
	// fallback, when not nil, answers the calls the breaker refuses
	// (circuit.WithFallback) from its cache of earlier replies.
	fallback *replyCache
}

// The defaults of the Bulwark flags: the library's own.
const (
	defaultBreakerFailures = 0 // the rule is off
	defaultBreakerMinCalls = 20
	defaultBreakerOpen     = 5 * time.Second
	defaultBreakerMaxOpen  = time.Minute
)

// observers are what the client learns from the chain for its summary.
type observers struct {
	rejections  *workload.Rejections
	transitions *transitionLog
}

// bulwarkChain returns Bulwark's client chain (interceptors.NewClientChain):
// client metrics (registered on reg), the default deadline, retry with its
// budget (and hedging or a per-attempt timeout when set), the circuit
// breaker, and the concurrency limit when set. The breaker's transitions
// and rejections and the limiter's rejections go to obs, as well as to the
// metrics and the log.
func bulwarkChain(cfg bulwarkConfig, reg *prometheus.Registry, obs observers) (*interceptors.ClientChain, error) {
	m, err := metrics.New()
	if err != nil {
		return nil, err
	}
	if err := reg.Register(m); err != nil {
		return nil, err
	}
	opts := []interceptors.ClientOption{interceptors.WithMetrics(m), interceptors.WithDeadline()}
	if cfg.logger != nil {
		opts = append(opts, interceptors.WithLogger(cfg.logger))
	}

	retryOpts := []retry.Option{retry.WithMaxAttempts(cfg.attempts)}
	if cfg.attemptTimeout != 0 { // the library refuses a negative one
		retryOpts = append(retryOpts, retry.WithPerAttemptTimeout(cfg.attemptTimeout))
	}
	if cfg.hedge != 0 {
		retryOpts = append(retryOpts, retry.WithHedging(cfg.hedge, cfg.attempts))
	}
	opts = append(opts, interceptors.WithRetry(retryOpts...))

	// The client's own observers are added to the chain's metrics and log.
	co := &circuitObserver{observers: obs}
	circuitOpts := []circuit.Option{
		circuit.WithObserver(circuit.Observer{OnStateChange: co.OnStateChange, OnReject: co.OnReject}),
		circuit.WithBreakerOptions(
			breaker.WithConsecutiveFailures(cfg.breakerFailures),
			breaker.WithMinCalls(cfg.breakerMinCalls),
			breaker.WithOpenDuration(cfg.breakerOpen, max(cfg.breakerMaxOpen, cfg.breakerOpen)),
		),
	}
	if cfg.fallback != nil {
		circuitOpts = append(circuitOpts, circuit.WithFallback(cfg.fallback.Fallback, false))
	}
	opts = append(opts, interceptors.WithCircuitBreaker(circuitOpts...))

	if cfg.limit != 0 {
		lo := &limiterObserver{observers: obs}
		opts = append(opts, interceptors.WithConcurrency(concurrency.WithLimit(cfg.limit), concurrency.WithObserver(concurrency.Observer{OnReject: lo.OnReject})))
	}
	return interceptors.NewClientChain(opts...)
}

// dialOptions returns the client's dial options: Bulwark's chain unless
// chain is nil, inside it the fallback's cache when cache is not nil (so
// that it keeps only the server's replies), and in both modes the attempt
// counter innermost, next to the transport, so that it counts the attempts
// that go on the wire.
func dialOptions(chain *interceptors.ClientChain, cache *replyCache, attempts *workload.AttemptCounter) []grpc.DialOption {
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if chain != nil {
		// The chain's interceptors and grpc.WithDisableRetry (the chain
		// retries; gRPC's own retries would multiply the attempts).
		opts = append(opts, chain.DialOptions()...)
	}
	// Interceptors given later run inside those given before.
	if cache != nil {
		opts = append(opts, grpc.WithChainUnaryInterceptor(cache.UnaryClientInterceptor()))
	}
	return append(opts,
		grpc.WithChainUnaryInterceptor(attempts.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(attempts.StreamClientInterceptor()))
}

// circuitObserver records the breaker's transitions and rejections for
// the summary.
type circuitObserver struct{ observers }

func (o *circuitObserver) OnStateChange(_ context.Context, e circuit.StateEvent) {
	o.transitions.Record(e.From.String(), e.To.String())
}

func (o *circuitObserver) OnReject(context.Context, circuit.RejectEvent) {
	o.rejections.Add(workload.CircuitOpen)
}

// limiterObserver records the limiter's rejections for the summary.
type limiterObserver struct{ observers }

func (o *limiterObserver) OnReject(context.Context, concurrency.RejectEvent) {
	o.rejections.Add(workload.ClientLimit)
}
