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

// UnaryServerInterceptor counts unary calls on the server:
// grpc_server_started_total, grpc_server_handled_total,
// grpc_server_msg_received_total, grpc_server_msg_sent_total,
// grpc_server_handling_seconds and <namespace>_server_application_errors_total.
// It belongs outside the error boundary, so it sees the code the caller
// receives.
func (m *Metrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor { return m.unaryServer() }

// StreamServerInterceptor is the stream form of UnaryServerInterceptor.
func (m *Metrics) StreamServerInterceptor() grpc.StreamServerInterceptor { return m.streamServer() }

// UnaryClientInterceptor counts unary calls on the client:
// grpc_client_started_total, grpc_client_handled_total,
// grpc_client_msg_received_total, grpc_client_msg_sent_total,
// grpc_client_handling_seconds and <namespace>_client_application_errors_total.
// Outermost in the client chain it counts calls; innermost, attempts.
func (m *Metrics) UnaryClientInterceptor() grpc.UnaryClientInterceptor { return m.unaryClient() }

// StreamClientInterceptor is the stream form of UnaryClientInterceptor.
func (m *Metrics) StreamClientInterceptor() grpc.StreamClientInterceptor { return m.streamClient() }
