package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
	"github.com/bulwarkrpc/bulwark/interceptors/requestid"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// TestOpenTelemetryBesideBulwark puts otelgrpc's stats handlers on the same
// client connection and server as Bulwark's full chains and checks that
// both report every call with its method and code: OpenTelemetry's spans
// and rpc.*.call.duration histograms, and Bulwark's Prometheus metrics. It
// also checks that the two do not get in each other's way: the trace
// context and Bulwark's request id both reach the server.
//
// Three calls: one succeeds; one fails with a VALIDATION_ERROR
// (INVALID_ARGUMENT, not retried); one fails with a DB_ERROR (UNAVAILABLE,
// retryable), which Bulwark's retry makes three attempts of. gRPC's stats
// handlers see each attempt as an RPC, so OpenTelemetry reports three
// UNAVAILABLE RPCs on each side, where Bulwark's client reports one call
// (grpc_client_handled_total) of three attempts (bulwark_client_attempts_total).
func TestOpenTelemetryBesideBulwark(t *testing.T) {
	// The metric and attribute names below are otelgrpc's default
	// (stable) semantic conventions; the variable would select others.
	t.Setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "")
	synctest.Test(t, func(t *testing.T) {
		spans := tracetest.NewSpanRecorder()
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		t.Cleanup(func() {
			if err := errors.Join(tp.Shutdown(context.Background()), mp.Shutdown(context.Background())); err != nil {
				t.Error(err)
			}
		})
		otelOpts := []otelgrpc.Option{
			otelgrpc.WithTracerProvider(tp), otelgrpc.WithMeterProvider(mp),
			otelgrpc.WithPropagators(propagation.TraceContext{}),
		}

		clientMetrics, serverMetrics := newMetrics(t), newMetrics(t)
		logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
		cc, err := interceptors.NewClientChain(interceptors.WithLogger(logger), interceptors.WithMetrics(clientMetrics),
			interceptors.WithDeadline(), interceptors.WithRetry(), interceptors.WithConcurrency(concurrency.WithLimit(100)), interceptors.WithCircuitBreaker())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cc.Close)
		sc, err := interceptors.NewServerChain(interceptors.WithLogger(logger), interceptors.WithMetrics(serverMetrics),
			interceptors.WithDeadline(), interceptors.WithConcurrency(concurrency.WithLimit(100)), interceptors.WithCircuitBreaker())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sc.Close)

		var serverIDs []string
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			id, _ := requestid.FromContext(ctx)
			serverIDs = append(serverIDs, id)
			switch req.GetText() {
			case "invalid":
				return nil, errdetails.Validation("text", "must not be invalid")
			case "db":
				return nil, errdetails.Database("", errors.New("connection refused"))
			}
			return &testpb.UnaryResponse{Text: req.GetText()}, nil
		}}
		env := grpctest.Start(t, svc, grpctest.Options{
			Server: append(sc.ServerOptions(), grpc.StatsHandler(otelgrpc.NewServerHandler(otelOpts...))),
			Dial:   append(cc.DialOptions(), grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelOpts...))),
		})

		for _, call := range []struct {
			text    string
			code    codes.Code
			appCode string
		}{
			{"ok", codes.OK, ""},
			{"invalid", codes.InvalidArgument, errdetails.CodeValidation},
			{"db", codes.Unavailable, errdetails.CodeDatabase},
		} {
			ctx := requestid.NewContext(t.Context(), "req-"+call.text)
			_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{Text: call.text})
			if got := status.Code(err); got != call.code {
				t.Fatalf("call %q: code %v, want %v (%v)", call.text, got, call.code, err)
			}
			if ae, ok := errdetails.FromError(err); call.appCode != "" && (!ok || ae.Code != call.appCode) {
				t.Fatalf("call %q: application error %v, %v; want code %s", call.text, ae, ok, call.appCode)
			}
		}

		if want := []string{"req-ok", "req-invalid", "req-db", "req-db", "req-db"}; !slices.Equal(serverIDs, want) {
			t.Errorf("request ids the server saw: %q, want %q", serverIDs, want)
		}

		// OpenTelemetry: spans. Every attempt has a client span and a server
		// span, child of the client span (the trace context went through).
		const rpcMethod = "bulwark.testing.v1.TestService/Unary"
		wantRPCs := []string{"OK", "INVALID_ARGUMENT", "UNAVAILABLE", "UNAVAILABLE", "UNAVAILABLE"}
		clientSpans := map[trace.SpanID]bool{}
		var clientCodes, serverCodes []string
		for _, s := range spans.Ended() {
			attrs := attribute.NewSet(s.Attributes()...)
			if s.Name() != rpcMethod || attrValue(attrs, "rpc.method") != rpcMethod {
				t.Errorf("span %q: rpc.method %q, want %q", s.Name(), attrValue(attrs, "rpc.method"), rpcMethod)
			}
			code := attrValue(attrs, "rpc.response.status_code")
			switch s.SpanKind() {
			case trace.SpanKindClient:
				clientCodes = append(clientCodes, code)
				clientSpans[s.SpanContext().SpanID()] = true
			case trace.SpanKindServer:
				serverCodes = append(serverCodes, code)
			}
		}
		if !slices.Equal(clientCodes, wantRPCs) || !slices.Equal(serverCodes, wantRPCs) {
			t.Errorf("span codes: client %q, server %q; want %q on each side", clientCodes, serverCodes, wantRPCs)
		}
		for _, s := range spans.Ended() {
			if s.SpanKind() == trace.SpanKindServer && !clientSpans[s.Parent().SpanID()] {
				t.Errorf("server span %v: parent %v is not a client span: the trace context was lost", s.SpanContext().SpanID(), s.Parent().SpanID())
			}
		}

		// OpenTelemetry: duration histograms, one observation per RPC, by
		// method and code.
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		wantCounts := map[string]uint64{rpcMethod + " OK": 1, rpcMethod + " INVALID_ARGUMENT": 1, rpcMethod + " UNAVAILABLE": 3}
		for _, name := range []string{"rpc.client.call.duration", "rpc.server.call.duration"} {
			if got := histogramCounts(rm, name); !maps.Equal(got, wantCounts) {
				t.Errorf("%s: %v, want %v", name, got, wantCounts)
			}
		}

		// Bulwark: the same calls in Prometheus, with the same codes; the
		// client counts one call of three attempts where OpenTelemetry saw
		// three RPCs.
		const labels = `grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"`
		compare(t, clientMetrics, `
# HELP grpc_client_handled_total Total number of RPCs completed by the client, regardless of success or failure.
# TYPE grpc_client_handled_total counter
grpc_client_handled_total{grpc_code="InvalidArgument",`+labels+`,grpc_type="unary"} 1
grpc_client_handled_total{grpc_code="OK",`+labels+`,grpc_type="unary"} 1
grpc_client_handled_total{grpc_code="Unavailable",`+labels+`,grpc_type="unary"} 1
# HELP bulwark_client_attempts_total Client attempts that reached the transport, retries and hedges included, by code. Divided by grpc_client_started_total it gives the load a client puts on its servers per call.
# TYPE bulwark_client_attempts_total counter
bulwark_client_attempts_total{grpc_code="InvalidArgument",`+labels+`,grpc_type="unary"} 1
bulwark_client_attempts_total{grpc_code="OK",`+labels+`,grpc_type="unary"} 1
bulwark_client_attempts_total{grpc_code="Unavailable",`+labels+`,grpc_type="unary"} 3
# HELP bulwark_client_application_errors_total Application errors received by the client, by application code (codes the registry does not know are counted as OTHER).
# TYPE bulwark_client_application_errors_total counter
bulwark_client_application_errors_total{app_code="DB_ERROR",grpc_code="Unavailable",`+labels+`} 1
bulwark_client_application_errors_total{app_code="VALIDATION_ERROR",grpc_code="InvalidArgument",`+labels+`} 1
`, "grpc_client_handled_total", "bulwark_client_attempts_total", "bulwark_client_application_errors_total")
		compare(t, serverMetrics, `
# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or failure.
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="InvalidArgument",`+labels+`,grpc_type="unary"} 1
grpc_server_handled_total{grpc_code="OK",`+labels+`,grpc_type="unary"} 1
grpc_server_handled_total{grpc_code="Unavailable",`+labels+`,grpc_type="unary"} 3
# HELP bulwark_server_application_errors_total Application errors returned by the server's handlers, by application code (codes the registry does not know are counted as OTHER).
# TYPE bulwark_server_application_errors_total counter
bulwark_server_application_errors_total{app_code="DB_ERROR",grpc_code="Unavailable",`+labels+`} 3
bulwark_server_application_errors_total{app_code="VALIDATION_ERROR",grpc_code="InvalidArgument",`+labels+`} 1
`, "grpc_server_handled_total", "bulwark_server_application_errors_total")
	})
}

func newMetrics(t *testing.T) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// compare checks the named families of m, registered on a registry of
// their own, against the exposition text want.
func compare(t *testing.T, m *metrics.Metrics, want string, names ...string) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
}

func attrValue(s attribute.Set, key attribute.Key) string {
	v, _ := s.Value(key)
	return v.Emit()
}

// histogramCounts returns the number of observations of the histogram
// named name, by "rpc.method rpc.response.status_code".
func histogramCounts(rm metricdata.ResourceMetrics, name string) map[string]uint64 {
	out := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			h, ok := m.Data.(metricdata.Histogram[float64])
			if !ok {
				out[fmt.Sprintf("not a float64 histogram: %T", m.Data)]++
				continue
			}
			for _, dp := range h.DataPoints {
				out[attrValue(dp.Attributes, "rpc.method")+" "+attrValue(dp.Attributes, "rpc.response.status_code")] += dp.Count
			}
		}
	}
	return out
}
