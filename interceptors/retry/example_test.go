package retry_test

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

// printer is an Observer that prints what the Retrier does.
var printer = retry.Observer{
	OnRetry: func(_ context.Context, e retry.RetryEvent) {
		fmt.Printf("attempt %d after %v (%v), because: %v\n", e.Attempt, e.Delay, e.Reason, status.Code(e.Err))
	},
	OnFinish: func(_ context.Context, e retry.FinishEvent) {
		fmt.Printf("done after %d attempts: %v\n", e.Attempts, e.Reason)
	},
}

// flakyInvoker stands for the rest of the chain and the server: it fails
// the first two attempts with UNAVAILABLE.
func flakyInvoker() grpc.UnaryInvoker {
	attempts := 0
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, opts ...grpc.CallOption) error {
		attempts++
		if attempts <= 2 {
			return status.Error(codes.Unavailable, "try again")
		}
		return nil
	}
}

func Example() {
	r, err := retry.New(
		retry.WithMethodPolicy("/greeter.v1.Greeter/SayHello", retry.WithSafeToRetry(true)), // or idempotency_level in the .proto
		retry.WithBackoff(0, 1, 0), // no waiting in this example
		retry.WithObserver(printer),
	)
	if err != nil {
		panic(err)
	}
	// In a program: grpc.NewClient(target,
	//	grpc.WithChainUnaryInterceptor(r.UnaryClientInterceptor()),
	//	grpc.WithChainStreamInterceptor(r.StreamClientInterceptor()))
	intercept := r.UnaryClientInterceptor()
	err = intercept(context.Background(), "/greeter.v1.Greeter/SayHello", nil, nil, nil, flakyInvoker())
	fmt.Println("error:", err)
	// Output:
	// attempt 2 after 0s (backoff), because: Unavailable
	// attempt 3 after 0s (backoff), because: Unavailable
	// done after 3 attempts: succeeded
	// error: <nil>
}

// A retry call option passed to one call overrides the Retrier's default
// for that call only: here one attempt, so no retry.
func ExampleWithMaxAttempts() {
	r, err := retry.New(retry.WithMethodPolicy("/greeter.v1.Greeter/SayHello", retry.WithSafeToRetry(true)), retry.WithObserver(printer))
	if err != nil {
		panic(err)
	}
	intercept := r.UnaryClientInterceptor()
	// client.SayHello(ctx, req, retry.WithMaxAttempts(1)) does this:
	err = intercept(context.Background(), "/greeter.v1.Greeter/SayHello", nil, nil, nil, flakyInvoker(), retry.WithMaxAttempts(1))
	fmt.Println("code:", status.Code(err))
	// Output:
	// done after 1 attempts: max_attempts
	// code: Unavailable
}

// gRFC A6 caps a call at 5 attempts; WithAttemptsCap raises the cap for
// what the Retrier's own options ask, up to 10.
func ExampleWithAttemptsCap() {
	_, err := retry.New(retry.WithMaxAttempts(7))
	fmt.Println(err)

	r, err := retry.New(retry.WithAttemptsCap(7), retry.WithMaxAttempts(7), retry.WithBackoff(0, 1, 0),
		retry.WithMethodPolicy("/greeter.v1.Greeter/SayHello", retry.WithSafeToRetry(true)),
		retry.WithObserver(retry.Observer{OnFinish: printer.OnFinish}))
	if err != nil {
		panic(err)
	}
	down := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		return status.Error(codes.Unavailable, "down")
	}
	err = r.UnaryClientInterceptor()(context.Background(), "/greeter.v1.Greeter/SayHello", nil, nil, nil, down)
	fmt.Println("code:", status.Code(err))
	// Output:
	// retry: WithMaxAttempts(7): above the attempts cap of 5 (WithAttemptsCap raises it)
	// done after 7 attempts: max_attempts
	// code: Unavailable
}
