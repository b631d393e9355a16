package interceptors_test

import (
	"context"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

func serviceConfig(maxAttempts int, timeout string) string {
	return `{"methodConfig": [{"name": [{"service": "bulwark.testing.v1.TestService"}],
		"timeout": "` + timeout + `",
		"retryPolicy": {"maxAttempts": ` + string(rune('0'+maxAttempts)) + `, "initialBackoff": "0.01s", "maxBackoff": "0.1s",
			"backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}`
}

// With WithServiceConfig, the client chain applies each call's method
// config through its own layers: the retryPolicy's attempts and the
// timeout, from the service config the resolver pushes; a new config
// applies from the next call, and an invalid one leaves the last valid one
// in force (gRPC keeps it).
func TestServiceConfigAppliesPerCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sleep := make(chan time.Duration, 1)
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			select {
			case d := <-sleep:
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return nil, status.FromContextError(ctx.Err()).Err()
				}
				return &testpb.UnaryResponse{}, nil
			default:
			}
			return nil, status.Error(codes.Unavailable, "down")
		}}
		lis := bufconn.Listen(1 << 16)
		srv := grpc.NewServer()
		testpb.RegisterTestServiceServer(srv, svc)
		served := make(chan struct{})
		go func() { defer close(served); _ = srv.Serve(lis) }()
		defer func() { srv.Stop(); <-served }()

		r := manual.NewBuilderWithScheme("sc")
		r.InitialState(resolver.State{Addresses: []resolver.Address{{Addr: "backend"}}})
		cc := clientChain(t, []interceptors.ClientOption{interceptors.WithRetry(), interceptors.WithServiceConfig()})
		conn, err := grpc.NewClient("sc:///backend", append(cc.DialOptions(),
			grpc.WithResolvers(r), grpc.WithDefaultServiceConfig(serviceConfig(2, "10s")),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))...)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// The method config is the channel's once its resolver has
		// answered: connect before the first call.
		conn.Connect()
		synctest.Wait()
		client := testpb.NewTestServiceClient(conn)
		attempts := func() int64 {
			before := svc.Calls("Unary")
			_, _ = client.Unary(t.Context(), &testpb.UnaryRequest{})
			return svc.Calls("Unary") - before
		}
		if n := attempts(); n != 2 {
			t.Fatalf("%d attempts under the default config's maxAttempts 2", n)
		}
		push := func(config string) {
			r.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: "backend"}}, ServiceConfig: r.CC().ParseServiceConfig(config)})
			synctest.Wait() // the channel applies the update on its own goroutine
		}
		push(serviceConfig(4, "10s"))
		if n := attempts(); n != 4 {
			t.Fatalf("%d attempts after the resolver pushed maxAttempts 4", n)
		}
		push(`{"methodConfig": [`)
		if n := attempts(); n != 4 {
			t.Fatalf("%d attempts after an invalid config; want the last valid one's 4", n)
		}
		// A pushed timeout of 50 ms caps a call whose handler takes 1 s.
		push(serviceConfig(2, "0.05s"))
		sleep <- time.Second
		start := time.Now()
		_, err = client.Unary(t.Context(), &testpb.UnaryRequest{})
		if status.Code(err) != codes.DeadlineExceeded || time.Since(start) != 50*time.Millisecond {
			t.Fatalf("call with the pushed 50 ms timeout: %v after %v; want DEADLINE_EXCEEDED after 50ms", err, time.Since(start))
		}
	})
}
