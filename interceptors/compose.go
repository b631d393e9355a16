package interceptors

import (
	"context"
	"time"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/internal/callclock"
	"github.com/bulwarkrpc/bulwark/internal/reqctx"
)

// The chains hand gRPC one interceptor per side and kind, composed here,
// rather than their list: grpc.WithChainUnaryInterceptor and its kin make a
// closure for every layer of every call. A composed chain builds each
// layer's next step once, when the chain is built, and carries the call's
// own invoker, streamer or handler in a single object per call: the
// CallOptions on the client (an option gRPC ignores), the context on the
// server. Layers run in the same order, with the same arguments, as gRPC's
// chaining would run them.

// finalUnary carries a call's own invoker through the composed layers. It
// embeds grpc.EmptyCallOption, so gRPC ignores it.
type finalUnary struct {
	grpc.EmptyCallOption
	invoker grpc.UnaryInvoker
	start   time.Time // when the call entered the chain (callclock)
}

// CallStart returns when the call entered the chain.
func (f *finalUnary) CallStart() time.Time { return f.start }

// unaryCall is what a composed unary client chain allocates per call: the
// final invoker and room for the call's options plus it.
type unaryCall struct {
	final finalUnary
	opts  [4]grpc.CallOption
}

// withFinal returns opts followed by f, with no spare capacity, so that a
// layer that appends to the options (on several goroutines, when hedging)
// never writes into a shared array.
func withFinal(opts []grpc.CallOption, f grpc.CallOption, room []grpc.CallOption) []grpc.CallOption {
	n := len(opts) + 1
	var o []grpc.CallOption
	if n <= len(room) {
		o = room[:0:n]
	} else {
		o = make([]grpc.CallOption, 0, n)
	}
	o = append(o, opts...)
	return append(o, f)
}

// composeUnaryClient returns one interceptor that runs layers, outermost
// first.
func composeUnaryClient(layers []grpc.UnaryClientInterceptor) grpc.UnaryClientInterceptor {
	n := len(layers)
	if n == 1 {
		return layers[0]
	}
	next := make([]grpc.UnaryInvoker, n)
	next[n-1] = func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
		return finalUnaryOf(opts)(ctx, method, req, reply, cc, opts...)
	}
	for i := n - 2; i >= 0; i-- {
		layer, after := layers[i+1], next[i+1]
		next[i] = func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
			return layer(ctx, method, req, reply, cc, after, opts...)
		}
	}
	first, after := layers[0], next[0]
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		call := &unaryCall{final: finalUnary{invoker: invoker, start: time.Now()}}
		return first(ctx, method, req, reply, cc, after, withFinal(opts, &call.final, call.opts[:])...)
	}
}

// finalUnaryOf returns the invoker that the innermost composed chain whose
// layers opts went through was given: the last one added.
func finalUnaryOf(opts []grpc.CallOption) grpc.UnaryInvoker {
	for i := len(opts) - 1; i >= 0; i-- {
		if f, ok := opts[i].(*finalUnary); ok {
			return f.invoker
		}
	}
	panic("interceptors: a composed chain lost its call's invoker") // a layer dropped the chain's options
}

// finalStream carries a stream's own streamer through the composed layers.
type finalStream struct {
	grpc.EmptyCallOption
	streamer grpc.Streamer
	start    time.Time // when the stream entered the chain (callclock)
}

// CallStart returns when the stream entered the chain.
func (f *finalStream) CallStart() time.Time { return f.start }

// streamCall is what a composed stream client chain allocates per stream.
type streamCall struct {
	final finalStream
	opts  [4]grpc.CallOption
}

// composeStreamClient returns one interceptor that runs layers, outermost
// first.
func composeStreamClient(layers []grpc.StreamClientInterceptor) grpc.StreamClientInterceptor {
	n := len(layers)
	if n == 1 {
		return layers[0]
	}
	next := make([]grpc.Streamer, n)
	next[n-1] = func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return finalStreamOf(opts)(ctx, desc, cc, method, opts...)
	}
	for i := n - 2; i >= 0; i-- {
		layer, after := layers[i+1], next[i+1]
		next[i] = func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			return layer(ctx, desc, cc, method, after, opts...)
		}
	}
	first, after := layers[0], next[0]
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		call := &streamCall{final: finalStream{streamer: streamer, start: time.Now()}}
		return first(ctx, desc, cc, method, after, withFinal(opts, &call.final, call.opts[:])...)
	}
}

// finalStreamOf returns the streamer the innermost composed chain was given.
func finalStreamOf(opts []grpc.CallOption) grpc.Streamer {
	for i := len(opts) - 1; i >= 0; i-- {
		if f, ok := opts[i].(*finalStream); ok {
			return f.streamer
		}
	}
	panic("interceptors: a composed chain lost its stream's streamer")
}

// serverCall is the context a composed server chain gives its first layer:
// the request's context, plus the call's info and own handler, which the
// last layer's next step finds with Value. It is also the call's lazy
// request-id context (reqctx.Lazy), so that the request-id layer, which
// finds one there, allocates nothing.
type serverCall struct {
	reqctx.Lazy
	unaryInfo   *grpc.UnaryServerInfo
	unary       grpc.UnaryHandler
	streamInfo  *grpc.StreamServerInfo
	stream      grpc.StreamHandler
	wrappedStrm callStream // the chain's stream with this context (streams only)
	start       time.Time  // when the call entered the chain (callclock.Key)
}

// callKey finds the innermost serverCall of a context.
type callKey struct{}

// Value returns the serverCall itself for callKey, else the parent's value.
func (c *serverCall) Value(key any) any {
	switch key.(type) {
	case callKey:
		return c
	case callclock.Key:
		return &c.start
	}
	return c.Lazy.Value(key)
}

// composeUnaryServer returns one interceptor that runs layers, outermost
// first.
func composeUnaryServer(layers []grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	n := len(layers)
	if n == 1 {
		return layers[0]
	}
	next := make([]grpc.UnaryHandler, n)
	next[n-1] = func(ctx context.Context, req any) (any, error) {
		return ctx.Value(callKey{}).(*serverCall).unary(ctx, req)
	}
	for i := n - 2; i >= 0; i-- {
		layer, after := layers[i+1], next[i+1]
		next[i] = func(ctx context.Context, req any) (any, error) {
			return layer(ctx, req, ctx.Value(callKey{}).(*serverCall).unaryInfo, after)
		}
	}
	first, after := layers[0], next[0]
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		c := &serverCall{unaryInfo: info, unary: handler, start: time.Now()}
		c.Lazy.Context, c.Lazy.Resolve = ctx, reqctx.DefaultResolve
		return first(c, req, info, after)
	}
}

// callStream is a server stream whose context is the composed chain's
// serverCall.
type callStream struct {
	grpc.ServerStream
	ctx *serverCall
}

// Context returns the serverCall.
func (s *callStream) Context() context.Context { return s.ctx }

// composeStreamServer returns one interceptor that runs layers, outermost
// first.
func composeStreamServer(layers []grpc.StreamServerInterceptor) grpc.StreamServerInterceptor {
	n := len(layers)
	if n == 1 {
		return layers[0]
	}
	next := make([]grpc.StreamHandler, n)
	next[n-1] = func(srv any, ss grpc.ServerStream) error {
		return ss.Context().Value(callKey{}).(*serverCall).stream(srv, ss)
	}
	for i := n - 2; i >= 0; i-- {
		layer, after := layers[i+1], next[i+1]
		next[i] = func(srv any, ss grpc.ServerStream) error {
			return layer(srv, ss, ss.Context().Value(callKey{}).(*serverCall).streamInfo, after)
		}
	}
	first, after := layers[0], next[0]
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		c := &serverCall{streamInfo: info, stream: handler, start: time.Now()}
		c.Lazy.Context, c.Lazy.Resolve = ss.Context(), reqctx.DefaultResolve
		c.wrappedStrm = callStream{ServerStream: ss, ctx: c}
		return first(srv, &c.wrappedStrm, info, after)
	}
}
