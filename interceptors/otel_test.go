package interceptors_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/opentelemetry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// TestChainOpenTelemetry: WithOpenTelemetry puts the stats handlers and
// interceptors in both chains and the retry observer in the retrier, so a
// call retried once is recorded on both sides, as one A96 retry, and as a
// bulwark.retry event on the caller's span.
func TestChainOpenTelemetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		tel, err := opentelemetry.New(opentelemetry.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
		if err != nil {
			t.Fatal(err)
		}
		client, err := interceptors.NewClientChain(interceptors.WithOpenTelemetry(tel), interceptors.WithRetry())
		if err != nil {
			t.Fatal(err)
		}
		server, err := interceptors.NewServerChain(interceptors.WithOpenTelemetry(tel))
		if err != nil {
			t.Fatal(err)
		}
		var n atomic.Int32
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			if n.Add(1) == 1 {
				return nil, status.Error(codes.Unavailable, "down")
			}
			return &testpb.UnaryResponse{}, nil
		}}
		env := grpctest.Start(t, svc, grpctest.Options{Server: append(server.ServerOptions(), grpc.WaitForHandlers(true)), Dial: client.DialOptions()})
		spans := tracetest.NewSpanRecorder()
		ctx, span := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)).Tracer("test").Start(context.Background(), "call")
		if _, err := env.Client.Unary(ctx, &testpb.UnaryRequest{}); err != nil {
			t.Fatal(err)
		}
		span.End()
		env.Server.Stop()

		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		counts := map[string]uint64{}
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				switch d := m.Data.(type) {
				case metricdata.Histogram[float64]:
					for _, dp := range d.DataPoints {
						counts[m.Name] += dp.Count
					}
				case metricdata.Histogram[int64]:
					for _, dp := range d.DataPoints {
						counts[m.Name] += dp.Count
					}
				case metricdata.Sum[int64]:
					for _, dp := range d.DataPoints {
						counts[m.Name] += uint64(dp.Value)
					}
				case metricdata.Gauge[float64]:
					counts[m.Name] += uint64(len(d.DataPoints))
				}
			}
		}
		for name, want := range map[string]uint64{
			"bulwark.retry.budget.level":  1, // one target
			"grpc.client.call.duration":   1,
			"grpc.client.attempt.started": 2,
			"grpc.client.call.retries":    1,
			"grpc.server.call.started":    2,
			"grpc.server.call.duration":   2,
		} {
			if counts[name] != want {
				t.Errorf("%s: %d, want %d", name, counts[name], want)
			}
		}
		var events []string
		for _, e := range spans.Ended()[0].Events() {
			events = append(events, e.Name)
		}
		if len(events) != 2 || events[0] != "bulwark.retry" || events[1] != "bulwark.retry.stop" {
			t.Errorf("span events %v, want [bulwark.retry bulwark.retry.stop]", events)
		}
	})
}

// TestServerChainOpenTelemetryRejection: a request the server's limiter
// refuses reaches Telemetry's server interceptor as the status the error
// boundary made of it, and still becomes a bulwark.limiter.rejected event
// on the server's span, and a bulwark.limiter.rejections count.
func TestServerChainOpenTelemetryRejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		tel, err := opentelemetry.New(opentelemetry.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
		if err != nil {
			t.Fatal(err)
		}
		server, err := interceptors.NewServerChain(interceptors.WithOpenTelemetry(tel), interceptors.WithConcurrency(concurrency.WithLimit(1)))
		if err != nil {
			t.Fatal(err)
		}
		spans := tracetest.NewSpanRecorder()
		tracer := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)).Tracer("server")
		// What a tracing stats handler does: a span around the whole call.
		withSpan := grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			ctx, span := tracer.Start(ctx, info.FullMethod)
			defer span.End()
			return h(ctx, req)
		})
		release := make(chan struct{})
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			<-release
			return &testpb.UnaryResponse{}, nil
		}}
		env := grpctest.Start(t, svc, grpctest.Options{Server: append([]grpc.ServerOption{withSpan, grpc.WaitForHandlers(true)}, server.ServerOptions()...)})
		done := make(chan error)
		go func() {
			_, err := env.Client.Unary(context.Background(), &testpb.UnaryRequest{})
			done <- err
		}()
		synctest.Wait()
		_, err = env.Client.Unary(context.Background(), &testpb.UnaryRequest{})
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("second call: %v, want the server's UNAVAILABLE rejection", err)
		}
		env.Server.Stop()

		var names []string
		for _, s := range spans.Ended() {
			for _, e := range s.Events() {
				names = append(names, e.Name)
			}
		}
		if len(names) != 1 || names[0] != "bulwark.limiter.rejected" {
			t.Errorf("server span events %v, want [bulwark.limiter.rejected]", names)
		}
		var rm metricdata.ResourceMetrics
		if err := reader.Collect(context.Background(), &rm); err != nil {
			t.Fatal(err)
		}
		var rejections int64
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				if d, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "bulwark.limiter.rejections" {
					for _, dp := range d.DataPoints {
						rejections += dp.Value
					}
				}
			}
		}
		if rejections != 1 {
			t.Errorf("bulwark.limiter.rejections = %d, want 1", rejections)
		}
	})
}

// TestChainOpenTelemetryDefaultDeadline: a call without a deadline that the
// client chain gives its default timeout gets a bulwark.deadline.default
// event with the timeout, once, on the caller's span.
func TestChainOpenTelemetryDefaultDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tel, err := opentelemetry.New(opentelemetry.WithMeterProvider(sdkmetric.NewMeterProvider()))
		if err != nil {
			t.Fatal(err)
		}
		client, err := interceptors.NewClientChain(interceptors.WithOpenTelemetry(tel), interceptors.WithDeadline(), interceptors.WithRetry())
		if err != nil {
			t.Fatal(err)
		}
		env := grpctest.Start(t, &grpctest.Service{}, grpctest.Options{Dial: client.DialOptions()})
		spans := tracetest.NewSpanRecorder()
		ctx, span := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)).Tracer("test").Start(context.Background(), "call")
		if _, err := env.Client.Unary(ctx, &testpb.UnaryRequest{}); err != nil {
			t.Fatal(err)
		}
		span.End()
		events := spans.Ended()[0].Events()
		if len(events) != 1 || events[0].Name != "bulwark.deadline.default" {
			t.Fatalf("span events %v, want one bulwark.deadline.default", events)
		}
		if a := events[0].Attributes; len(a) != 1 || a[0].Key != "bulwark.timeout" || a[0].Value.AsFloat64() != 10 {
			t.Errorf("attributes %v, want bulwark.timeout=10 (the default 10 s, no time passed)", a)
		}
	})
}
