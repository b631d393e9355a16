package bench

import (
	"context"
	"io"
	"runtime"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/bulwarkrpc/bulwark/bench/internal/cputime"
	"github.com/bulwarkrpc/bulwark/bench/internal/stacks"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// The composed-chain benchmarks run Bulwark's chains (and bare gRPC's
// empty one) composed exactly as grpc-go composes what
// grpc.WithChainUnaryInterceptor, grpc.ChainUnaryInterceptor and their
// stream forms register: grpcChain* below are grpc-go 1.85's own functions
// (clientconn.go chainUnaryClientInterceptors and getChainUnaryInvoker,
// server.go chainUnaryInterceptors and getChainUnaryHandler, and the
// stream forms), which make a closure per interceptor but the last on every
// call. chain_test.go folds the closures once, before the loop, so its
// figures leave out that cost; the difference between the two is what one
// interceptor composed of the whole chain (DESIGN.md §4) would save.
//
// The stacks log to io.Discard at Info, as in production. Compare with
// `benchstat -col /impl`.

// grpcChainUnaryClient is grpc-go's chainUnaryClientInterceptors.
func grpcChainUnaryClient(ics []grpc.UnaryClientInterceptor) grpc.UnaryClientInterceptor {
	switch len(ics) {
	case 0:
		return nil
	case 1:
		return ics[0]
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return ics[0](ctx, method, req, reply, cc, grpcChainUnaryInvoker(ics, 0, invoker), opts...)
	}
}

// grpcChainUnaryInvoker is grpc-go's getChainUnaryInvoker.
func grpcChainUnaryInvoker(ics []grpc.UnaryClientInterceptor, curr int, final grpc.UnaryInvoker) grpc.UnaryInvoker {
	if curr == len(ics)-1 {
		return final
	}
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
		return ics[curr+1](ctx, method, req, reply, cc, grpcChainUnaryInvoker(ics, curr+1, final), opts...)
	}
}

// grpcChainUnaryServer is grpc-go's chainUnaryServerInterceptors.
func grpcChainUnaryServer(ics []grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	switch len(ics) {
	case 0:
		return nil
	case 1:
		return ics[0]
	}
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		return ics[0](ctx, req, info, grpcChainUnaryHandler(ics, 0, info, handler))
	}
}

// grpcChainUnaryHandler is grpc-go's getChainUnaryHandler.
func grpcChainUnaryHandler(ics []grpc.UnaryServerInterceptor, curr int, info *grpc.UnaryServerInfo, final grpc.UnaryHandler) grpc.UnaryHandler {
	if curr == len(ics)-1 {
		return final
	}
	return func(ctx context.Context, req any) (any, error) {
		return ics[curr+1](ctx, req, info, grpcChainUnaryHandler(ics, curr+1, info, final))
	}
}

// grpcChainStreamClient is grpc-go's chainStreamClientInterceptors.
func grpcChainStreamClient(ics []grpc.StreamClientInterceptor) grpc.StreamClientInterceptor {
	switch len(ics) {
	case 0:
		return nil
	case 1:
		return ics[0]
	}
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return ics[0](ctx, desc, cc, method, grpcChainStreamer(ics, 0, streamer), opts...)
	}
}

// grpcChainStreamer is grpc-go's getChainStreamer.
func grpcChainStreamer(ics []grpc.StreamClientInterceptor, curr int, final grpc.Streamer) grpc.Streamer {
	if curr == len(ics)-1 {
		return final
	}
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return ics[curr+1](ctx, desc, cc, method, grpcChainStreamer(ics, curr+1, final), opts...)
	}
}

// grpcChainStreamServer is grpc-go's chainStreamServerInterceptors.
func grpcChainStreamServer(ics []grpc.StreamServerInterceptor) grpc.StreamServerInterceptor {
	switch len(ics) {
	case 0:
		return nil
	case 1:
		return ics[0]
	}
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		return ics[0](srv, ss, info, grpcChainStreamHandler(ics, 0, info, handler))
	}
}

// grpcChainStreamHandler is grpc-go's getChainStreamHandler.
func grpcChainStreamHandler(ics []grpc.StreamServerInterceptor, curr int, info *grpc.StreamServerInfo, final grpc.StreamHandler) grpc.StreamHandler {
	if curr == len(ics)-1 {
		return final
	}
	return func(srv any, ss grpc.ServerStream) error {
		return ics[curr+1](srv, ss, info, grpcChainStreamHandler(ics, curr+1, info, final))
	}
}

// composedImpls are the implementations of the composed benchmarks: the
// ones with stream interceptors.
var composedImpls = []string{"bulwark", "bare"}

func composedStack(b *testing.B, impl string) stacks.Stack {
	s, err := stacks.New(impl, true)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	return s
}

// BenchmarkComposedClient measures the client chain on a unary call that
// succeeds at the first attempt, composed as grpc-go composes it, in front
// of a fake transport, as grpc.ClientConn.Invoke calls it. With
// deadline=caller-requestid the caller's context also has a request id, as
// in a handler that calls another service: the chain sends it as
// x-request-id.
func BenchmarkComposedClient(b *testing.B) {
	withDeadline, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	withID := requestid.NewContext(withDeadline, requestid.New())
	for _, dl := range []struct {
		name string
		ctx  context.Context
	}{{"caller", withDeadline}, {"default", context.Background()}, {"caller-requestid", withID}} {
		for _, impl := range stacks.Impls {
			b.Run("deadline="+dl.name+"/impl="+impl, func(b *testing.B) {
				ic := grpcChainUnaryClient(composedStack(b, impl).Client)
				cc := idleConn(b)
				ctx, opts := dl.ctx, []grpc.CallOption{grpc.StaticMethod()}
				b.ReportAllocs()
				defer reportCPU(b, cputime.Now())
				for b.Loop() {
					var err error
					if ic == nil {
						err = fakeInvoker(ctx, benchUnaryMethod, 1, 2, cc, opts...)
					} else {
						err = ic(ctx, benchUnaryMethod, 1, 2, cc, fakeInvoker, opts...)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkComposedServer measures the server chain on a request that the
// handler answers at once, composed as grpc-go composes it.
func BenchmarkComposedServer(b *testing.B) {
	withDeadline, cancel := context.WithTimeout(serverContext(), time.Hour)
	defer cancel()
	info := &grpc.UnaryServerInfo{FullMethod: benchUnaryMethod}
	for _, dl := range []struct {
		name string
		ctx  context.Context
	}{{"caller", withDeadline}, {"none", serverContext()}} {
		for _, impl := range stacks.Impls {
			b.Run("deadline="+dl.name+"/impl="+impl, func(b *testing.B) {
				ic := grpcChainUnaryServer(composedStack(b, impl).Server)
				ctx := dl.ctx
				b.ReportAllocs()
				defer reportCPU(b, cputime.Now())
				for b.Loop() {
					var err error
					if ic == nil {
						_, err = fakeHandler(ctx, 1)
					} else {
						_, err = ic(ctx, 1, info, fakeHandler)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// streamMessages is the number of messages of each server stream.
const streamMessages = 100

const benchStreamMethod = "/bulwark.testing.v1.TestService/ServerStream"

// fakeServerStream is the server side of a stream whose messages go
// nowhere.
type fakeServerStream struct{ ctx context.Context }

func (s *fakeServerStream) SetHeader(metadata.MD) error  { return nil }
func (s *fakeServerStream) SendHeader(metadata.MD) error { return nil }
func (s *fakeServerStream) SetTrailer(metadata.MD)       {}
func (s *fakeServerStream) Context() context.Context     { return s.ctx }
func (s *fakeServerStream) SendMsg(any) error            { return nil }
func (s *fakeServerStream) RecvMsg(any) error            { return nil }

// fakeClientStream is the client side of a server stream that delivers
// left messages, then io.EOF.
type fakeClientStream struct {
	ctx  context.Context
	left int
}

func (s *fakeClientStream) Header() (metadata.MD, error) { return nil, nil }
func (s *fakeClientStream) Trailer() metadata.MD         { return nil }
func (s *fakeClientStream) CloseSend() error             { return nil }
func (s *fakeClientStream) Context() context.Context     { return s.ctx }
func (s *fakeClientStream) SendMsg(any) error            { return nil }
func (s *fakeClientStream) RecvMsg(any) error {
	if s.left == 0 {
		return io.EOF
	}
	s.left--
	return nil
}

// BenchmarkComposedServerStream measures both stream chains around a
// server stream of streamMessages messages, composed as grpc-go composes
// them, with a fake transport: the client opens the stream, sends the
// request, reads every message and io.EOF; the server handler reads the
// request and sends every message. ns/msg and allocs/msg are per message
// of a stream, setup included.
func BenchmarkComposedServerStream(b *testing.B) {
	withDeadline, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	desc := &grpc.StreamDesc{StreamName: "ServerStream", ServerStreams: true}
	sinfo := &grpc.StreamServerInfo{FullMethod: benchStreamMethod, IsServerStream: true}
	for _, impl := range composedImpls {
		b.Run("impl="+impl, func(b *testing.B) {
			s := composedStack(b, impl)
			cic, sic := grpcChainStreamClient(s.ClientStream), grpcChainStreamServer(s.ServerStream)
			cc := idleConn(b)
			opts := []grpc.CallOption{grpc.StaticMethod()}
			sctx := metadata.NewIncomingContext(withDeadline, metadata.Pairs(":authority", "bench", "content-type", "application/grpc"))
			streamer := func(ctx context.Context, _ *grpc.StreamDesc, _ *grpc.ClientConn, _ string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
				return &fakeClientStream{ctx: ctx, left: streamMessages}, nil
			}
			req, resp := &testpb.ServerStreamRequest{Text: "hello", Count: streamMessages}, &testpb.ServerStreamResponse{Text: "hello"}
			handler := func(_ any, ss grpc.ServerStream) error {
				if err := ss.RecvMsg(&testpb.ServerStreamRequest{}); err != nil {
					return err
				}
				for range streamMessages {
					if err := ss.SendMsg(resp); err != nil {
						return err
					}
				}
				return nil
			}
			b.ReportAllocs()
			before := mallocs()
			defer reportCPU(b, cputime.Now())
			for b.Loop() {
				var err error
				if sic == nil {
					err = handler(nil, &fakeServerStream{ctx: sctx})
				} else {
					err = sic(nil, &fakeServerStream{ctx: sctx}, sinfo, handler)
				}
				if err != nil {
					b.Fatal(err)
				}
				var cs grpc.ClientStream
				if cic == nil {
					cs, err = streamer(withDeadline, desc, cc, benchStreamMethod, opts...)
				} else {
					cs, err = cic(withDeadline, desc, cc, benchStreamMethod, streamer, opts...)
				}
				if err != nil {
					b.Fatal(err)
				}
				if err := cs.SendMsg(req); err != nil {
					b.Fatal(err)
				}
				if err := cs.CloseSend(); err != nil {
					b.Fatal(err)
				}
				n := 0
				for {
					err := cs.RecvMsg(&testpb.ServerStreamResponse{})
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != streamMessages {
					b.Fatalf("got %d messages, want %d", n, streamMessages)
				}
			}
			reportPerMessage(b, mallocs()-before)
		})
	}
}

// reportCPU adds cpu-ns/op, the process's CPU time per operation since
// start: on a machine shared with other work, it varies much less than
// ns/op. Defer it right before the benchmark's loop.
func reportCPU(b *testing.B, start time.Duration) {
	if b.N > 0 {
		b.ReportMetric(float64((cputime.Now()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// reportPerMessage adds ns/msg and allocs/msg (from n allocations in
// all) to the benchmark's figures.
func reportPerMessage(b *testing.B, n uint64) {
	msgs := float64(b.N * streamMessages)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/msgs, "ns/msg")
	b.ReportMetric(float64(n)/msgs, "allocs/msg")
}

// mallocs returns the number of heap allocations so far.
func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}
