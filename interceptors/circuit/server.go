package circuit

import (
	"context"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/breaker"
)

// UnaryServerInterceptor returns the server-side unary interceptor: one
// breaker per method, so that a handler whose own dependency is down fails
// fast with UNAVAILABLE (CIRCUIT_OPEN, with RetryInfo) before it runs. The
// handler's error is classified as on the client; a panic counts as a
// failure and goes on.
func (c *Circuit) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		e := c.servers.get(key{method: info.FullMethod})
		p, err := e.b.Allow()
		if err != nil {
			c.reject(e, info.FullMethod)
			return nil, e.rej
		}
		returned := false
		defer func() {
			if !returned {
				p.Done(breaker.Failure)
			}
		}()
		resp, err := handler(ctx, req)
		returned = true
		c.report(ctx, e, info.FullMethod, p, err)
		return resp, err
	}
}

// StreamServerInterceptor returns the server-side stream interceptor: the
// stream holds its permit until the handler returns, and is judged by its
// error.
func (c *Circuit) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		e := c.servers.get(key{method: info.FullMethod})
		p, err := e.b.Allow()
		if err != nil {
			c.reject(e, info.FullMethod)
			return e.rej
		}
		returned := false
		defer func() {
			if !returned {
				p.Done(breaker.Failure)
			}
		}()
		err = handler(srv, ss)
		returned = true
		c.report(ss.Context(), e, info.FullMethod, p, err)
		return err
	}
}
