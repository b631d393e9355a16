// Package unregistered names the calls that reach a server's interceptors
// for a method it has not registered, through grpc.UnknownServiceHandler
// (a proxy, say). Their method names are chosen by the caller, so every
// per-method state (metric series, breakers) shares one name for them.
package unregistered

// FullMethod is the one full method name that stands for every method a
// server has not registered: its service and method are both "other", as
// gRPC's OpenTelemetry metrics (gRFC A66) name them.
const FullMethod = "/other/other"

// Method returns fullMethod for a registered method, and FullMethod for one
// the server has not registered. srv is the service implementation a
// stream server interceptor receives: grpc-go passes nil for calls served
// by grpc.UnknownServiceHandler, and the service's implementation for
// every registered method. Unary calls always reach a registered method.
func Method(srv any, fullMethod string) string {
	if srv == nil {
		return FullMethod
	}
	return fullMethod
}
