package greeter

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
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

// NewServer assembles the server around svc; logger receives the server's
// log.
//
// Unless WithBare, the gRPC server runs Bulwark's server chain
// (interceptors.NewServerChain), outermost first: the request id; logging
// (one record per failed call, at Warn or Error; successes at Debug);
// metrics (grpc_server_* and bulwark_*, on Registry); the error boundary
// (unknown errors and panics become INTERNAL; the real cause goes to
// logger); the deadline check (requests with 1 ms or less left are refused
// as DEADLINE_TOO_SHORT); load shedding (WithLimit, WithAdaptive); and the
// per-method circuit breaker (WithCircuitBreaker).
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
			interceptors.WithDeadline(),
		}
		if lim, err := limiterOptions(o); err != nil {
			return nil, err
		} else if lim != nil {
			chainOpts = append(chainOpts, interceptors.WithConcurrency(lim...))
		}
		if o.breaker {
			chainOpts = append(chainOpts, interceptors.WithCircuitBreaker())
		}
		chain, err := interceptors.NewServerChain(chainOpts...)
		if err != nil {
			return nil, err
		}
		s.Chain, s.Metrics = chain, m
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

// limiterOptions returns the options of the load-shedding limiter, or nil
// when there is none.
func limiterOptions(o serverOptions) ([]concurrency.Option, error) {
	switch {
	case o.adaptive:
		g, err := limit.NewGradient(limit.GradientConfig{Max: o.limit})
		if err != nil {
			return nil, fmt.Errorf("greeter: WithAdaptive: %w", err)
		}
		return []concurrency.Option{concurrency.WithAdaptive(g)}, nil
	case o.limit > 0:
		return []concurrency.Option{concurrency.WithLimit(o.limit)}, nil
	}
	return nil, nil
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
//   - /stats: the Service's Stats as JSON.
func (s *Server) HTTPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{Registry: s.Registry}))
	mux.Handle("/faults", FaultsHandler(s.Service))
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, s.Service.Stats())
	})
	return mux
}
