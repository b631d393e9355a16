package concurrency_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
)

// BenchmarkAcquireRelease is the uncontended path: take and give back one
// permit of a fixed global limit.
func BenchmarkAcquireRelease(b *testing.B) {
	l := newLimiter(b, concurrency.WithLimit(2097151))
	b.ReportAllocs()
	for b.Loop() {
		if p, ok := l.TryAcquire(unaryMethod, concurrency.DefaultCriticality); ok {
			p.Release()
		}
	}
}

// BenchmarkAcquireReleaseParallel is the same from every P at once.
func BenchmarkAcquireReleaseParallel(b *testing.B) {
	l := newLimiter(b, concurrency.WithLimit(2097151))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if p, ok := l.TryAcquire(unaryMethod, concurrency.DefaultCriticality); ok {
				p.Release()
			}
		}
	})
}

// BenchmarkAcquireReleaseMethodLimit adds a method limit: a map lookup and
// a second semaphore.
func BenchmarkAcquireReleaseMethodLimit(b *testing.B) {
	l := newLimiter(b, concurrency.WithLimit(2097151), concurrency.WithMethodLimit(unaryMethod, 2097151))
	b.ReportAllocs()
	for b.Loop() {
		if p, ok := l.TryAcquire(unaryMethod, concurrency.DefaultCriticality); ok {
			p.Release()
		}
	}
}

// BenchmarkAcquireReleaseAdaptive adds the adaptive limit: two clock reads
// and a sample per call.
func BenchmarkAcquireReleaseAdaptive(b *testing.B) {
	g, err := limit.NewGradient(limit.GradientConfig{Initial: 2097151, Max: 2097151})
	if err != nil {
		b.Fatal(err)
	}
	l := newLimiter(b, concurrency.WithAdaptive(g))
	b.ReportAllocs()
	for b.Loop() {
		if p, ok := l.TryAcquire(unaryMethod, concurrency.DefaultCriticality); ok {
			p.Release()
		}
	}
}

// BenchmarkAcquireReleaseAdaptiveParallel is the adaptive path from every P.
func BenchmarkAcquireReleaseAdaptiveParallel(b *testing.B) {
	g, err := limit.NewGradient(limit.GradientConfig{Initial: 2097151, Max: 2097151})
	if err != nil {
		b.Fatal(err)
	}
	l := newLimiter(b, concurrency.WithAdaptive(g))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if p, ok := l.TryAcquire(unaryMethod, concurrency.DefaultCriticality); ok {
				p.Release()
			}
		}
	})
}

// BenchmarkUnaryServerInterceptor is the whole server interceptor around a
// handler that does nothing.
func BenchmarkUnaryServerInterceptor(b *testing.B) {
	l := newLimiter(b, concurrency.WithLimit(2097151))
	icpt := l.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: unaryMethod}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = icpt(ctx, nil, info, handler)
	}
}

// BenchmarkUnaryClientInterceptor is the whole client interceptor around an
// invoker that does nothing.
func BenchmarkUnaryClientInterceptor(b *testing.B) {
	l := newLimiter(b, concurrency.WithLimit(2097151))
	icpt := l.UnaryClientInterceptor()
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = icpt(ctx, unaryMethod, nil, nil, nil, invoker)
	}
}
