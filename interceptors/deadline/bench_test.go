package deadline_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
)

var nopInvoker grpc.UnaryInvoker = func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
	return nil
}

// BenchmarkClientWithCallerDeadline is a call whose caller set a deadline:
// the interceptor must not touch it.
func BenchmarkClientWithCallerDeadline(b *testing.B) {
	icpt := newPolicy(b).UnaryClientInterceptor()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		_ = icpt(ctx, "/s.S/M", nil, nil, nil, nopInvoker)
	}
}

// BenchmarkClientDefaultTimeout is a call without a deadline: one
// context.WithTimeout.
func BenchmarkClientDefaultTimeout(b *testing.B) {
	icpt := newPolicy(b).UnaryClientInterceptor()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = icpt(ctx, "/s.S/M", nil, nil, nil, nopInvoker)
	}
}

func benchServer(b *testing.B, ctx context.Context, opts ...deadline.Option) {
	icpt := newPolicy(b, opts...).UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/s.S/M"}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	b.ReportAllocs()
	for b.Loop() {
		_, _ = icpt(ctx, nil, info, handler)
	}
}

// BenchmarkServerNoDeadline is a request without a deadline: nothing to do.
func BenchmarkServerNoDeadline(b *testing.B) {
	benchServer(b, context.Background())
}

// BenchmarkServerWithDeadline checks a request's remaining time: one clock
// read.
func BenchmarkServerWithDeadline(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	benchServer(b, ctx)
}

// BenchmarkServerShave shaves the handler's deadline: one
// context.WithDeadline.
func BenchmarkServerShave(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	benchServer(b, ctx, deadline.WithShave(10*time.Millisecond, 0))
}
