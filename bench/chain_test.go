package bench

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// The chain benchmarks run each implementation's whole stack of unary
// interceptors (stacks_test.go) on the success path, in front of a fake
// invoker or handler that succeeds at once: no network, no codec, only
// what the interceptors cost. grpc_test.go runs the same stacks over real
// connections. Compare with `benchstat -col /impl`.
//
// deadline=caller: the caller's context already has a deadline (on the
// server: the request carried one), so Bulwark's deadline interceptor has
// nothing to add; go-grpc-middleware's timeout interceptor wraps the context
// anyway. deadline=default (client): the caller set none, so the stacks
// apply their 10 s timeout. deadline=none (server): the request carried no
// deadline.

// chainClient folds ics around invoker the way grpc does, outermost first.
func chainClient(ics []grpc.UnaryClientInterceptor, invoker grpc.UnaryInvoker) grpc.UnaryInvoker {
	for i := len(ics) - 1; i >= 0; i-- {
		ic, next := ics[i], invoker
		invoker = func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
			return ic(ctx, method, req, reply, cc, next, opts...)
		}
	}
	return invoker
}

// chainServer folds ics around handler the way grpc does, outermost first.
func chainServer(ics []grpc.UnaryServerInterceptor, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) grpc.UnaryHandler {
	for i := len(ics) - 1; i >= 0; i-- {
		ic, next := ics[i], handler
		handler = func(ctx context.Context, req any) (any, error) { return ic(ctx, req, info, next) }
	}
	return handler
}

func fakeInvoker(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
	return nil
}

func fakeHandler(_ context.Context, req any) (any, error) { return req, nil }

// idleConn is a client connection that is never used to send anything: the
// interceptors read its target.
func idleConn(tb testing.TB) *grpc.ClientConn {
	tb.Helper()
	cc, err := grpc.NewClient("passthrough:///bench", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cc.Close() })
	return cc
}

// chainVariants are the sub-benchmarks of both chain benchmarks: bare only
// once, since it has nothing to log.
func chainVariants(yield func(log bool, impl string)) {
	for _, log := range []bool{false, true} {
		for _, impl := range impls {
			if log && impl == "bare" {
				continue
			}
			yield(log, impl)
		}
	}
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// BenchmarkChainClient measures each client stack on a call that succeeds
// at the first attempt.
func BenchmarkChainClient(b *testing.B) {
	withDeadline, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for _, dl := range []struct {
		name string
		ctx  context.Context
	}{{"caller", withDeadline}, {"default", context.Background()}} {
		chainVariants(func(log bool, impl string) {
			b.Run("deadline="+dl.name+"/log="+onOff(log)+"/impl="+impl, func(b *testing.B) {
				s := newStack(b, impl, log)
				call := chainClient(s.client, fakeInvoker)
				cc := idleConn(b)
				ctx, opts := dl.ctx, []grpc.CallOption{grpc.StaticMethod()}
				b.ReportAllocs()
				for b.Loop() {
					if err := call(ctx, benchUnaryMethod, 1, 2, cc, opts...); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// serverContext is what a unary handler's context holds on a real server
// beside the deadline: the incoming metadata gRPC always has.
func serverContext() context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs(
		":authority", "bench", "content-type", "application/grpc", "user-agent", "grpc-go/1.85.0",
	))
}

// BenchmarkChainServer measures each server stack on a request that the
// handler answers at once.
func BenchmarkChainServer(b *testing.B) {
	withDeadline, cancel := context.WithTimeout(serverContext(), time.Hour)
	defer cancel()
	info := &grpc.UnaryServerInfo{FullMethod: benchUnaryMethod}
	for _, dl := range []struct {
		name string
		ctx  context.Context
	}{{"caller", withDeadline}, {"none", serverContext()}} {
		chainVariants(func(log bool, impl string) {
			b.Run("deadline="+dl.name+"/log="+onOff(log)+"/impl="+impl, func(b *testing.B) {
				s := newStack(b, impl, log)
				handle := chainServer(s.server, info, fakeHandler)
				ctx := dl.ctx
				b.ReportAllocs()
				for b.Loop() {
					if _, err := handle(ctx, 1); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
