package opentelemetry_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	rpcdetails "google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/bulwarkrpc/bulwark/interceptors/opentelemetry"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// retryEnv is a client with Bulwark's retrier between Telemetry's call and
// attempt interceptors, as the client chain places them, recording to a
// ManualReader and, for span events, to a SpanRecorder.
type retryEnv struct {
	*grpctest.Env
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tracer *sdktrace.TracerProvider
}

func startRetry(t *testing.T, svc *grpctest.Service, telOpts []opentelemetry.Option, opts ...retry.Option) *retryEnv {
	reader := sdkmetric.NewManualReader()
	tel, err := opentelemetry.New(append(telOpts, opentelemetry.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := retry.New(append([]retry.Option{retry.WithObserver(tel.Observers().Retry)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	spans := tracetest.NewSpanRecorder()
	env := grpctest.Start(t, svc, grpctest.Options{Dial: []grpc.DialOption{
		grpc.WithDisableRetry(),
		grpc.WithStatsHandler(clientStats(tel)),
		grpc.WithChainUnaryInterceptor(tel.UnaryClientInterceptor(), r.UnaryClientInterceptor(), unaryAttempt(tel)),
	}})
	return &retryEnv{Env: env, reader: reader, spans: spans, tracer: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))}
}

// TestHedgedCallMetrics makes a call of three attempts: the first hangs,
// the hedging delay sends a hedge, which fails UNAVAILABLE, so the third is
// sent at once and succeeds. gRFC A96: one retry, one hedge, no transparent
// retry, and no delay (an attempt was always on the transport).
func TestHedgedCallMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			switch n.Add(1) {
			case 1:
				<-ctx.Done()
				return nil, ctx.Err()
			case 2:
				return nil, status.Error(codes.Unavailable, "busy")
			}
			return &testpb.UnaryResponse{Text: "third"}, nil
		}}
		env := startRetry(t, svc, nil, retry.WithHedging(10*time.Millisecond, 3))
		resp, err := env.Client.Unary(context.Background(), &testpb.UnaryRequest{Text: "x"})
		if err != nil || resp.GetText() != "third" {
			t.Fatalf("Unary = %v, %v; want the third attempt's answer", resp, err)
		}
		got := collect(t, env.reader)
		for name, want := range map[string]point{
			"grpc.client.call.retries":     {count: 1, sum: 1},
			"grpc.client.call.hedges":      {count: 1, sum: 1},
			"grpc.client.call.retry_delay": {count: 1, sum: 0},
			"grpc.client.attempt.started":  {count: 3, sum: 3},
		} {
			p := got[name].only(t, name)
			if p.count != want.count || p.sum != want.sum {
				t.Errorf("%s: count %d sum %v, want count %d sum %v", name, p.count, p.sum, want.count, want.sum)
			}
		}
		if _, ok := got["grpc.client.call.transparent_retries"]; ok {
			t.Errorf("grpc.client.call.transparent_retries recorded without a transparent retry: %v", got["grpc.client.call.transparent_retries"])
		}
		if p := got["grpc.client.call.retries"].only(t, "retries"); p.keys != "grpc.method,grpc.target" {
			t.Errorf("grpc.client.call.retries attributes %s, want grpc.method,grpc.target", p.keys)
		}
	})
}

// TestRetryAfterRetryInfo retries once after UNAVAILABLE with a RetryInfo
// of 200ms: one retry, a delay of 200ms without an attempt, and the
// bulwark.retry and bulwark.retry.stop events on the caller's span, unless
// WithSpanEvents(false).
func TestRetryAfterRetryInfo(t *testing.T) {
	for _, events := range []bool{true, false} {
		t.Run(fmt.Sprintf("events=%v", events), func(t *testing.T) { testRetryAfterRetryInfo(t, events) })
	}
}

func testRetryAfterRetryInfo(t *testing.T, spanEvents bool) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			if n.Add(1) == 1 {
				st, _ := status.New(codes.Unavailable, "busy").WithDetails(&rpcdetails.RetryInfo{RetryDelay: durationpb.New(200 * time.Millisecond)})
				return nil, st.Err()
			}
			return &testpb.UnaryResponse{Text: "ok"}, nil
		}}
		env := startRetry(t, svc, []opentelemetry.Option{opentelemetry.WithSpanEvents(spanEvents)})
		ctx, span := env.tracer.Tracer("test").Start(context.Background(), "call")
		if _, err := env.Client.Unary(ctx, &testpb.UnaryRequest{Text: "x"}); err != nil {
			t.Fatal(err)
		}
		span.End()

		got := collect(t, env.reader)
		if p := got["grpc.client.call.retries"].only(t, "retries"); p.count != 1 || p.sum != 1 {
			t.Errorf("grpc.client.call.retries: count %d sum %v, want one call with 1", p.count, p.sum)
		}
		if _, ok := got["grpc.client.call.hedges"]; ok {
			t.Errorf("grpc.client.call.hedges recorded for a call without hedges")
		}
		if p := got["grpc.client.call.retry_delay"].only(t, "retry_delay"); p.sum < 0.2 || p.sum > 0.25 {
			t.Errorf("grpc.client.call.retry_delay = %vs, want the 0.2s RetryInfo delay", p.sum)
		}

		events := eventsOf(t, env.spans)
		want := []string{
			"bulwark.retry bulwark.attempt=2 bulwark.delay=0.2 bulwark.reason=retry_info grpc.status=UNAVAILABLE",
			"bulwark.retry.stop bulwark.attempts=2 bulwark.reason=succeeded grpc.status=OK",
		}
		if !spanEvents {
			want = nil
		}
		if !equalStrings(events, want) {
			t.Errorf("span events:\n%v\nwant\n%v", events, want)
		}
	})
}
