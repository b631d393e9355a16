package workload

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"
)

// AttemptCounter counts the calls and streams that pass through its
// interceptors. Installed innermost, next to the transport, it counts the
// attempts that go on the wire. The zero AttemptCounter is ready to use.
type AttemptCounter struct {
	n atomic.Int64
}

// Count returns the attempts counted so far.
func (c *AttemptCounter) Count() int64 { return c.n.Load() }

// UnaryClientInterceptor counts each unary attempt.
func (c *AttemptCounter) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		c.n.Add(1)
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor counts each stream attempt.
func (c *AttemptCounter) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		c.n.Add(1)
		return streamer(ctx, desc, cc, method, opts...)
	}
}
