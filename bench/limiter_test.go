package bench

import (
	"context"
	"testing"

	"github.com/failsafe-go/failsafe-go/bulkhead"
	"golang.org/x/sync/semaphore"
	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
)

// The limiters hold a limit far above the benchmarks' concurrency, so every
// acquisition succeeds: this is the healthy path, one permit taken and given
// back per operation. Bulwark's Limiter is the fixed-limit bulkhead of
// interceptors/concurrency (the same code its interceptors run), with one
// global limit and no method limits.

const benchLimit = 1 << 20

const benchMethod = "/bench.v1.Bench/Call"

func bulwarkLimiter(b *testing.B) *concurrency.Limiter {
	l, err := concurrency.New(concurrency.WithLimit(benchLimit))
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// Try: take a permit if one is free, never wait. Bulwark's Limiter is
// measured through its server interceptor around a handler that returns at
// once, the only way a user takes its permits.

func BenchmarkLimiterTryAcquire(b *testing.B) {
	b.Run("impl=bulwark", func(b *testing.B) {
		call, ctx := bulwarkCall(bulwarkLimiter(b)), context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_ = call(ctx)
		}
	})
	b.Run("impl=xsync", func(b *testing.B) {
		s := semaphore.NewWeighted(benchLimit)
		b.ReportAllocs()
		for b.Loop() {
			if s.TryAcquire(1) {
				s.Release(1)
			}
		}
	})
	b.Run("impl=failsafe", func(b *testing.B) {
		bh := bulkhead.New[any](benchLimit)
		b.ReportAllocs()
		for b.Loop() {
			if bh.TryAcquirePermit() {
				bh.ReleasePermit()
			}
		}
	})
}

func BenchmarkLimiterTryAcquireParallel(b *testing.B) {
	b.Run("impl=bulwark", func(b *testing.B) {
		call := bulwarkCall(bulwarkLimiter(b))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = call(context.Background())
			}
		})
	})
	b.Run("impl=xsync", func(b *testing.B) {
		s := semaphore.NewWeighted(benchLimit)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if s.TryAcquire(1) {
					s.Release(1)
				}
			}
		})
	})
	b.Run("impl=failsafe", func(b *testing.B) {
		bh := bulkhead.New[any](benchLimit)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if bh.TryAcquirePermit() {
					bh.ReleasePermit()
				}
			}
		})
	})
}

// Acquire: take a permit, waiting for one if needed (it never is here),
// with a context.

func BenchmarkLimiterAcquire(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=bulwark", func(b *testing.B) {
		call := bulwarkCall(bulwarkLimiter(b))
		b.ReportAllocs()
		for b.Loop() {
			_ = call(ctx)
		}
	})
	b.Run("impl=xsync", func(b *testing.B) {
		s := semaphore.NewWeighted(benchLimit)
		b.ReportAllocs()
		for b.Loop() {
			if s.Acquire(ctx, 1) == nil {
				s.Release(1)
			}
		}
	})
	b.Run("impl=failsafe", func(b *testing.B) {
		bh := bulkhead.New[any](benchLimit)
		b.ReportAllocs()
		for b.Loop() {
			if bh.AcquirePermit(ctx) == nil {
				bh.ReleasePermit()
			}
		}
	})
}

func BenchmarkLimiterAcquireParallel(b *testing.B) {
	ctx := context.Background()
	b.Run("impl=bulwark", func(b *testing.B) {
		call := bulwarkCall(bulwarkLimiter(b))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = call(ctx)
			}
		})
	})
	b.Run("impl=xsync", func(b *testing.B) {
		s := semaphore.NewWeighted(benchLimit)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if s.Acquire(ctx, 1) == nil {
					s.Release(1)
				}
			}
		})
	})
	b.Run("impl=failsafe", func(b *testing.B) {
		bh := bulkhead.New[any](benchLimit)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if bh.AcquirePermit(ctx) == nil {
					bh.ReleasePermit()
				}
			}
		})
	})
}

// bulwarkCall returns a call through l's server interceptor around a
// handler that returns at once: the way a user takes and gives back one of
// its permits.
func bulwarkCall(l *concurrency.Limiter) func(ctx context.Context) error {
	intercept := l.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: benchMethod}
	handler := func(context.Context, any) (any, error) { return nil, nil }
	return func(ctx context.Context) error {
		_, err := intercept(ctx, nil, info, handler)
		return err
	}
}
