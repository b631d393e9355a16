package opentelemetry_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/opentelemetry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// TestApplicationErrors: the server counts the application errors its
// handlers return, the client those it receives, by code; a code the
// registry does not know is OTHER.
func TestApplicationErrors(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	tel, err := opentelemetry.New(opentelemetry.WithMeterProvider(mp))
	if err != nil {
		t.Fatal(err)
	}
	svc := &grpctest.Service{UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
		return nil, errdetails.New(req.GetText(), "it failed")
	}}
	env := grpctest.Start(t, svc, grpctest.Options{Server: append(tel.ServerOptions(), grpc.WaitForHandlers(true)), Dial: tel.DialOptions()})
	for _, code := range []string{errdetails.CodeDatabase, errdetails.CodeDatabase, "NOT_IN_THE_REGISTRY"} {
		_, _ = env.Client.Unary(context.Background(), &testpb.UnaryRequest{Text: code})
	}
	env.Server.Stop()

	got := collect(t, reader)
	const method = "grpc.method=bulwark.testing.v1.TestService/Unary"
	for name, want := range map[string]map[string]int64{
		"bulwark.server.application_errors": {
			"bulwark.app_code=DB_ERROR," + method + ",grpc.status=UNAVAILABLE": 2,
			"bulwark.app_code=OTHER," + method + ",grpc.status=UNKNOWN":        1,
		},
		"bulwark.client.application_errors": {
			"bulwark.app_code=DB_ERROR," + method + ",grpc.status=UNAVAILABLE,grpc.target=passthrough:///bufnet": 2,
			"bulwark.app_code=OTHER," + method + ",grpc.status=UNKNOWN,grpc.target=passthrough:///bufnet":        1,
		},
	} {
		points := got[name].points
		if len(points) != len(want) {
			t.Errorf("%s: %v, want %v", name, points, want)
		}
		for attrs, n := range want {
			if points[attrs].count != n {
				t.Errorf("%s{%s} = %d, want %d", name, attrs, points[attrs].count, n)
			}
		}
	}
}
