package concurrency_test

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
)

func Example() {
	// A server that runs at most one call at a time and refuses the rest.
	l, err := concurrency.New(concurrency.WithLimit(1))
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(l.UnaryServerInterceptor()))
	defer srv.Stop()

	// What the interceptor does, shown by calling it directly: the first
	// call's handler makes a second call while it holds the only permit.
	icpt := l.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: "/greeter.v1.Greeter/SayHello"}
	var handler grpc.UnaryHandler
	depth := 0
	handler = func(ctx context.Context, req any) (any, error) {
		if depth++; depth == 1 {
			_, err := icpt(ctx, req, info, handler)
			var ae *errdetails.ApplicationError
			errors.As(err, &ae) // what the error boundary sends
			fmt.Println("second call:", status.Code(err), ae.Code, "unprocessed:", ae.Unprocessed, "retry after:", ae.RetryAfter,
				"rejection:", ae.Details["rejection"])
			fmt.Println("in flight:", l.Stats().InFlight)
		}
		return "hello", nil
	}
	resp, err := icpt(context.Background(), nil, info, handler)
	fmt.Println("first call:", resp, err)
	fmt.Println("in flight:", l.Stats().InFlight)
	// Output:
	// second call: Unavailable SERVER_OVERLOADED unprocessed: true retry after: 100ms rejection: limit
	// in flight: 1
	// first call: hello <nil>
	// in flight: 0
}

func ExampleNewCriticalityContext() {
	ctx := concurrency.NewCriticalityContext(context.Background(), concurrency.Sheddable)
	fmt.Println(concurrency.CriticalityFromContext(ctx))
	fmt.Println(concurrency.CriticalityFromContext(context.Background()))
	// Output:
	// sheddable
	// default
}
