package logging

import "google.golang.org/grpc"

// The tests place the interceptors themselves; users pass DialOptions and
// ServerOptions, or use the chains.

func (l *Logging) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return l.unaryServerInterceptor()
}

func (l *Logging) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return l.streamServerInterceptor()
}

func (l *Logging) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return l.unaryClientInterceptor()
}

func (l *Logging) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return l.streamClientInterceptor()
}
