// Package grpctest runs Bulwark's test service over bufconn, for the tests of
// every interceptor. It works inside a testing/synctest bubble: everything it
// starts is stopped by t.Cleanup, which runs before the bubble ends.
package grpctest

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// Options configures Start.
type Options struct {
	// Server holds the options for grpc.NewServer, such as interceptors.
	Server []grpc.ServerOption
	// Dial holds the options for grpc.NewClient, such as interceptors.
	Dial []grpc.DialOption
}

// Env is a running test server and a client connection to it.
type Env struct {
	// Conn is the client connection.
	Conn *grpc.ClientConn
	// Client is a TestService client on Conn.
	Client testpb.TestServiceClient
	// Server is the gRPC server.
	Server *grpc.Server
	// Listener is the bufconn listener the server serves on.
	Listener *bufconn.Listener
}

// Start serves svc over bufconn and connects a client to it. Both are closed
// by t.Cleanup.
func Start(t testing.TB, svc testpb.TestServiceServer, opts Options) *Env {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(opts.Server...)
	testpb.RegisterTestServiceServer(srv, svc)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	dial := append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}, opts.Dial...)
	conn, err := grpc.NewClient("passthrough:///bufnet", dial...)
	if err != nil {
		srv.Stop()
		t.Fatalf("grpctest: grpc.NewClient: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		<-done
		_ = lis.Close()
	})
	return &Env{Conn: conn, Client: testpb.NewTestServiceClient(conn), Server: srv, Listener: lis}
}
