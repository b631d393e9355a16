package loadreport_test

import (
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

	permit, _ := limiter.TryAcquire("/orders.v1.Orders/Get", concurrency.DefaultCriticality)
	defer permit.Release()
	fmt.Println("utilization:", reporter.ServerMetrics().AppUtilization)
	// Output:
	// utilization: 0.01
}
