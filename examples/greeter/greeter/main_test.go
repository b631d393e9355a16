package greeter_test

import (
	"context"
	"log/slog"
	"net"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
	"github.com/bulwarkrpc/bulwark/examples/greeter/internal/logbuf"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// env is a greeter server over bufconn and a client that decodes errors
// with the boundary's client interceptors.
type env struct {
	svc    *greeter.Service
	srv    *greeter.Server
	client greeterv1.GreeterClient
	logs   *logbuf.Buffer
}

// start serves a greeter with cfg over bufconn. Everything is closed by
// t.Cleanup, so it works inside a synctest bubble.
func start(t *testing.T, cfg greeter.Config, opts ...greeter.Option) *env {
	t.Helper()
	return startServer(t, cfg, nil, opts...)
}

// startServer is start with options for NewServer.
func startServer(t *testing.T, cfg greeter.Config, serverOpts []greeter.ServerOption, opts ...greeter.Option) *env {
	t.Helper()
	svc, err := greeter.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logbuf.Buffer{}
	srv, err := greeter.NewServer(svc, slog.New(slog.NewJSONHandler(logs, nil)), serverOpts...)
	if err != nil {
		t.Fatal(err)
	}
	lis := bufconn.Listen(1 << 20)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.GRPC.Serve(lis)
	}()
	decoder, err := boundary.New()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(decoder.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(decoder.StreamClientInterceptor()),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.GRPC.Stop()
		<-done
		_ = lis.Close()
		if srv.Chain != nil {
			srv.Chain.Close()
		}
	})
	return &env{svc: svc, srv: srv, client: greeterv1.NewGreeterClient(conn), logs: logs}
}
