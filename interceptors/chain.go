package interceptors

import (
	"errors"
	"fmt"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/logging"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/track"
)

// ClientChain is the recommended client chain, built by NewClientChain.
// Pass DialOptions to grpc.NewClient.
type ClientChain struct {
	unary   []grpc.UnaryClientInterceptor
	stream  []grpc.StreamClientInterceptor
	noRetry bool // gRPC's own retries must be off
	stats   []grpc.DialOption
	live

	// composedUnary and composedStream run unary and stream as one
	// interceptor each (see compose.go).
	composedUnary  grpc.UnaryClientInterceptor
	composedStream grpc.StreamClientInterceptor
}

// NewClientChain builds the client chain from opts, in the order of the
// package documentation, with only the components that were configured.
// The request-id propagation and the error decoder are always in it. It
// refuses an invalid configuration with an error naming the option.
func NewClientChain(opts ...ClientOption) (*ClientChain, error) {
	var c config
	for _, o := range opts {
		o.applyClient(&c)
	}
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	var lg *logging.Logging
	if c.logger != nil {
		lg, _ = logging.New(c.logger) // cannot fail: the logger is not nil
	}
	b, err := boundary.New(boundaryLogger(&c)...)
	if err != nil {
		return nil, err
	}
	ch := &ClientChain{live: live{side: "client", base: c, lg: lg}}
	var l chainLayers[grpc.UnaryClientInterceptor, grpc.StreamClientInterceptor]
	l.add(requestid.UnaryClientInterceptor(), requestid.StreamClientInterceptor())
	if lg != nil {
		l.skip(track.LoggingClient(lg))
	}
	if c.metrics != nil {
		l.add(track.Of(c.metrics).ClientInterceptors())
	}
	if c.otel != nil {
		l.add(track.Of(c.otel).ClientInterceptors())
		sh, _ := track.Of(c.otel).StatsHandlers()
		ch.stats = []grpc.DialOption{grpc.WithStatsHandler(sh)}
	}
	if c.sc != nil && c.sc.hedging != nil && !c.has["WithRetry"] {
		return nil, errHedgingNeedsRetry
	}
	if c.serviceConfig {
		mc := &methodConfig{extras: c.sc}
		l.add(mc.unary(), mc.stream())
	}
	if err := ch.addComponents(&c, lg, &l); err != nil {
		return nil, err
	}
	if c.metrics != nil {
		l.add(track.Of(c.metrics).AttemptInterceptors())
	}
	l.add(b.UnaryClientInterceptor(), b.StreamClientInterceptor())
	ch.unary, ch.stream = l.unary, l.stream
	ex := exemptionOf(&c)
	ch.composedUnary = exemptUnaryClient(ex, composeUnaryClient(l.unary), composeUnaryClient(kept(l.unary, l.skippable)))
	ch.composedStream = exemptStreamClient(ex, composeStreamClient(l.stream), composeStreamClient(kept(l.stream, l.skippable)))
	return ch, nil
}

// addComponents makes the configured components of a client chain and adds
// them to l in order: deadline, retry (and OpenTelemetry's attempt layer
// inside it), concurrency, circuit.
func (ch *ClientChain) addComponents(c *config, lg *logging.Logging, l *chainLayers[grpc.UnaryClientInterceptor, grpc.StreamClientInterceptor]) error {
	var err error
	if c.has["WithDeadline"] {
		if ch.deadline, err = deadline.New(withDeadlineObservers(c, lg)...); err != nil {
			return fmt.Errorf("interceptors: WithDeadline: %w", err)
		}
		l.skip(ch.deadline.UnaryClientInterceptor(), ch.deadline.StreamClientInterceptor())
	}
	if c.has["WithCircuitBreaker"] {
		// Made before the Retrier, which asks it whether a retry would be
		// refused (retrystate.CircuitGate); added to the chain inside it.
		if ch.circuit, err = circuit.New(withCircuitObservers(c, lg)...); err != nil {
			return fmt.Errorf("interceptors: WithCircuitBreaker: %w", err)
		}
	}
	if c.has["WithRetry"] {
		if ch.retrier, err = newRetrier(c, lg, ch.circuit); err != nil {
			return err
		}
		ch.noRetry = true
		l.add(ch.retrier.UnaryClientInterceptor(), ch.retrier.StreamClientInterceptor())
	}
	if c.otel != nil {
		l.add(track.Of(c.otel).AttemptInterceptors())
	}
	if c.has["WithConcurrency"] {
		if ch.limiter, err = newLimiter(c, lg, "client"); err != nil {
			return err
		}
		l.skip(ch.limiter.UnaryClientInterceptor(), ch.limiter.StreamClientInterceptor())
	}
	if ch.circuit != nil {
		l.skip(ch.circuit.UnaryClientInterceptor(), ch.circuit.StreamClientInterceptor())
	}
	return nil
}

// newRetrier makes the client chain's Retrier, gated by circ when there is
// one, and has the metrics track its budgets.
func newRetrier(c *config, lg *logging.Logging, circ *circuit.Circuit) (*retry.Retrier, error) {
	r, err := retry.New(retryOptions(c, lg, circ)...)
	if err != nil {
		return nil, fmt.Errorf("interceptors: WithRetry: %w", err)
	}
	if c.metrics != nil {
		track.Of(c.metrics).TrackRetrier(r)
	}
	if c.otel != nil {
		track.Of(c.otel).TrackRetrier(r)
	}
	return r, nil
}

// newLimiter makes a chain's Limiter and has the metrics track it.
func newLimiter(c *config, lg *logging.Logging, side string) (*concurrency.Limiter, error) {
	l, err := concurrency.New(withConcurrencyObservers(c, lg)...)
	if err != nil {
		return nil, fmt.Errorf("interceptors: WithConcurrency: %w", err)
	}
	if c.metrics != nil {
		track.Of(c.metrics).TrackLimiter(side, l)
	}
	if c.otel != nil {
		track.Of(c.otel).TrackLimiter(side, l)
	}
	return l, nil
}

// DialOptions returns what grpc.NewClient takes: the interceptors in order,
// the OpenTelemetry stats handler when there is one and, when the chain
// retries, grpc.WithDisableRetry.
func (c *ClientChain) DialOptions() []grpc.DialOption {
	opts := []grpc.DialOption{grpc.WithChainUnaryInterceptor(c.composedUnary), grpc.WithChainStreamInterceptor(c.composedStream)}
	opts = append(opts, c.stats...)
	if c.noRetry {
		opts = append(opts, grpc.WithDisableRetry())
	}
	if c.base.sc != nil {
		opts = append(opts, grpc.WithDefaultServiceConfig(c.base.sc.json))
	}
	return opts
}

// Circuit returns the chain's circuit breakers, or nil, for example to force
// one open.
func (c *ClientChain) Circuit() *circuit.Circuit { return c.circuit }

// Limiter returns the chain's concurrency limiter, or nil.
func (c *ClientChain) Limiter() *concurrency.Limiter { return c.limiter }

// Close stops the timers of the chain's circuit breakers. Call it when the
// connections that use the chain are closed.
func (c *ClientChain) Close() {
	if c.circuit != nil {
		c.circuit.Close()
	}
}

// ServerChain is the recommended server chain, built by NewServerChain.
// Pass ServerOptions to grpc.NewServer.
type ServerChain struct {
	unary    []grpc.UnaryServerInterceptor
	stream   []grpc.StreamServerInterceptor
	stats    []grpc.ServerOption
	boundary *boundary.Boundary
	health   *healthReport // nil without WithHealth
	live

	// composedUnary and composedStream run unary and stream as one
	// interceptor each (see compose.go).
	composedUnary  grpc.UnaryServerInterceptor
	composedStream grpc.StreamServerInterceptor
}

// NewServerChain builds the server chain from opts, in the order of the
// package documentation, with only the components that were configured.
// The request-id interceptor and the error boundary are always in it. It
// refuses an invalid configuration with an error naming the option.
func NewServerChain(opts ...ServerOption) (*ServerChain, error) {
	var c config
	for _, o := range opts {
		o.applyServer(&c)
	}
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}
	var lg *logging.Logging
	if c.logger != nil {
		lg, _ = logging.New(c.logger) // cannot fail: the logger is not nil
	}
	ch := &ServerChain{live: live{side: "server", base: c, lg: lg}}
	var err error
	if ch.boundary, err = boundary.New(append(boundaryLogger(&c), c.boundary...)...); err != nil {
		return nil, fmt.Errorf("interceptors: WithBoundary: %w", err)
	}
	var l chainLayers[grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor]
	l.add(requestid.UnaryServerInterceptor(), requestid.StreamServerInterceptor())
	if lg != nil {
		l.skip(track.LoggingServer(lg))
	}
	if c.metrics != nil {
		l.add(track.Of(c.metrics).ServerInterceptors())
	}
	if c.otel != nil {
		l.add(track.Of(c.otel).ServerInterceptors())
		_, sh := track.Of(c.otel).StatsHandlers()
		ch.stats = []grpc.ServerOption{grpc.StatsHandler(sh)}
	}
	l.add(ch.boundary.UnaryServerInterceptor(), ch.boundary.StreamServerInterceptor())
	if c.has["WithDeadline"] {
		if ch.deadline, err = deadline.New(withDeadlineObservers(&c, lg)...); err != nil {
			return nil, fmt.Errorf("interceptors: WithDeadline: %w", err)
		}
		l.skip(ch.deadline.UnaryServerInterceptor(), ch.deadline.StreamServerInterceptor())
	}
	if err := c.health.check(&c); err != nil {
		return nil, err
	}
	if c.has["WithConcurrency"] {
		if ch.limiter, err = newLimiter(&c, lg, "server"); err != nil {
			return nil, err
		}
		if c.health != nil {
			l.skip(c.health.interceptors())
		}
		l.skip(ch.limiter.UnaryServerInterceptor(), ch.limiter.StreamServerInterceptor())
	}
	if c.has["WithCircuitBreaker"] {
		if ch.circuit, err = circuit.New(withCircuitObservers(&c, lg)...); err != nil {
			return nil, fmt.Errorf("interceptors: WithCircuitBreaker: %w", err)
		}
		l.skip(ch.circuit.UnaryServerInterceptor(), ch.circuit.StreamServerInterceptor())
	}
	ch.unary, ch.stream = l.unary, l.stream
	ex := exemptionOf(&c)
	ch.composedUnary = exemptUnaryServer(ex, composeUnaryServer(l.unary), composeUnaryServer(kept(l.unary, l.skippable)))
	ch.composedStream = exemptStreamServer(ex, composeStreamServer(l.stream), composeStreamServer(kept(l.stream, l.skippable)))
	if c.health != nil {
		ch.health = c.health
		ch.health.start()
	}
	return ch, nil
}

// ServerOptions returns what grpc.NewServer takes: the interceptors in
// order, and the OpenTelemetry stats handler when there is one.
func (s *ServerChain) ServerOptions() []grpc.ServerOption {
	return append([]grpc.ServerOption{grpc.ChainUnaryInterceptor(s.composedUnary), grpc.ChainStreamInterceptor(s.composedStream)}, s.stats...)
}

// Circuit returns the chain's circuit breakers, or nil.
func (s *ServerChain) Circuit() *circuit.Circuit { return s.circuit }

// Limiter returns the chain's concurrency limiter, or nil.
func (s *ServerChain) Limiter() *concurrency.Limiter { return s.limiter }

// Close stops the timers of the chain's circuit breakers and of its
// health report.
func (s *ServerChain) Close() {
	if s.circuit != nil {
		s.circuit.Close()
	}
	if s.health != nil {
		s.health.stop()
	}
}

// The with*Observers functions put the chain's classifier and observers
// before the user's options, so that the user's own observer or classifier,
// given in a component's options, takes precedence.

func boundaryLogger(c *config) []boundary.Option {
	if c.logger == nil {
		return nil
	}
	return []boundary.Option{boundary.WithLogger(c.logger)}
}

// withDeadlineObservers returns the deadline options of a chain: its
// metrics and logging observers, then the user's options, whose observers
// are added to them.
func withDeadlineObservers(c *config, lg *logging.Logging) []deadline.Option {
	var opts []deadline.Option
	if c.metrics != nil {
		opts = append(opts, deadline.WithObserver(c.metrics.Observers().Deadline))
	}
	if c.otel != nil {
		opts = append(opts, deadline.WithObserver(c.otel.Observers().Deadline))
	}
	if lg != nil {
		opts = append(opts, deadline.WithObserver(lg.Observers().Deadline))
	}
	return append(opts, c.deadline...)
}

// withRetryObservers is withDeadlineObservers for retry.
func withRetryObservers(c *config, lg *logging.Logging) []retry.Option {
	// The chain turns gRPC's own retries off (grpc.WithDisableRetry), so a
	// retryPolicy in the service config must not make the Retrier step aside.
	opts := []retry.Option{retry.WithServiceConfigCheck(false)}
	if c.metrics != nil {
		opts = append(opts, retry.WithObserver(c.metrics.Observers().Retry))
	}
	if c.otel != nil {
		opts = append(opts, retry.WithObserver(c.otel.Observers().Retry))
	}
	if lg != nil {
		opts = append(opts, retry.WithObserver(lg.Observers().Retry))
	}
	if c.classifier != nil {
		opts = append(opts, retry.WithClassifier(c.classifier))
	}
	opts = append(opts, c.retry...)
	if c.sc != nil && c.sc.throttling != nil {
		// The service config's retryThrottling is the budget.
		opts = append(opts, retry.WithTokenBucket(c.sc.throttling[0], c.sc.throttling[1]))
	}
	return opts
}

// withConcurrencyObservers is withDeadlineObservers for concurrency.
func withConcurrencyObservers(c *config, lg *logging.Logging) []concurrency.Option {
	var opts []concurrency.Option
	if c.health != nil {
		opts = append(opts, concurrency.WithObserver(c.health.observer()))
	}
	if c.metrics != nil {
		opts = append(opts, concurrency.WithObserver(c.metrics.Observers().Concurrency))
	}
	if c.otel != nil {
		opts = append(opts, concurrency.WithObserver(c.otel.Observers().Concurrency))
	}
	if lg != nil {
		opts = append(opts, concurrency.WithObserver(lg.Observers().Concurrency))
	}
	if c.classifier != nil {
		opts = append(opts, concurrency.WithClassifier(c.classifier))
	}
	return append(opts, c.concurrency...)
}

// withCircuitObservers is withDeadlineObservers for circuit.
func withCircuitObservers(c *config, lg *logging.Logging) []circuit.Option {
	var opts []circuit.Option
	if c.metrics != nil {
		opts = append(opts, circuit.WithObserver(c.metrics.Observers().Circuit))
	}
	if c.otel != nil {
		opts = append(opts, circuit.WithObserver(c.otel.Observers().Circuit))
	}
	if lg != nil {
		opts = append(opts, circuit.WithObserver(lg.Observers().Circuit))
	}
	if c.classifier != nil {
		opts = append(opts, circuit.WithClassifier(c.classifier))
	}
	return append(opts, c.circuit...)
}
