package metrics

import (
	"errors"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

// Metrics is a prometheus.Collector for the RPCs of a client, a server or
// both, and for the Bulwark components that report to it. Register it on
// your own registry; Bulwark never registers anything globally.
type Metrics struct {
	opts     options
	server   *rpcVecs
	client   *rpcVecs
	comps    *components
	attempts *attemptVecs
	retrier  atomic.Pointer[retry.Retrier]
}

// New returns Metrics, or an error naming each option that is invalid.
func New(opts ...Option) (*Metrics, error) {
	o := options{namespace: "bulwark", buckets: prometheus.DefBuckets}
	for _, opt := range opts {
		if opt == nil {
			o.errs = append(o.errs, errors.New("metrics: nil Option"))
			continue
		}
		opt.apply(&o)
	}
	if o.registry == nil && len(o.errs) == 0 {
		o.registry = defaultRegistry()
	}
	if err := errors.Join(o.errs...); err != nil {
		return nil, err
	}
	m := &Metrics{opts: o, server: newRPCVecs("server", &o), client: newRPCVecs("client", &o)}
	m.comps = newComponents(&o)
	m.attempts = newAttemptVecs(&o)
	return m, nil
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
	m.comps.describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
	m.collectComputed(ch)
}

func (m *Metrics) collectors() []prometheus.Collector {
	cs := append(m.server.collectors(), m.client.collectors()...)
	cs = append(cs, m.attempts.total)
	return append(cs, m.comps.collectors()...)
}

// ServerOptions returns what grpc.NewServer takes to count a server's
// calls: grpc_server_started_total, grpc_server_handled_total,
// grpc_server_msg_received_total, grpc_server_msg_sent_total,
// grpc_server_handling_seconds and <namespace>_server_application_errors_total,
// unary and streaming. Its interceptors belong outside the error boundary,
// so that they see the code the caller receives: pass these options before
// the boundary's. The server chain places them itself.
func (m *Metrics) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(m.unaryServer()), grpc.ChainStreamInterceptor(m.streamServer())}
}

// DialOptions returns what grpc.NewClient takes to count a connection's
// calls: grpc_client_started_total, grpc_client_handled_total,
// grpc_client_msg_received_total, grpc_client_msg_sent_total,
// grpc_client_handling_seconds and <namespace>_client_application_errors_total,
// unary and streaming. Passed before a retry interceptor's options they
// count calls; after them, attempts. The client chain places them itself.
func (m *Metrics) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithChainUnaryInterceptor(m.unaryClient()), grpc.WithChainStreamInterceptor(m.streamClient())}
}
