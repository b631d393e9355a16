package deadline_test

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
)

func Example() {
	p, err := deadline.New(deadline.WithDefaultTimeout(2*time.Second, 0), deadline.WithShave(50*time.Millisecond, 0))
	if err != nil {
		panic(err)
	}
	// Install on a client and on a server:
	_ = []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(p.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(p.StreamClientInterceptor()),
	}
	_ = []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(p.UnaryServerInterceptor()),
		grpc.ChainStreamInterceptor(p.StreamServerInterceptor()),
	}

	// The client interceptor gives a call without a deadline the default.
	invoker := func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
		dl, ok := ctx.Deadline()
		fmt.Println("call has a deadline:", ok, "about 2s away:", time.Until(dl) > time.Second)
		return nil
	}
	_ = p.UnaryClientInterceptor()(context.Background(), "/s.S/M", nil, nil, nil, invoker)

	// The server interceptor refuses a request with too little time left.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err = p.UnaryServerInterceptor()(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/s.S/M"},
		func(context.Context, any) (any, error) { return "done", nil })
	ae, _ := errdetails.FromError(err)
	fmt.Println(status.Code(err), ae.Code)
	// Output:
	// call has a deadline: true about 2s away: true
	// DeadlineExceeded DEADLINE_TOO_SHORT
}
