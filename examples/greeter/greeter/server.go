package greeter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/bulwarkrpc/bulwark/breaker"
	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
)

// Server is the example's whole server side, assembled in one place: the
// gRPC server with its interceptor chain, the Greeter service, the standard
// health service, reflection, and the Prometheus registry behind /metrics.
type Server struct {
	// GRPC is the gRPC server; serve it on a listener.
	GRPC *grpc.Server
	// Service is the Greeter service with its fault injection.
	Service *Service
	// Health is the standard health service. The whole server and
	// greeter.v1.Greeter start SERVING; Shutdown sets NOT_SERVING.
	Health *health.Server
	// Registry holds the metrics served on /metrics.
	Registry *prometheus.Registry
	// Chain is Bulwark's server chain; nil for a bare server (WithBare).
	Chain *interceptors.ServerChain
	// Metrics is the chain's Prometheus collector, registered on Registry;
	// nil for a bare server.
	Metrics *metrics.Metrics

	mu       sync.Mutex // serializes Reconfigure
	live     Live       // in force
	limit0   int        // the limit it started with: what a Live's limit 0 means
	adaptive bool       // the limit is WithAdaptive's
}

// A ServerOption configures NewServer.
type ServerOption interface {
	apply(*serverOptions)
}

type serverOptions struct {
	debugInfo bool
	bare      bool
	limit     int
	adaptive  bool
	breaker   bool
	live      *Live
}

type serverOptionFunc func(*serverOptions)

func (f serverOptionFunc) apply(o *serverOptions) { f(o) }

// WithDebugInfo, when true, makes the error boundary send the cause of each
// error and the stack of each panic to callers in google.rpc.DebugInfo
// (boundary.WithDebugInfo). It exposes internals: development only.
// Default: false.
func WithDebugInfo(on bool) ServerOption {
	return serverOptionFunc(func(o *serverOptions) { o.debugInfo = on })
}

// WithBare, when true, builds a plain gRPC server with no interceptor at
// all: no error boundary (an ordinary error leaves as UNKNOWN with its
// text, and a panic crashes the process, as in any gRPC server without a
// recovery interceptor), no metrics beyond the Go runtime's, no deadline
// check and no load shedding. It is what the demo compares Bulwark with;
// the other server options are then ignored. Default: false.
func WithBare(on bool) ServerOption {
	return serverOptionFunc(func(o *serverOptions) { o.bare = on })
}

// WithLimit sheds load beyond n calls in flight (concurrency.WithLimit):
// a call over the limit is refused at once with UNAVAILABLE,
// SERVER_OVERLOADED, RetryInfo and pushback, before the service sees it.
// With WithAdaptive(true), n bounds the adaptive limit instead. Zero turns
// load shedding off; negative is refused by NewServer. Default: 0.
func WithLimit(n int) ServerOption {
	return serverOptionFunc(func(o *serverOptions) { o.limit = n })
}

// WithAdaptive, when true, sheds load beyond an adaptive limit that follows
// latency (limit.NewGradient), at most the WithLimit value when it is set.
// Default: false.
func WithAdaptive(on bool) ServerOption {
	return serverOptionFunc(func(o *serverOptions) { o.adaptive = on })
}

// WithCircuitBreaker, when true, puts a circuit breaker per method in front
// of the service ((*circuit.Circuit).UnaryServerInterceptor), so that a
// method that keeps failing fails fast with CIRCUIT_OPEN until probes
// succeed. Default: false.
func WithCircuitBreaker(on bool) ServerOption {
	return serverOptionFunc(func(o *serverOptions) { o.breaker = on })
}

// WithLive sets what the chain starts with (see Live): the deadline
// check's settings; a nonzero l.Limit is the limit, as WithLimit(l.Limit)
// would set, and replaces WithLimit's; nonzero breaker settings turn the
// circuit breaker on, as WithCircuitBreaker(true) would. Server.Reconfigure
// changes them while the server runs. NewServer refuses an l that Validate
// refuses. Default: DefaultLive() with WithLimit's limit.
func WithLive(l Live) ServerOption {
	return serverOptionFunc(func(o *serverOptions) { o.live = &l })
}

// NewServer assembles the server around svc; logger receives the server's
// log.
//
// Unless WithBare, the gRPC server runs Bulwark's server chain
// (interceptors.NewServerChain), outermost first: the request id; logging
// (one record per failed call, at Warn or Error; successes at Debug);
// metrics (grpc_server_* and bulwark_*, on Registry); the error boundary
// (unknown errors and panics become INTERNAL; the real cause goes to
// logger); the deadline check (requests with 1 ms or less left are refused
// as DEADLINE_TOO_SHORT; see Live.MinRemaining); load shedding (WithLimit,
// WithAdaptive); and the per-method circuit breaker (WithCircuitBreaker).
// WithLive sets their initial settings.
func NewServer(svc *Service, logger *slog.Logger, opts ...ServerOption) (*Server, error) {
	if svc == nil || logger == nil {
		return nil, fmt.Errorf("greeter: NewServer: the service and the logger must not be nil")
	}
	var o serverOptions
	for _, opt := range opts {
		opt.apply(&o)
	}
	if o.limit < 0 {
		return nil, fmt.Errorf("greeter: WithLimit(%d): must not be negative (0 turns load shedding off)", o.limit)
	}
	live := DefaultLive()
	if o.live != nil {
		if err := o.live.Validate(); err != nil {
			return nil, err
		}
		live = *o.live
		if live.Limit != 0 {
			o.limit = live.Limit
		}
		o.breaker = o.breaker || live.hasBreaker()
	}
	live.Limit = o.limit
	if o.breaker && live.BreakerOpen == 0 {
		live.BreakerOpen = DefaultBreakerOpen
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	s := &Server{Service: svc, Registry: reg}
	var serverOpts []grpc.ServerOption
	if !o.bare {
		m, err := metrics.New()
		if err != nil {
			return nil, err
		}
		if err := reg.Register(m); err != nil {
			return nil, err
		}
		chainOpts := []interceptors.ServerOption{
			interceptors.WithLogger(logger),
			interceptors.WithMetrics(m),
			interceptors.WithBoundary(boundary.WithDebugInfo(o.debugInfo)),
			interceptors.WithDeadline(deadlineOptions(live)...),
		}
		if o.limit > 0 || o.adaptive {
			lim, err := shedding(o.limit, o.adaptive)
			if err != nil {
				return nil, err
			}
			chainOpts = append(chainOpts, interceptors.WithConcurrency(lim...))
		}
		if o.breaker {
			chainOpts = append(chainOpts, interceptors.WithCircuitBreaker(breakerOptions(live)...))
		} else {
			live.BreakerFailures, live.BreakerOpen = 0, 0
		}
		chain, err := interceptors.NewServerChain(chainOpts...)
		if err != nil {
			return nil, err
		}
		s.Chain, s.Metrics = chain, m
		s.live, s.adaptive, s.limit0 = live, o.adaptive, o.limit
		serverOpts = chain.ServerOptions()
	}
	s.GRPC = grpc.NewServer(serverOpts...)
	greeterv1.RegisterGreeterServer(s.GRPC, svc)
	s.Health = health.NewServer()
	s.Health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	s.Health.SetServingStatus(greeterv1.Greeter_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s.GRPC, s.Health)
	reflection.Register(s.GRPC)
	return s, nil
}

// shedding returns the options of the load-shedding limiter: a fixed
// limit, or an adaptive one at most n (0: the gradient's default).
func shedding(n int, adaptive bool) ([]concurrency.Option, error) {
	if !adaptive {
		return []concurrency.Option{concurrency.WithLimit(n)}, nil
	}
	g, err := limit.NewGradient(limit.GradientConfig{Max: n})
	if err != nil {
		return nil, fmt.Errorf("greeter: WithAdaptive: %w", err)
	}
	return []concurrency.Option{concurrency.WithAdaptive(g)}, nil
}

// deadlineOptions returns the deadline check's options for l.
func deadlineOptions(l Live) []deadline.Option {
	return []deadline.Option{deadline.WithMinRemaining(l.MinRemaining), deadline.WithMaxDeadline(l.MaxDeadline)}
}

// breakerOptions returns the circuit breaker's options for l.
func breakerOptions(l Live) []circuit.Option {
	open := l.BreakerOpen
	if open == 0 {
		open = DefaultBreakerOpen
	}
	return []circuit.Option{circuit.WithBreakerOptions(
		breaker.WithConsecutiveFailures(l.BreakerFailures),
		breaker.WithOpenDuration(open, max(open, maxBreakerOpen)),
	)}
}

// Live returns the Live in force: the one NewServer started with (see
// WithLive), or the last one Reconfigure applied, with the limit the
// server has and, on a server with a breaker, BreakerOpen's default filled
// in. It is the zero Live for a bare server.
func (s *Server) Live() Live {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// Reconfigure applies l while the server serves, through the chain's
// Reconfigure (see interceptors.ServerChain.Reconfigure): it passes the
// chain the components whose settings differ from those in force, so that
// an adaptive limit keeps what it has learned when only the deadline
// check changes. State survives: permits held stay held when the limit is
// lowered, and nothing new is admitted until the calls in flight are below
// it; an open breaker stays open. If anything is invalid (a negative
// field, a limit of 0 on a server with a fixed limit, a limit or a breaker
// setting on a server without that component), nothing changes, and the
// error names the option. The chain logs each call and counts it in
// bulwark_config_reloads_total. A bare server has no chain to change: it
// refuses every l.
func (s *Server) Reconfigure(l Live) error {
	if s.Chain == nil {
		return errors.New("greeter: Reconfigure: a bare server has no chain to reconfigure")
	}
	if err := l.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Chain.Circuit() != nil && l.BreakerOpen == 0 {
		l.BreakerOpen = DefaultBreakerOpen
	}
	if l.Limit == 0 {
		// As at start: the limit the server was started with (-limit),
		// so that rereading a file that sets none changes nothing.
		l.Limit = s.limit0
	}
	var opts []interceptors.ServerOption
	if l.MinRemaining != s.live.MinRemaining || l.MaxDeadline != s.live.MaxDeadline {
		opts = append(opts, interceptors.WithDeadline(deadlineOptions(l)...))
	}
	if l.Limit != s.live.Limit {
		lim, err := shedding(l.Limit, s.adaptive)
		if err != nil {
			return err
		}
		opts = append(opts, interceptors.WithConcurrency(lim...))
	}
	if l.BreakerFailures != s.live.BreakerFailures || l.BreakerOpen != s.live.BreakerOpen {
		opts = append(opts, interceptors.WithCircuitBreaker(breakerOptions(l)...))
	}
	if err := s.Chain.Reconfigure(opts...); err != nil {
		return err
	}
	s.live = l
	return nil
}

// Shutdown marks the server NOT_SERVING, then stops it gracefully: new
// calls are refused and running ones may finish until ctx ends, when the
// rest are cancelled. It then stops the chain's timers.
func (s *Server) Shutdown(ctx context.Context) {
	s.Health.Shutdown()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.GRPC.GracefulStop()
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.GRPC.Stop()
		<-done
	}
	if s.Chain != nil {
		s.Chain.Close()
	}
}

// HTTPHandler serves the operator endpoints:
//   - /metrics: the Registry in Prometheus text format;
//   - /faults: GET shows the Config in force as JSON; POST or PUT change it,
//     from a JSON object (application/json body) or from query parameters,
//     changing only the fields given, and answer with the new Config;
//   - /stats: the Service's Stats as JSON;
//   - /config, unless the server is bare: GET shows the Live in force as
//     JSON; POST applies a whole new one (see configHandler).
func (s *Server) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{Registry: s.Registry}))
	mux.Handle("/faults", FaultsHandler(s.Service))
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Service.Stats())
	})
	if s.Chain != nil {
		mux.HandleFunc("GET /config", func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusOK, s.Live())
		})
		mux.Handle("POST /config", configHandler(s))
	}
	return mux
}
