package interceptors

import (
	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/internal/chainlayers"
)

// The benchmarks measure a chain's layers one by one through package
// layers; users install the composed chain.
func init() {
	chainlayers.Client = func(chain any) ([]grpc.UnaryClientInterceptor, []grpc.StreamClientInterceptor) {
		c := chain.(*ClientChain)
		return append([]grpc.UnaryClientInterceptor(nil), c.unary...), append([]grpc.StreamClientInterceptor(nil), c.stream...)
	}
	chainlayers.Server = func(chain any) ([]grpc.UnaryServerInterceptor, []grpc.StreamServerInterceptor) {
		s := chain.(*ServerChain)
		return append([]grpc.UnaryServerInterceptor(nil), s.unary...), append([]grpc.StreamServerInterceptor(nil), s.stream...)
	}
}
