package workload

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/errdetails"
)

// AttemptCounter counts the calls and streams that pass through its
// interceptors. Installed innermost, next to the transport, it counts the
// attempts that go on the wire. The zero AttemptCounter is ready to use.
type AttemptCounter struct {
	n atomic.Int64
	// Rejections, when not nil, counts the attempts that a Bulwark server
	// refused before its handler ran: ServerOverloaded (its load shedding)
	// and DeadlineTooShort (its deadline check), read from the ErrorInfo of
	// the attempt's status. Set it before the interceptors are used.
	Rejections *Rejections
}

// Count returns the attempts counted so far.
func (c *AttemptCounter) Count() int64 { return c.n.Load() }

// UnaryClientInterceptor counts each unary attempt.
func (c *AttemptCounter) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		c.n.Add(1)
		err := invoker(ctx, method, req, reply, cc, opts...)
		if err != nil {
			c.rejected(err)
		}
		return err
	}
}

// StreamClientInterceptor counts each stream attempt.
func (c *AttemptCounter) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		c.n.Add(1)
		s, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			c.rejected(err)
			return nil, err
		}
		if c.Rejections == nil {
			return s, nil
		}
		return &countedStream{ClientStream: s, c: c}, nil
	}
}

// rejected counts err if a server refused the attempt before its handler.
func (c *AttemptCounter) rejected(err error) {
	if c.Rejections == nil {
		return
	}
	ae, ok := errdetails.FromError(err)
	if !ok {
		return
	}
	switch ae.Code {
	case errdetails.CodeServerOverloaded:
		c.Rejections.Add(ServerOverloaded)
	case errdetails.CodeDeadlineTooShort:
		c.Rejections.Add(DeadlineTooShort)
	}
}

// countedStream reads how a stream ends, once.
type countedStream struct {
	grpc.ClientStream
	c    *AttemptCounter
	done atomic.Bool
}

func (s *countedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil && !errors.Is(err, io.EOF) && s.done.CompareAndSwap(false, true) {
		s.c.rejected(err)
	}
	return err
}
