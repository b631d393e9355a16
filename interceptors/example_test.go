package interceptors_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
)

func Example() {
	// One Metrics for both sides here; a real program registers its own on
	// its own registry.
	m, err := metrics.New()
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))

	serverChain, err := interceptors.NewServerChain(
		interceptors.WithLogger(logger),
		interceptors.WithMetrics(m),
		interceptors.WithDeadline(),
		interceptors.WithConcurrency(concurrency.WithLimit(100)),
	)
	if err != nil {
		panic(err)
	}
	clientChain, err := interceptors.NewClientChain(
		interceptors.WithLogger(logger),
		interceptors.WithMetrics(m),
		interceptors.WithDeadline(),
		interceptors.WithRetry(),
		interceptors.WithCircuitBreaker(),
	)
	if err != nil {
		panic(err)
	}
	defer clientChain.Close()

	// A server with the health service, over an in-memory listener.
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(serverChain.ServerOptions()...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	conn, err := grpc.NewClient("passthrough:///example", append(clientChain.DialOptions(),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	client := healthpb.NewHealthClient(conn)
	resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)
	_, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "nope"})
	fmt.Println(status.Code(err))

	n, _ := testutil.GatherAndCount(reg, "grpc_client_handled_total", "grpc_server_handled_total")
	fmt.Println(n, "series")
	// Output:
	// SERVING <nil>
	// NotFound
	// 4 series
}
