package opentelemetry_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcotel "google.golang.org/grpc/stats/opentelemetry"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/opentelemetry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

var a66 = []string{
	"grpc.client.attempt.started",
	"grpc.client.attempt.duration",
	"grpc.client.attempt.sent_total_compressed_message_size",
	"grpc.client.attempt.rcvd_total_compressed_message_size",
	"grpc.client.call.duration",
	"grpc.server.call.started",
	"grpc.server.call.sent_total_compressed_message_size",
	"grpc.server.call.rcvd_total_compressed_message_size",
	"grpc.server.call.duration",
}

// failing answers a unary call whose text names a code with that code.
func failing(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
	switch req.GetText() {
	case "not found":
		return nil, status.Error(codes.NotFound, "no such thing")
	case "internal":
		return nil, status.Error(codes.Internal, "broken")
	case "unavailable":
		return nil, status.Error(codes.Unavailable, "busy")
	}
	return &testpb.UnaryResponse{Text: req.GetText()}, nil
}

// TestSameAsGRPC runs the same calls through grpc-go's stats/opentelemetry
// and through Bulwark's Telemetry, each with its own reader, and compares
// the gRFC A66 instruments: names, units, attribute keys, bucket
// boundaries, and the counts and byte sums of every attribute set.
func TestSameAsGRPC(t *testing.T) {
	theirs, ours := sdkmetric.NewManualReader(), sdkmetric.NewManualReader()
	theirsMP := sdkmetric.NewMeterProvider(sdkmetric.WithReader(theirs))
	oursMP := sdkmetric.NewMeterProvider(sdkmetric.WithReader(ours))
	defer func() { _ = theirsMP.Shutdown(context.Background()); _ = oursMP.Shutdown(context.Background()) }()
	tel, err := opentelemetry.New(opentelemetry.WithMeterProvider(oursMP))
	if err != nil {
		t.Fatal(err)
	}
	grpcOpts := grpcotel.Options{MetricsOptions: grpcotel.MetricsOptions{MeterProvider: theirsMP}}

	svc := &grpctest.Service{UnaryFunc: failing}
	env := grpctest.Start(t, svc, grpctest.Options{
		Server: append([]grpc.ServerOption{grpcotel.ServerOption(grpcOpts), grpc.WaitForHandlers(true)}, tel.ServerOptions()...),
		Dial:   append([]grpc.DialOption{grpcotel.DialOption(grpcOpts)}, tel.DialOptions()...),
	})
	ctx := context.Background()
	for _, text := range []string{"a", "bb", "ccc", "not found", "internal", "unavailable", "not found"} {
		_, _ = env.Client.Unary(ctx, &testpb.UnaryRequest{Text: text})
	}
	err = env.Conn.Invoke(ctx, "/bulwark.testing.v1.TestService/NoSuchMethod", &testpb.UnaryRequest{}, &testpb.UnaryResponse{})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v, want UNIMPLEMENTED", err)
	}
	stream, err := env.Client.ServerStream(ctx, &testpb.ServerStreamRequest{Text: "s", Count: 3})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := stream.Recv(); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}
	env.Server.Stop() // waits for the handlers, and so for the server's last events

	got, want := collect(t, ours), collect(t, theirs)
	for _, name := range a66 {
		w, ok := want[name]
		if !ok {
			t.Fatalf("grpc-go did not record %s", name)
		}
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: not recorded", name)
			continue
		}
		if g.unit != w.unit {
			t.Errorf("%s: unit %q, grpc-go %q", name, g.unit, w.unit)
		}
		if gk, wk := g.keySets(), w.keySets(); !slices.Equal(gk, wk) {
			t.Errorf("%s: attribute keys %v, grpc-go %v", name, gk, wk)
		}
		for attrs, wp := range w.points {
			gp, ok := g.points[attrs]
			if !ok {
				t.Errorf("%s{%s}: missing (have %v)", name, attrs, g.points)
				continue
			}
			if gp.count != wp.count {
				t.Errorf("%s{%s}: count %d, grpc-go %d", name, attrs, gp.count, wp.count)
			}
			if !slices.Equal(gp.bounds, wp.bounds) {
				t.Errorf("%s{%s}: bounds %v, grpc-go %v", name, attrs, gp.bounds, wp.bounds)
			}
			if !isDuration(name) && gp.sum != wp.sum {
				t.Errorf("%s{%s}: sum %v, grpc-go %v", name, attrs, gp.sum, wp.sum)
			}
		}
		if len(g.points) != len(w.points) {
			t.Errorf("%s: %d attribute sets, grpc-go %d", name, len(g.points), len(w.points))
		}
	}
	// The calls the test made, as both count them.
	started := got["grpc.server.call.started"].points
	for attrs, n := range map[string]int64{
		"grpc.method=bulwark.testing.v1.TestService/Unary": 7,
		"grpc.method=other": 1,
		"grpc.method=bulwark.testing.v1.TestService/ServerStream": 1,
	} {
		if started[attrs].count != n {
			t.Errorf("grpc.server.call.started{%s} = %d, want %d", attrs, started[attrs].count, n)
		}
	}
	calls := got["grpc.client.call.duration"].points
	for attrs, n := range map[string]int64{
		"grpc.method=bulwark.testing.v1.TestService/Unary,grpc.status=NOT_FOUND,grpc.target=passthrough:///bufnet":   2,
		"grpc.method=bulwark.testing.v1.TestService/Unary,grpc.status=OK,grpc.target=passthrough:///bufnet":          3,
		"grpc.method=other,grpc.status=UNIMPLEMENTED,grpc.target=passthrough:///bufnet":                              1,
		"grpc.method=bulwark.testing.v1.TestService/Unary,grpc.status=UNAVAILABLE,grpc.target=passthrough:///bufnet": 1,
	} {
		if calls[attrs].count != n {
			t.Errorf("grpc.client.call.duration{%s} count = %d, want %d", attrs, calls[attrs].count, n)
		}
	}
}

func isDuration(name string) bool { return name[len(name)-len("duration"):] == "duration" }
