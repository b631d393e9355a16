package bench

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// The gRPC benchmarks run the stacks of stacks_test.go on both sides of a
// real connection: a grpc.Server whose Unary handler echoes the request,
// and a generated client calling it, one unary call per operation. net=bufconn
// keeps the connection in memory (gRPC's HTTP/2 transport and the codec,
// without the kernel); net=tcp goes through a socket on 127.0.0.1. The
// stacks log (log=on) as they would in production. Each client dials with
// what its library asks (Bulwark's chain adds grpc.WithDisableRetry);
// the others keep gRPC's defaults. Compare with `benchstat -col /impl`.

// unaryClient starts a server with the stack's server interceptors on
// network netw and returns a client whose connection has the stack's
// client interceptors; everything is closed by tb.Cleanup.
func unaryClient(tb testing.TB, netw string, s stack) testpb.TestServiceClient {
	tb.Helper()
	sopts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(s.server...)}
	dopts := append([]grpc.DialOption{grpc.WithChainUnaryInterceptor(s.client...)}, s.dial...)
	switch netw {
	case "bufconn":
		return grpctest.Start(tb, &grpctest.Service{}, grpctest.Options{Server: sopts, Dial: dopts}).Client
	case "tcp":
		return startTCP(tb, sopts, dopts)
	}
	tb.Fatalf("bench: no network %q", netw)
	return nil
}

// startTCP serves the test service on a loopback TCP port.
func startTCP(tb testing.TB, sopts []grpc.ServerOption, dopts []grpc.DialOption) testpb.TestServiceClient {
	tb.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := grpc.NewServer(sopts...)
	testpb.RegisterTestServiceServer(srv, &grpctest.Service{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, dopts...)...)
	if err != nil {
		srv.Stop()
		<-done
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		<-done
	})
	return testpb.NewTestServiceClient(conn)
}

// grpcDeadlines are the callers' contexts: with a deadline of their own,
// or without (the stacks apply their default timeout; bare gRPC sends none).
func grpcDeadlines(b *testing.B) []struct {
	name string
	ctx  context.Context
} {
	withDeadline, cancel := context.WithTimeout(context.Background(), time.Hour)
	b.Cleanup(cancel)
	return []struct {
		name string
		ctx  context.Context
	}{{"caller", withDeadline}, {"default", context.Background()}}
}

// warm makes one call, so that the connection is up before the timer
// starts and a broken stack fails at once.
func warm(b *testing.B, c testpb.TestServiceClient, req *testpb.UnaryRequest) {
	b.Helper()
	if _, err := c.Unary(b.Context(), req); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGRPCUnary measures one unary call at a time.
func BenchmarkGRPCUnary(b *testing.B) {
	for _, netw := range []string{"bufconn", "tcp"} {
		for _, dl := range grpcDeadlines(b) {
			for _, impl := range impls {
				b.Run("net="+netw+"/deadline="+dl.name+"/impl="+impl, func(b *testing.B) {
					c := unaryClient(b, netw, newStack(b, impl, true))
					req := &testpb.UnaryRequest{Text: "hello"}
					warm(b, c, req)
					ctx := dl.ctx
					b.ReportAllocs()
					for b.Loop() {
						if _, err := c.Unary(ctx, req); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkGRPCUnaryParallel measures unary calls made by GOMAXPROCS
// goroutines at once (b.RunParallel) over TCP: contention in the stacks
// and in gRPC's transport.
func BenchmarkGRPCUnaryParallel(b *testing.B) {
	for _, dl := range grpcDeadlines(b) {
		for _, impl := range impls {
			b.Run("net=tcp/deadline="+dl.name+"/impl="+impl, func(b *testing.B) {
				c := unaryClient(b, "tcp", newStack(b, impl, true))
				req := &testpb.UnaryRequest{Text: "hello"}
				warm(b, c, req)
				ctx := dl.ctx
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := c.Unary(ctx, req); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
