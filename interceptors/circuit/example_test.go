package circuit_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
)

func Example() {
	c, err := circuit.New(
		circuit.WithPerMethod(true),
		circuit.WithBreakerOptions(
			breaker.WithConsecutiveFailures(2),
			breaker.WithOpenDuration(30*time.Second, time.Minute),
		),
	)
	if err != nil {
		panic(err)
	}
	defer c.Close()

	// A client registers the interceptors on its connection.
	cc, err := grpc.NewClient("dns:///orders.example:443",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(c.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(c.StreamClientInterceptor()),
	)
	if err != nil {
		panic(err)
	}
	defer cc.Close()

	// Here the transport is a stand-in that always fails, called through
	// the interceptor directly.
	down := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		fmt.Println("sent to the server")
		return status.Error(14, "connection refused") // UNAVAILABLE
	}
	intercept := c.UnaryClientInterceptor()
	for range 3 {
		err = intercept(context.Background(), "/orders.v1.Orders/Get", nil, nil, cc, down)
	}
	ae, _ := errdetails.FromError(err)
	fmt.Println(status.Code(err), ae.Code, errors.Is(err, breaker.ErrOpen), errors.Is(err, outcome.ErrLocalReject))
	// Output:
	// sent to the server
	// sent to the server
	// Unavailable CIRCUIT_OPEN true true
}
