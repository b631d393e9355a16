// Package chainlayers gives the benchmarks the layers of a chain built by
// interceptors.NewClientChain or NewServerChain, outermost first, so that
// they can be measured one by one or composed another way. Users install a
// chain through its DialOptions or ServerOptions, so the lists are not part
// of the chains' API.
package chainlayers

import "google.golang.org/grpc"

// Client returns the unary and stream interceptors of a
// *interceptors.ClientChain, outermost first. Package interceptors sets it
// when it is initialised.
var Client func(chain any) ([]grpc.UnaryClientInterceptor, []grpc.StreamClientInterceptor)

// Server returns the unary and stream interceptors of a
// *interceptors.ServerChain, outermost first. Package interceptors sets it
// when it is initialised.
var Server func(chain any) ([]grpc.UnaryServerInterceptor, []grpc.StreamServerInterceptor)
