package bench

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/failsafe-go/failsafe-go/failsafegrpc"
	"github.com/failsafe-go/failsafe-go/retrypolicy"
	grpcretry "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/retry"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

// The retry interceptors are configured alike where their features allow:
// 3 attempts in all, exponential backoff from 100 ms up to 1 s. Each runs
// in front of a fake invoker (no network), with the grpc.StaticMethod call
// option that generated clients always pass, so the figures are the
// interceptor's own cost. "bulwark" has its default retry budget,
// "bulwark-nobudget" none (like the others); "bare" is an interceptor that
// only calls the invoker: the floor. Compare with
// `benchstat -col /impl`.

const retryMethod = "/bulwark.testing.v1.TestService/Unary" // IDEMPOTENT in its descriptor

var errRetryUnavailable = status.Error(codes.Unavailable, "bench: unavailable")

func retryOKInvoker(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
	return nil
}

// retryFailOnceInvoker fails every other call, so that each call through a
// retry interceptor fails once and then succeeds.
func retryFailOnceInvoker() grpc.UnaryInvoker {
	n := 0
	return func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		n++
		if n%2 == 1 {
			return errRetryUnavailable
		}
		return nil
	}
}

func retryBare(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(ctx, method, req, reply, cc, opts...)
}

// retryInterceptors returns the interceptors to compare; noDelay makes
// every backoff zero, for the benchmarks that do retry.
func retryInterceptors(b *testing.B, noDelay bool) []struct {
	name string
	ic   grpc.UnaryClientInterceptor
} {
	initial, maxDelay := 100*time.Millisecond, time.Second
	if noDelay {
		initial, maxDelay = 0, 0
	}
	r, err := retry.New(retry.WithBackoff(initial, 2, maxDelay), retry.WithMethodPolicy(retryMethod, retry.WithSafeToRetry(true)), retry.WithBudget(math.Inf(1), 0, 0))
	if err != nil {
		b.Fatal(err)
	}
	rb, err := retry.New(retry.WithBackoff(initial, 2, maxDelay), retry.WithMethodPolicy(retryMethod, retry.WithSafeToRetry(true)))
	if err != nil {
		b.Fatal(err)
	}
	var mwBackoff grpcretry.BackoffFunc = grpcretry.BackoffExponential(initial)
	if noDelay {
		mwBackoff = grpcretry.BackoffLinear(0)
	}
	fsPolicy := func() retrypolicy.RetryPolicy[any] {
		builder := failsafegrpc.NewRetryPolicyBuilder[any]().WithMaxAttempts(3)
		if !noDelay {
			builder = builder.WithBackoff(initial, maxDelay)
		}
		return builder.Build()
	}
	fsExecutor := failsafe.With(fsPolicy())
	return []struct {
		name string
		ic   grpc.UnaryClientInterceptor
	}{
		{"impl=bulwark", rb.UnaryClientInterceptor()},
		{"impl=bulwark-nobudget", r.UnaryClientInterceptor()},
		{"impl=grpcmiddleware", grpcretry.UnaryClientInterceptor(grpcretry.WithMax(3), grpcretry.WithBackoff(mwBackoff))},
		{"impl=failsafe-run", func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return fsExecutor.Run(func() error { return invoker(ctx, method, req, reply, cc, opts...) })
		}},
		{"impl=failsafe-interceptor", failsafegrpc.NewUnaryClientInterceptor(fsPolicy())},
		{"impl=bare", retryBare},
	}
}

// BenchmarkRetryUnarySuccess is the path nearly every call takes: the
// first attempt succeeds.
func BenchmarkRetryUnarySuccess(b *testing.B) {
	for _, tc := range retryInterceptors(b, false) {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			opts := []grpc.CallOption{grpc.StaticMethod()}
			b.ReportAllocs()
			for b.Loop() {
				if err := tc.ic(ctx, retryMethod, nil, nil, nil, retryOKInvoker, opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRetryUnaryOneRetry is a call whose first attempt fails with
// UNAVAILABLE and whose second succeeds, with no backoff delay: the cost of
// deciding and making one retry.
func BenchmarkRetryUnaryOneRetry(b *testing.B) {
	for _, tc := range retryInterceptors(b, true) {
		// Every call here retries, which the window budget (20% of calls)
		// would refuse after its reserve.
		if tc.name == "impl=bare" || tc.name == "impl=bulwark" {
			continue
		}
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			opts := []grpc.CallOption{grpc.StaticMethod()}
			invoker := retryFailOnceInvoker()
			b.ReportAllocs()
			for b.Loop() {
				if err := tc.ic(ctx, retryMethod, nil, nil, nil, invoker, opts...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
