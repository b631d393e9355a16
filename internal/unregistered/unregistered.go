// Package unregistered names the calls that reach a server's interceptors
// for a method it has not registered, through grpc.UnknownServiceHandler
// (a proxy, say). Their method names are chosen by the caller, so every
// per-method state (metric series, breakers) shares one name for them.
package unregistered

import "google.golang.org/grpc"

// FullMethod is the one full method name that stands for every method a
// server has not registered: its service and method are both "other", as
// gRPC's OpenTelemetry metrics (gRFC A66) name them.
const FullMethod = "/other/other"

// Is reports whether a stream call is served by grpc.UnknownServiceHandler:
// grpc-go passes such a call a nil service implementation and describes it
// as streaming both ways. srv and info are what a stream server interceptor
// receives. Unary calls always reach a registered method.
func Is(srv any, info *grpc.StreamServerInfo) bool {
	return srv == nil && info.IsClientStream && info.IsServerStream
}

// Method returns info.FullMethod for a registered method, and FullMethod
// for one the server has not registered (see Is).
func Method(srv any, info *grpc.StreamServerInfo) string {
	if Is(srv, info) {
		return FullMethod
	}
	return info.FullMethod
}
