package retry_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

func okInvoker(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
	return nil
}

// BenchmarkUnarySuccess is the fast path: the first attempt succeeds.
func BenchmarkUnarySuccess(b *testing.B) {
	cases := []struct {
		name string
		opts []retry.Option
	}{
		{"default", nil},
		{"token_bucket", []retry.Option{retry.WithTokenBucket(10, 0.1)}},
		{"no_budget", []retry.Option{retry.WithoutBudget()}},
		{"first_attempt_trailer", []retry.Option{retry.WithFirstAttemptTrailer(retry.TrailerAlways)}},
		{"per_attempt_timeout", []retry.Option{retry.WithPerAttemptTimeout(1e9)}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			r, err := retry.New(tc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			intercept := r.UnaryClientInterceptor()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := intercept(ctx, "/bulwark.testing.v1.TestService/Unary", nil, nil, nil, okInvoker); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnarySuccessParallel is the fast path from every core at once.
func BenchmarkUnarySuccessParallel(b *testing.B) {
	r, err := retry.New()
	if err != nil {
		b.Fatal(err)
	}
	intercept := r.UnaryClientInterceptor()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := intercept(ctx, "/bulwark.testing.v1.TestService/Unary", nil, nil, nil, okInvoker); err != nil {
				b.Error(err)
			}
		}
	})
}
