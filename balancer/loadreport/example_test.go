package loadreport_test

import (
	"context"
	"fmt"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/balancer/loadreport"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
)

// A server that reports its limiter's utilization per call and out of band.
func Example() {
	limiter, err := concurrency.New(concurrency.WithLimit(100))
	if err != nil {
		panic(err)
	}
	reporter, err := loadreport.New(limiter)
	if err != nil {
		panic(err)
	}
	srv := grpc.NewServer(append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(limiter.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(limiter.StreamServerInterceptor()),
	}, reporter.ServerOptions()...)...)
	if err := reporter.Register(srv); err != nil {
		panic(err)
	}
	defer srv.Stop()

	// While a call runs, it holds one of the limiter's 100 permits.
	info := &grpc.UnaryServerInfo{FullMethod: "/orders.v1.Orders/Get"}
	_, _ = limiter.UnaryServerInterceptor()(context.Background(), nil, info, func(context.Context, any) (any, error) {
		fmt.Println("utilization:", reporter.ServerMetrics().AppUtilization)
		return nil, nil
	})
	// Output:
	// utilization: 0.01
}
