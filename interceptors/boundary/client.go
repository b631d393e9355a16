package boundary

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
)

// UnaryClientInterceptor returns the client-side unary decoder built from
// opts; see Boundary.UnaryClientInterceptor. It panics on an invalid option.
func UnaryClientInterceptor(opts ...Option) grpc.UnaryClientInterceptor {
	return mustNew(opts).UnaryClientInterceptor()
}

// StreamClientInterceptor returns the client-side stream decoder built from
// opts; see Boundary.StreamClientInterceptor. It panics on an invalid option.
func StreamClientInterceptor(opts ...Option) grpc.StreamClientInterceptor {
	return mustNew(opts).StreamClientInterceptor()
}

// UnaryClientInterceptor returns the client-side unary decoder: a failed
// call whose status carries an ErrorInfo or a bulwark.v1.ApplicationError
// returns an *errdetails.ApplicationError; any other error is returned as it
// is. A successful call costs nothing.
func (b *Boundary) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return Decode(invoker(ctx, method, req, reply, cc, opts...))
	}
}

// StreamClientInterceptor returns the client-side stream decoder: errors
// from opening the stream, RecvMsg, SendMsg, Header and CloseSend are
// decoded as in UnaryClientInterceptor. io.EOF passes through untouched.
func (b *Boundary) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			return nil, Decode(err)
		}
		return &decodingStream{ClientStream: cs}, nil
	}
}

// Decode returns the *errdetails.ApplicationError that err's status
// carries, or err itself when it carries none, already is or wraps an
// ApplicationError, or is nil or io.EOF.
func Decode(err error) error {
	if err == nil {
		return nil
	}
	var ae *errdetails.ApplicationError
	if errors.As(err, &ae) {
		return err
	}
	if st, ok := status.FromError(err); ok {
		if ae, ok := errdetails.FromStatus(st); ok {
			return ae
		}
	}
	return err
}

type decodingStream struct {
	grpc.ClientStream
}

func (s *decodingStream) RecvMsg(m any) error { return Decode(s.ClientStream.RecvMsg(m)) }
func (s *decodingStream) SendMsg(m any) error { return Decode(s.ClientStream.SendMsg(m)) }
func (s *decodingStream) CloseSend() error    { return Decode(s.ClientStream.CloseSend()) }

func (s *decodingStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	return md, Decode(err)
}
