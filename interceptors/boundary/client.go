package boundary

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/internal/sent"
)

// UnaryClientInterceptor returns the client-side unary decoder: a failed
// call whose status carries an ErrorInfo or a bulwark.v1.ApplicationError
// returns an *errdetails.ApplicationError; any other status error is
// returned marked as received (see decode). A successful call costs
// nothing.
func (b *Boundary) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return decode(invoker(ctx, method, req, reply, cc, opts...))
	}
}

// StreamClientInterceptor returns the client-side stream decoder: errors
// from opening the stream, RecvMsg, SendMsg, Header and CloseSend are
// decoded as in UnaryClientInterceptor. io.EOF passes through untouched.
func (b *Boundary) StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		cs, err := streamer(ctx, desc, cc, method, opts...)
		if err != nil {
			return nil, decode(err)
		}
		return &decodingStream{ClientStream: cs}, nil
	}
}

// decode returns the *errdetails.ApplicationError that err's status
// carries; err itself when it already is or wraps an ApplicationError, or
// is nil, io.EOF or not a status; and otherwise err marked as the status an
// outgoing call returned, so that a server whose handler passes it on
// applies its downstream rule (see the package documentation). The mark is
// transparent: status.FromError, status.Code and errors.Is see through it.
func decode(err error) error {
	if err == nil {
		return nil
	}
	var ae *errdetails.ApplicationError
	if errors.As(err, &ae) || sent.IsReceived(err) {
		return err
	}
	if st, ok := status.FromError(err); ok {
		if ae, ok := errdetails.FromError(st.Err()); ok {
			return ae
		}
		// Marked, so that a server whose handler passes it on knows it
		// came from this call: status.FromError, status.Code and
		// errors.Is see through the mark.
		return sent.Receive(err)
	}
	return err
}

type decodingStream struct {
	grpc.ClientStream
}

func (s *decodingStream) RecvMsg(m any) error { return decode(s.ClientStream.RecvMsg(m)) }
func (s *decodingStream) SendMsg(m any) error { return decode(s.ClientStream.SendMsg(m)) }
func (s *decodingStream) CloseSend() error    { return decode(s.ClientStream.CloseSend()) }

func (s *decodingStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	return md, decode(err)
}
