package opentelemetry

import "google.golang.org/grpc"

// The tests place Telemetry's call interceptors themselves; users install
// them with DialOptions and ServerOptions, or through the chains.

func (t *Telemetry) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return t.unaryClientInterceptor()
}

func (t *Telemetry) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return t.streamClientInterceptor()
}

func (t *Telemetry) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return t.unaryServerInterceptor()
}

func (t *Telemetry) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return t.streamServerInterceptor()
}
