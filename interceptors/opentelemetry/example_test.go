package opentelemetry_test

import (
	"context"
	"fmt"
	"net"
	"sort"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/bulwarkrpc/bulwark/interceptors/opentelemetry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// A client and a server recorded with one Telemetry and an SDK
// MeterProvider; the reader then holds the gRFC A66 instruments.
func Example() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	tel, err := opentelemetry.New(opentelemetry.WithMeterProvider(mp))
	if err != nil {
		panic(err)
	}

	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(append(tel.ServerOptions(), grpc.WaitForHandlers(true))...)
	testpb.RegisterTestServiceServer(srv, &grpctest.Service{})
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///example",
		append(tel.DialOptions(),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))...)
	if err != nil {
		panic(err)
	}
	if _, err := testpb.NewTestServiceClient(conn).Unary(context.Background(), &testpb.UnaryRequest{Text: "hi"}); err != nil {
		panic(err)
	}
	_ = conn.Close()
	srv.Stop()

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	var names []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			names = append(names, m.Name+" "+m.Unit)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println(n)
	}
	// Output:
	// grpc.client.attempt.duration s
	// grpc.client.attempt.rcvd_total_compressed_message_size By
	// grpc.client.attempt.sent_total_compressed_message_size By
	// grpc.client.attempt.started {attempt}
	// grpc.client.call.duration s
	// grpc.client.call.retry_delay s
	// grpc.server.call.duration s
	// grpc.server.call.rcvd_total_compressed_message_size By
	// grpc.server.call.sent_total_compressed_message_size By
	// grpc.server.call.started {call}
}
