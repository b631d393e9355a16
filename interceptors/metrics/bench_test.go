package metrics_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
)

func BenchmarkUnaryServer(b *testing.B) {
	ic := newMetrics(b).UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/greeter.v1.Greeter/SayHello"}
	handler := func(ctx context.Context, req any) (any, error) { return req, nil }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ic(ctx, 1, info, handler); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnaryClient(b *testing.B) {
	ic := newMetrics(b).UnaryClientInterceptor()
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := ic(ctx, "/greeter.v1.Greeter/SayHello", 1, 2, nil, invoker); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnaryServerParallel(b *testing.B) {
	ic := newMetrics(b).UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/greeter.v1.Greeter/SayHello"}
	handler := func(ctx context.Context, req any) (any, error) { return req, nil }
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := ic(ctx, 1, info, handler); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
