package requestid

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/internal/reqctx"
)

// UnaryServerInterceptor puts the request id on the context of every call:
// the caller's valid x-request-id, or a new one (see New), found or made
// the first time FromContext asks for it. Place it outermost, so the logs
// and errors of every other interceptor carry it.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return handler(serverContext(ctx), req)
	}
}

// StreamServerInterceptor is the stream form of UnaryServerInterceptor.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return handler(srv, &contextStream{ServerStream: ss, ctx: serverContext(ss.Context())})
	}
}

// UnaryClientInterceptor sends the request id of the context (set by the
// server interceptors when a handler calls another service, or by
// NewContext) as x-request-id, unless the outgoing metadata already has one.
// A context without an id costs nothing.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(clientContext(ctx), method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor is the stream form of UnaryClientInterceptor.
func StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(clientContext(ctx), desc, cc, method, opts...)
	}
}

// serverContext returns ctx with the call's request id, found or made when
// first asked for (see newLazy), unless ctx carries one already.
func serverContext(ctx context.Context) context.Context {
	switch v := ctx.Value(ctxKey{}).(type) {
	case *reqctx.Lazy:
		return ctx
	case string:
		if v != "" {
			return ctx
		}
	}
	return newLazy(ctx)
}

// init lends resolve to the request-id contexts made outside this package
// (Bulwark's composed server chain).
func init() { reqctx.DefaultResolve = resolve }

func clientContext(ctx context.Context) context.Context {
	id, ok := FromContext(ctx)
	if !ok {
		return ctx
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(MetadataKey)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, MetadataKey, id)
}

type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
