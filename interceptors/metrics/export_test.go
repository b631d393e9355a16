package metrics

import "google.golang.org/grpc"

// The tests place the interceptors themselves; users pass DialOptions and
// ServerOptions, or use the chains.

func (m *Metrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor   { return m.unaryServer() }
func (m *Metrics) StreamServerInterceptor() grpc.StreamServerInterceptor { return m.streamServer() }
func (m *Metrics) UnaryClientInterceptor() grpc.UnaryClientInterceptor   { return m.unaryClient() }
func (m *Metrics) StreamClientInterceptor() grpc.StreamClientInterceptor { return m.streamClient() }
