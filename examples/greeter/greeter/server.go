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
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
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
}

// A ServerOption configures NewServer.
type ServerOption interface {
	apply(*serverOptions)
}

type serverOptions struct {
	debugInfo bool
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

// NewServer assembles the server around svc; logger receives the server's
// log. Server interceptors, outermost first: the error boundary (unknown
// errors and panics become INTERNAL; the real cause goes to logger).
func NewServer(svc *Service, logger *slog.Logger, opts ...ServerOption) (*Server, error) {
	if svc == nil || logger == nil {
		return nil, fmt.Errorf("greeter: NewServer: the service and the logger must not be nil")
	}
	var o serverOptions
	for _, opt := range opts {
		opt.apply(&o)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)

	b, err := boundary.New(boundary.WithLogger(logger), boundary.WithDebugInfo(o.debugInfo))
	if err != nil {
		return nil, err
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(b.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(b.StreamServerInterceptor()),
	)
	greeterv1.RegisterGreeterServer(srv, svc)
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus(greeterv1.Greeter_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return &Server{GRPC: srv, Service: svc, Health: hs, Registry: reg}, nil
}

// Shutdown marks the server NOT_SERVING, then stops it gracefully: new
// calls are refused and running ones may finish until ctx ends, when the
// rest are cancelled.
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
