package retry_test

import (
	"context"
	"math"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

func okInvoker(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
	return nil
}

// The benchmarks call the interceptor and the invoker through package
// variables, as gRPC calls them through func values: the compiler must not
// inline either into the benchmark loop.
var (
	benchInterceptor grpc.UnaryClientInterceptor
	benchInvoker     grpc.UnaryInvoker = okInvoker
	// benchOpts is what a generated client passes.
	benchOpts = []grpc.CallOption{grpc.StaticMethod()}
)

// reportCPU reports the CPU time per operation the process spent since
// start, in all its threads, as cpu-ns/op. Unlike ns/op it does not grow
// when the machine is busy with other work and the benchmark waits for a
// core, and it counts what contention costs every core: a cache line that
// every call writes makes each call dearer, however many cores share the
// work.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// BenchmarkBare is the floor: an interceptor that only calls the invoker.
func BenchmarkBare(b *testing.B) {
	benchInterceptor = func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	ctx := context.Background()
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if err := benchInterceptor(ctx, "/bulwark.testing.v1.TestService/Unary", nil, nil, nil, benchInvoker, benchOpts...); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkUnarySuccess is the fast path: the first attempt succeeds.
func BenchmarkUnarySuccess(b *testing.B) {
	cases := []struct {
		name string
		opts []retry.Option
	}{
		{"default", nil},
		{"token_bucket", []retry.Option{retry.WithTokenBucket(10, 0.1)}},
		{"no_budget", []retry.Option{retry.WithBudget(math.Inf(1), 0, 0)}},
		{"first_attempt_trailer", []retry.Option{retry.WithFirstAttemptTrailer(retry.TrailerAlways)}},
		{"per_attempt_timeout", []retry.Option{retry.WithPerAttemptTimeout(1e9)}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			r, err := retry.New(tc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			benchInterceptor = r.UnaryClientInterceptor()
			ctx := context.Background()
			b.ReportAllocs()
			start := cpuTime()
			for b.Loop() {
				if err := benchInterceptor(ctx, "/bulwark.testing.v1.TestService/Unary", nil, nil, nil, benchInvoker, benchOpts...); err != nil {
					b.Fatal(err)
				}
			}
			reportCPU(b, start)
		})
	}
}

// BenchmarkUnarySuccessParallel is the fast path from every core at once.
// With nothing written to a cache line shared by the cores, its cpu-ns/op
// stays that of BenchmarkUnarySuccess/default.
func BenchmarkUnarySuccessParallel(b *testing.B) {
	r, err := retry.New()
	if err != nil {
		b.Fatal(err)
	}
	benchInterceptor = r.UnaryClientInterceptor()
	ctx := context.Background()
	b.ReportAllocs()
	start := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := benchInterceptor(ctx, "/bulwark.testing.v1.TestService/Unary", nil, nil, nil, benchInvoker, benchOpts...); err != nil {
				b.Error(err)
			}
		}
	})
	reportCPU(b, start)
}

// BenchmarkUnarySuccessParallelNoBudget is BenchmarkUnarySuccessParallel
// without the budget's counter, to show what the striped counter costs
// when every core adds to it.
func BenchmarkUnarySuccessParallelNoBudget(b *testing.B) {
	r, err := retry.New(retry.WithBudget(math.Inf(1), 0, 0))
	if err != nil {
		b.Fatal(err)
	}
	benchInterceptor = r.UnaryClientInterceptor()
	ctx := context.Background()
	b.ReportAllocs()
	start := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := benchInterceptor(ctx, "/bulwark.testing.v1.TestService/Unary", nil, nil, nil, benchInvoker, benchOpts...); err != nil {
				b.Error(err)
			}
		}
	})
	reportCPU(b, start)
}
