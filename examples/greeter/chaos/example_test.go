package chaos_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

// A chaos scenario in miniature, in real time: 20 calls, one after the
// other, to a greeter that fails 30% of its attempts, with bare gRPC and
// through Bulwark's client chain (with short backoffs, to run fast). The
// service's failures are seeded, so the counts are the same on every run.
func Example() {
	for _, withBulwark := range []bool{false, true} {
		svc, err := greeter.New(greeter.Config{FailRate: 0.3, FailCode: "UNAVAILABLE"}, greeter.WithSeed(1))
		if err != nil {
			panic(err)
		}
		lis := bufconn.Listen(1 << 20)
		srv := grpc.NewServer()
		greeterv1.RegisterGreeterServer(srv, svc)
		serving := make(chan struct{})
		go func() {
			defer close(serving)
			_ = srv.Serve(lis)
		}()

		name := "bare"
		opts := []grpc.DialOption{
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
		}
		if withBulwark {
			name = "bulwark"
			chain, err := interceptors.NewClientChain(
				interceptors.WithDeadline(),
				interceptors.WithRetry(retry.WithBackoff(time.Millisecond, 2, 10*time.Millisecond)),
			)
			if err != nil {
				panic(err)
			}
			opts = append(opts, chain.DialOptions()...)
		}
		conn, err := grpc.NewClient("passthrough:///bufnet", opts...)
		if err != nil {
			panic(err)
		}
		client := greeterv1.NewGreeterClient(conn)
		ok := 0
		for range 20 {
			if _, err := client.SayHello(context.Background(), &greeterv1.HelloRequest{Name: "chaos"}); err == nil {
				ok++
			}
		}
		fmt.Printf("%s: %d of 20 calls succeeded; %d attempts reached the service\n", name, ok, svc.Stats().Requests)

		_ = conn.Close()
		srv.Stop()
		<-serving
		_ = lis.Close()
	}
	// Output:
	// bare: 17 of 20 calls succeeded; 20 attempts reached the service
	// bulwark: 20 of 20 calls succeeded; 25 attempts reached the service
}
