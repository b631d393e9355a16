package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
)

// The tests place the interceptors themselves; users pass DialOptions and
// ServerOptions, or use the chains.

func (m *Metrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor   { return m.unaryServer() }
func (m *Metrics) StreamServerInterceptor() grpc.StreamServerInterceptor { return m.streamServer() }
func (m *Metrics) UnaryClientInterceptor() grpc.UnaryClientInterceptor   { return m.unaryClient() }
func (m *Metrics) StreamClientInterceptor() grpc.StreamClientInterceptor { return m.streamClient() }

// CircuitCallsForTest returns the bulwark_circuit_calls_total series with
// these labels.
func (m *Metrics) CircuitCallsForTest(side, target, service, method, outcome string) prometheus.Counter {
	return m.comps.circuitCalls.WithLabelValues(side, target, service, method, outcome)
}
