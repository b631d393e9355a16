package circuit

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/attempt"
)

// UnaryClientInterceptor returns the client-side unary interceptor. Each call
// asks the breaker of its target (or target and method) for a permit: a
// refused call fails at once (UNAVAILABLE, CIRCUIT_OPEN; breaker.ErrOpen)
// without reaching the network, or gets the Fallback's answer; a call let
// through reports its outcome when it returns.
func (c *Circuit) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		o := c.opts.Load()
		e := c.clients.get(o.clientKey(cc.Target(), method))
		p, err := e.b.Allow()
		if err != nil {
			c.reject(ctx, o, e, method)
			if o.fallback != nil {
				return o.fallback(ctx, method, req, reply, e.rej.refused(err))
			}
			return e.rej.refused(err)
		}
		returned := false
		defer func() {
			if !returned { // the invoker panicked
				p.Done(breaker.Failed)
			}
		}()
		err = invoker(ctx, method, req, reply, cc, opts...)
		returned = true
		if oc := c.report(ctx, o, e, method, p, err); o.onFailure && attempt.Failure(oc) {
			return o.fallback(ctx, method, req, reply, err)
		}
		return err
	}
}

// StreamClientInterceptor returns the client-side stream interceptor. A
// stream holds its permit for its whole life and is judged by how it ends:
// io.EOF from RecvMsg (or the single response of a client-streaming call) is
// a success, an error is classified, and the caller cancelling its context
// is ignored. The permit is released exactly once, also when the caller
// cancels and never reads again.
func (c *Circuit) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		o := c.opts.Load()
		e := c.clients.get(o.clientKey(cc.Target(), method))
		p, err := e.b.Allow()
		if err != nil {
			c.reject(ctx, o, e, method)
			return nil, e.rej.refused(err)
		}
		returned := false
		defer func() {
			if !returned {
				p.Done(breaker.Failed)
			}
		}()
		cs, err := streamer(ctx, desc, cc, method, opts...)
		returned = true
		if err != nil {
			c.report(ctx, o, e, method, p, err)
			return nil, err
		}
		s := &clientStream{ClientStream: cs, c: c, o: o, e: e, ctx: ctx, method: method, p: p, serverStreams: desc.ServerStreams}
		// The caller may cancel and walk away: release the permit then.
		s.stop = context.AfterFunc(ctx, s.canceled)
		return s, nil
	}
}

type clientStream struct {
	grpc.ClientStream
	c             *Circuit
	o             *options // those of the stream's start
	e             *entry
	ctx           context.Context
	method        string
	p             breaker.Permit
	serverStreams bool
	stop          func() bool
	done          atomic.Bool
}

func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case errors.Is(err, io.EOF):
		s.finish(nil)
	case err != nil:
		s.finish(err)
	case !s.serverStreams:
		s.finish(nil) // the single response of a unary-response stream
	}
	return err
}

func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && !errors.Is(err, io.EOF) {
		s.finish(err) // io.EOF: the status comes from RecvMsg
	}
	return err
}

// finish reports the end of the stream, once.
func (s *clientStream) finish(err error) {
	if !s.done.CompareAndSwap(false, true) {
		return
	}
	s.stop()
	s.c.report(s.ctx, s.o, s.e, s.method, s.p, err)
}

// canceled runs when the caller's context is done before the stream ended.
func (s *clientStream) canceled() {
	if !s.done.CompareAndSwap(false, true) {
		return
	}
	s.p.Done(breaker.Skipped)
	if s.o.observer.OnCall != nil {
		s.o.observer.OnCall(s.ctx, CallEvent{Target: s.e.rej.Target, Method: s.method, Outcome: outcome.Ignored})
	}
}
