package opentelemetry_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/opentelemetry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
	"github.com/bulwarkrpc/bulwark/internal/track"
)

// eventsOf returns the events of the one span sr recorded, each as its name
// and its attributes sorted (bulwark.retry.budget and bulwark.retry_after,
// which depend on the moment, left out).
func eventsOf(t *testing.T, sr *tracetest.SpanRecorder) []string {
	spans := sr.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended, want 1", len(spans))
	}
	var out []string
	for _, e := range spans[0].Events() {
		var kvs []string
		for _, a := range e.Attributes {
			if a.Key == "bulwark.retry.budget" || a.Key == "bulwark.retry_after" {
				continue
			}
			kvs = append(kvs, fmt.Sprintf("%s=%s", a.Key, emit(a)))
		}
		sort.Strings(kvs)
		out = append(out, strings.TrimSpace(e.Name+" "+strings.Join(kvs, " ")))
	}
	return out
}

func emit(a attribute.KeyValue) string {
	if a.Value.Type() == attribute.FLOAT64 {
		return fmt.Sprintf("%.3g", a.Value.AsFloat64())
	}
	return a.Value.String()
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

// rejectEnv is a client with Telemetry's call and attempt interceptors
// around a component's client interceptor, recording spans.
func rejectEnv(t *testing.T, svc *grpctest.Service, tel *opentelemetry.Telemetry, inner grpc.UnaryClientInterceptor) (*grpctest.Env, *tracetest.SpanRecorder, *sdktrace.TracerProvider) {
	spans := tracetest.NewSpanRecorder()
	env := grpctest.Start(t, svc, grpctest.Options{Dial: []grpc.DialOption{
		grpc.WithStatsHandler(clientStats(tel)),
		grpc.WithChainUnaryInterceptor(tel.UnaryClientInterceptor(), unaryAttempt(tel), inner),
	}})
	return env, spans, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
}

// TestBreakerRefusalEvent: a call that the open breaker refuses adds
// bulwark.circuit.rejected to the caller's span and counts
// bulwark.circuit.rejections.
func TestBreakerRefusalEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		tel, err := opentelemetry.New(opentelemetry.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
		if err != nil {
			t.Fatal(err)
		}
		c, err := circuit.New(circuit.WithObserver(tel.Observers().Circuit))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		env, spans, tp := rejectEnv(t, &grpctest.Service{}, tel, c.UnaryClientInterceptor())
		c.ClientBreaker(env.Conn.Target(), "").SetMode(breaker.ModeForcedOpen)

		ctx, span := tp.Tracer("test").Start(context.Background(), "call")
		_, err = env.Client.Unary(ctx, &testpb.UnaryRequest{Text: "x"})
		span.End()
		if !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("Unary: %v, want the breaker's refusal", err)
		}
		want := []string{"bulwark.circuit.rejected grpc.method= grpc.target=passthrough:///bufnet"}
		if got := eventsOf(t, spans); !equalStrings(got, want) {
			t.Errorf("span events %v, want %v", got, want)
		}
		got := collect(t, reader)
		if p := got["bulwark.circuit.rejections"].only(t, "rejections"); p.count != 1 {
			t.Errorf("bulwark.circuit.rejections = %d, want 1", p.count)
		}
		const series = "grpc.target=passthrough:///bufnet"
		if tr := got["bulwark.circuit.transitions"].only(t, "transitions"); tr.count != 1 || tr.attrs != "bulwark.circuit.from=closed,bulwark.circuit.to=forced_open,"+series {
			t.Errorf("bulwark.circuit.transitions{%s} = %d, want 1 from closed to forced_open", tr.attrs, tr.count)
		}
		state := got["bulwark.circuit.state"].points
		if len(state) != 2 || state["bulwark.circuit.state=closed,"+series].count != 0 || state["bulwark.circuit.state=forced_open,"+series].count != 1 {
			t.Errorf("bulwark.circuit.state = %v, want closed 0 and forced_open 1", state)
		}
		if _, ok := got["grpc.client.attempt.started"]; ok {
			t.Errorf("a refused call was counted as an attempt on the transport")
		}
	})
}

// TestLimiterRejectionEvent: with one permit held by a call in flight, the
// next call is rejected; bulwark.limiter.rejected goes to its span and
// bulwark.limiter.rejections counts it by reason.
func TestLimiterRejectionEvent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		tel, err := opentelemetry.New(opentelemetry.WithMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))))
		if err != nil {
			t.Fatal(err)
		}
		l, err := concurrency.New(concurrency.WithLimit(1), concurrency.WithObserver(tel.Observers().Concurrency))
		if err != nil {
			t.Fatal(err)
		}
		track.Of(tel).TrackLimiter("client", l)
		release := make(chan struct{})
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			<-release
			return &testpb.UnaryResponse{}, nil
		}}
		env, spans, tp := rejectEnv(t, svc, tel, l.UnaryClientInterceptor())
		done := make(chan error)
		go func() {
			_, err := env.Client.Unary(context.Background(), &testpb.UnaryRequest{Text: "holds the permit"})
			done <- err
		}()
		synctest.Wait()
		inFlight := collect(t, reader)["bulwark.limiter.in_flight"].only(t, "in_flight")

		ctx, span := tp.Tracer("test").Start(context.Background(), "call")
		_, err = env.Client.Unary(ctx, &testpb.UnaryRequest{Text: "x"})
		span.End()
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !errors.Is(err, concurrency.ErrRejected) {
			t.Fatalf("Unary: %v, want the limiter's rejection", err)
		}
		want := []string{"bulwark.limiter.rejected bulwark.reason=limit grpc.method=bulwark.testing.v1.TestService/Unary"}
		if got := eventsOf(t, spans); !equalStrings(got, want) {
			t.Errorf("span events %v, want %v", got, want)
		}
		if inFlight.count != 1 || inFlight.attrs != "bulwark.side=client" {
			t.Errorf("bulwark.limiter.in_flight{%s} = %d while a call held the permit, want {bulwark.side=client} 1", inFlight.attrs, inFlight.count)
		}
		if p := collect(t, reader)["bulwark.limiter.rejections"].only(t, "rejections"); p.count != 1 || !strings.Contains(p.attrs, "bulwark.reason=limit") {
			t.Errorf("bulwark.limiter.rejections{%s} = %d, want 1 with bulwark.reason=limit", p.attrs, p.count)
		}
	})
}

// clientStats returns tel's client stats handler, which the chains install.
func clientStats(tel *opentelemetry.Telemetry) stats.Handler {
	h, _ := track.Of(tel).StatsHandlers()
	return h
}

// unaryAttempt returns tel's attempt interceptor, which the chains install
// right inside the retrier.
func unaryAttempt(tel *opentelemetry.Telemetry) grpc.UnaryClientInterceptor {
	u, _ := track.Of(tel).AttemptInterceptors()
	return u
}

// TestObserverSpanEvents: the hooks that get the call's context add
// bulwark.limiter.wait and bulwark.deadline.adjusted to its span when it is
// recording, and nothing to a context without one.
func TestObserverSpanEvents(t *testing.T) {
	tel, err := opentelemetry.New(opentelemetry.WithMeterProvider(sdkmetric.NewMeterProvider()))
	if err != nil {
		t.Fatal(err)
	}
	lo, do := tel.Observers().Concurrency, tel.Observers().Deadline
	wait := concurrency.WaitEvent{Method: "/pkg.S/M", Waited: 20 * time.Millisecond, Acquired: true}
	adjust := deadline.AdjustEvent{Method: "/pkg.S/M", HasDeadline: true, Remaining: 2 * time.Second, Given: 1500 * time.Millisecond}
	// Without a span: no panic, nothing to record.
	lo.OnWait(context.Background(), wait)
	do.OnAdjust(context.Background(), adjust)

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	ctx, span := tp.Tracer("test").Start(context.Background(), "call")
	lo.OnWait(ctx, wait)
	do.OnAdjust(ctx, adjust)
	span.End()
	want := []string{
		"bulwark.limiter.wait bulwark.acquired=true bulwark.waited=0.02",
		"bulwark.deadline.adjusted bulwark.timeout=1.5",
	}
	if got := eventsOf(t, spans); !equalStrings(got, want) {
		t.Errorf("span events %v, want %v", got, want)
	}
}
