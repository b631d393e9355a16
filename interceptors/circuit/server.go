package circuit

import (
	"context"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/gone"
	"github.com/bulwarkrpc/bulwark/internal/unregistered"
)

// UnaryServerInterceptor returns the server-side unary interceptor: one
// breaker per method, so that a handler whose own dependency is down fails
// fast with UNAVAILABLE (CIRCUIT_OPEN, with RetryInfo) before it runs. The
// handler's error is classified as on the client; a panic counts as a
// failure and goes on. A call whose caller hung up or whose deadline passed
// before the handler returned is Ignored, whatever the handler returned; a
// handler that runs out of the server's own time (deadline.WithMaxDeadline)
// fails.
func (c *Circuit) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		o := c.opts.Load()
		e := c.servers.get(key{method: info.FullMethod})
		p, err := e.b.Allow()
		if err != nil {
			e.rej.refused(err)
			c.reject(ctx, o, e, info.FullMethod)
			return nil, e.refusal
		}
		returned := false
		defer func() {
			if !returned {
				p.Done(breaker.Failed)
			}
		}()
		resp, err := handler(ctx, req)
		returned = true
		c.reportServer(ctx, o, e, info.FullMethod, p, err)
		return resp, err
	}
}

// StreamServerInterceptor returns the server-side stream interceptor: the
// stream holds its permit until the handler returns, and is judged by its
// error. Streams to methods the server has not registered (served by
// grpc.UnknownServiceHandler) share one breaker, so that the method names
// a caller chooses cannot grow the registry.
func (c *Circuit) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		o := c.opts.Load()
		fullMethod := unregistered.Method(srv, info)
		e := c.servers.get(key{method: fullMethod})
		p, err := e.b.Allow()
		if err != nil {
			e.rej.refused(err)
			c.reject(ss.Context(), o, e, fullMethod)
			return e.refusal
		}
		returned := false
		defer func() {
			if !returned {
				p.Done(breaker.Failed)
			}
		}()
		err = handler(srv, ss)
		returned = true
		c.reportServer(ss.Context(), o, e, fullMethod, p, err)
		return err
	}
}

// reportServer reports a handler's result: Ignored when the caller has
// gone (it cancelled or its own deadline passed), since a caller that hangs
// up (a hedging client's loser, say) says nothing of the handler's health;
// classified otherwise, the server's own deadline (deadline.WithMaxDeadline)
// included.
func (c *Circuit) reportServer(ctx context.Context, o *options, e *entry, fullMethod string, p breaker.Permit, err error) {
	if err != nil && gone.Caller(ctx) {
		p.Done(breaker.Skipped)
		if o.observer.OnCall != nil {
			o.observer.OnCall(ctx, CallEvent{Target: e.rej.Target, Method: fullMethod, Outcome: outcome.Ignored})
		}
		return
	}
	c.report(ctx, o, e, fullMethod, p, err)
}
