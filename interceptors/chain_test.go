package interceptors_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
	"github.com/bulwarkrpc/bulwark/internal/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const target = "passthrough:///bufnet"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// client serves svc with a plain server (and the boundary) and connects
// through the client chain built from opts.
func client(t *testing.T, svc *grpctest.Service, opts ...interceptors.ClientOption) (*grpctest.Env, *interceptors.ClientChain) {
	t.Helper()
	chain, err := interceptors.NewClientChain(append([]interceptors.ClientOption{interceptors.WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(chain.Close)
	b, err := boundary.New(boundary.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	env := grpctest.Start(t, svc, grpctest.Options{
		Server: []grpc.ServerOption{grpc.ChainUnaryInterceptor(b.UnaryServerInterceptor()), grpc.ChainStreamInterceptor(b.StreamServerInterceptor())},
		Dial:   chain.DialOptions(),
	})
	return env, chain
}

func unavailable(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
	return nil, status.Error(codes.Unavailable, "down")
}

// Rule: a client-side limiter rejection never reaches the breaker.
func TestClientLimiterRejectNeverReachesBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			<-release
			return &testpb.UnaryResponse{}, nil
		}}
		env, chain := client(t, svc,
			interceptors.WithConcurrency(concurrency.WithLimit(1)),
			interceptors.WithCircuitBreaker(circuit.WithBreakerOptions(breaker.WithConsecutiveFailures(1))))
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
				t.Errorf("the call holding the permit failed: %v", err)
			}
		})
		synctest.Wait()
		for range 10 {
			_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
			if !errors.Is(err, concurrency.ErrRejected) {
				t.Fatalf("call over the limit = %v; want a limiter rejection", err)
			}
		}
		close(release)
		wg.Wait()
		b := chain.Circuit().ClientBreaker(target, "")
		if c := b.Counts(); b.State() != breaker.StateClosed || c.Failures != 0 {
			t.Errorf("breaker %v with counts %+v; want closed with no failures", b.State(), c)
		}
		if n := svc.Calls("Unary"); n != 1 {
			t.Errorf("server saw %d calls; want 1", n)
		}
	})
}

// Rule: the deadline covers all attempts. Reversed (deadline inside retry),
// every attempt gets a fresh timeout and the call outlives it.
func TestClientDeadlineCoversAllAttempts(t *testing.T) {
	slow := func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
		select {
		case <-time.After(300 * time.Millisecond):
			return nil, status.Error(codes.Unavailable, "down")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	retryOpts := []retry.Option{retry.WithBudget(math.Inf(1), 0, 0), retry.WithMethodPolicy("/bulwark.testing.v1.TestService/Unary",
		retry.WithMaxAttempts(5), retry.WithBackoff(100*time.Millisecond, 1, time.Second), retry.WithJitter(0))}
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: slow}
		env, _ := client(t, svc, interceptors.WithDeadline(deadline.WithDefaultTimeout(time.Second, 0)), interceptors.WithRetry(retryOpts...))
		start := time.Now()
		_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		if took := time.Since(start); took > time.Second || err == nil {
			t.Errorf("call took %v and returned %v; want an error within the 1s default timeout", took, err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		r, err := retry.New(retryOpts...)
		if err != nil {
			t.Fatal(err)
		}
		d, err := deadline.New(deadline.WithDefaultTimeout(time.Second, 0))
		if err != nil {
			t.Fatal(err)
		}
		env := grpctest.Start(t, &grpctest.Service{UnaryFunc: slow}, grpctest.Options{Dial: []grpc.DialOption{
			grpc.WithChainUnaryInterceptor(r.UnaryClientInterceptor(), d.UnaryClientInterceptor())}})
		start := time.Now()
		_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		if took := time.Since(start); took <= time.Second {
			t.Errorf("reversed order took %v; the test no longer shows what the order prevents", took)
		}
	})
}

// Rule: no limiter permit is held during a retry's backoff.
func TestClientNoPermitHeldDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		first := true
		svc := &grpctest.Service{UnaryFunc: func(_ context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			mu.Lock()
			defer mu.Unlock()
			if first {
				first = false
				return nil, status.Error(codes.Unavailable, "once")
			}
			return &testpb.UnaryResponse{Text: req.GetText()}, nil
		}}
		env, _ := client(t, svc, interceptors.WithConcurrency(concurrency.WithLimit(1)),
			interceptors.WithRetry(retry.WithBackoff(time.Second, 2, time.Second), retry.WithJitter(0)))
		var wg sync.WaitGroup
		wg.Go(func() {
			if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{Text: "a"}); err != nil {
				t.Errorf("retried call: %v", err)
			}
		})
		synctest.Wait() // call a failed once and sleeps its 1s backoff
		start := time.Now()
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{Text: "b"}); err != nil {
			t.Errorf("a call during the other's backoff was refused: %v", err)
		}
		if time.Since(start) != 0 {
			t.Errorf("the call waited %v for a permit held during a backoff", time.Since(start))
		}
		wg.Wait()
	})
}

// Rule: retry never waits for an attempt the open breaker inside it would
// refuse: once the breaker opens, the call ends at once with the server's
// error, not after another backoff with CIRCUIT_OPEN. When the breaker will
// be half-open by the end of the delay, the retry goes ahead as a probe.
func TestClientRetryStopsAtOpenBreaker(t *testing.T) {
	for _, tc := range []struct {
		name      string
		open      time.Duration // the breaker's open time
		attempts  int           // that reach the server
		atMost    time.Duration // how long the call takes, at most
		wantState breaker.State
	}{
		// Backoffs: 100 ms then 200 ms, ±20%. Open 5 s: after the second
		// failure the call ends at once, within the first backoff.
		{name: "open longer than the backoff", open: 5 * time.Second, attempts: 2, atMost: 120 * time.Millisecond, wantState: breaker.StateOpen},
		// Open 50 ms: the third attempt, 160 ms or more later, is a probe.
		{name: "half-open by the next attempt", open: 50 * time.Millisecond, attempts: 3, atMost: 360 * time.Millisecond, wantState: breaker.StateOpen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				svc := &grpctest.Service{UnaryFunc: unavailable}
				env, chain := client(t, svc,
					interceptors.WithRetry(retry.WithMaxAttempts(3), retry.WithBudget(math.Inf(1), 0, 0)),
					interceptors.WithCircuitBreaker(circuit.WithBreakerOptions(
						breaker.WithConsecutiveFailures(2), breaker.WithOpenDuration(tc.open, tc.open))))
				begin := time.Now()
				_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
				took := time.Since(begin)
				if errors.Is(err, breaker.ErrOpen) || status.Code(err) != codes.Unavailable || status.Convert(err).Message() != "down" {
					t.Errorf("err = %v; want the server's UNAVAILABLE, not the breaker's refusal", err)
				}
				if n := svc.Calls("Unary"); n != int64(tc.attempts) {
					t.Errorf("server saw %d attempts; want %d", n, tc.attempts)
				}
				if took > tc.atMost {
					t.Errorf("the call took %v; want at most %v", took, tc.atMost)
				}
				if s := chain.Circuit().ClientBreaker(target, "").State(); s != tc.wantState {
					t.Errorf("breaker %v; want %v", s, tc.wantState)
				}
			})
		})
	}
}

// Rule: the retry interceptor's per-attempt timeout counts as a failure for
// the breaker inside it, while the caller's own cancel does not.
func TestClientAttemptTimeoutTripsBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}}
		env, chain := client(t, svc,
			interceptors.WithRetry(retry.WithMaxAttempts(5), retry.WithBudget(math.Inf(1), 0, 0), retry.WithPerAttemptTimeout(100*time.Millisecond)),
			interceptors.WithCircuitBreaker(circuit.WithBreakerOptions(breaker.WithConsecutiveFailures(2))))
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
		b := chain.Circuit().ClientBreaker(target, "")
		if status.Code(err) != codes.DeadlineExceeded || b.State() != breaker.StateOpen {
			t.Errorf("err = %v, breaker %v; want the second attempt's timeout, the breaker open after two timed-out attempts", err, b.State())
		}
		if n := svc.Calls("Unary"); n != 2 {
			t.Errorf("server saw %d attempts; want 2", n)
		}

		// The caller giving up is not a failure.
		b.Reset()
		for range 3 {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			_, _ = env.Client.Unary(ctx, &testpb.UnaryRequest{})
			cancel()
		}
		if b.State() != breaker.StateClosed {
			t.Errorf("the caller's own deadlines opened the breaker")
		}
	})
}

// Rule: metrics outside the breaker count a local reject as a call, and
// attempt metrics inside it count no attempt.
func TestClientMetricsCountLocalReject(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := metrics.New(metrics.WithHandlingTimeBuckets())
		if err != nil {
			t.Fatal(err)
		}
		env, chain := client(t, &grpctest.Service{}, interceptors.WithMetrics(m), interceptors.WithCircuitBreaker())
		chain.Circuit().ClientBreaker(target, "").SetMode(breaker.ModeForcedOpen)
		_, err = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		if !errors.Is(err, breaker.ErrOpen) {
			t.Fatalf("err = %v; want a refusal", err)
		}
		want := `
# HELP grpc_client_handled_total Total number of RPCs completed by the client, regardless of success or failure.
# TYPE grpc_client_handled_total counter
grpc_client_handled_total{grpc_code="Unavailable",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
# HELP bulwark_circuit_rejections_total Calls an open circuit breaker refused without reaching the network or the handler.
# TYPE bulwark_circuit_rejections_total counter
bulwark_circuit_rejections_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",side="client",target="passthrough:///bufnet"} 1
# HELP bulwark_client_application_errors_total Application errors received by the client, by application code (codes the registry does not know are counted as OTHER).
# TYPE bulwark_client_application_errors_total counter
bulwark_client_application_errors_total{app_code="CIRCUIT_OPEN",grpc_code="Unavailable",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 1
`
		if err := testutil.CollectAndCompare(m, strings.NewReader(want), "grpc_client_handled_total", "bulwark_circuit_rejections_total",
			"bulwark_client_application_errors_total", "bulwark_client_attempts_total"); err != nil {
			t.Error(err)
		}
	})
}

// countingCircuit and countingDeadline count what a user's own observers
// see.
type countingCircuit struct{ calls atomic.Int64 }

func (c *countingCircuit) OnCall(context.Context, circuit.CallEvent) { c.calls.Add(1) }

type countingDeadline struct{ defaults atomic.Int64 }

func (c *countingDeadline) OnDefault(context.Context, deadline.DefaultEvent) { c.defaults.Add(1) }

// A user's own observer, given in a component's options, is added to the
// chain's: the user's sees the events, and the metrics still count them.
func TestClientUserObserversAddToTheChains(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := metrics.New()
		if err != nil {
			t.Fatal(err)
		}
		co, do := &countingCircuit{}, &countingDeadline{}
		env, _ := client(t, &grpctest.Service{}, interceptors.WithMetrics(m),
			interceptors.WithCircuitBreaker(circuit.WithObserver(circuit.Observer{OnCall: co.OnCall})),
			interceptors.WithDeadline(deadline.WithObserver(deadline.Observer{OnDefault: do.OnDefault})))
		for range 3 {
			if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
				t.Fatal(err)
			}
		}
		if co.calls.Load() != 3 || do.defaults.Load() != 3 {
			t.Errorf("the user's observers saw %d calls and %d default deadlines; want 3 and 3", co.calls.Load(), do.defaults.Load())
		}
		want := `
# HELP bulwark_circuit_calls_total Calls a circuit breaker let through, by outcome.
# TYPE bulwark_circuit_calls_total counter
bulwark_circuit_calls_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",outcome="fatal_failure",side="client",target="passthrough:///bufnet"} 0
bulwark_circuit_calls_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",outcome="ignored",side="client",target="passthrough:///bufnet"} 0
bulwark_circuit_calls_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",outcome="local_reject",side="client",target="passthrough:///bufnet"} 0
bulwark_circuit_calls_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",outcome="retryable_failure",side="client",target="passthrough:///bufnet"} 0
bulwark_circuit_calls_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",outcome="shed",side="client",target="passthrough:///bufnet"} 0
bulwark_circuit_calls_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",outcome="success",side="client",target="passthrough:///bufnet"} 3
# HELP bulwark_deadline_defaults_total Client calls without a deadline that were given the default timeout.
# TYPE bulwark_deadline_defaults_total counter
bulwark_deadline_defaults_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 3
`
		if err := testutil.CollectAndCompare(m, strings.NewReader(want), "bulwark_circuit_calls_total", "bulwark_deadline_defaults_total"); err != nil {
			t.Error(err)
		}
	})
}

// Rule: the chain turns gRPC's own retries off, so a retryPolicy in the
// service config does not multiply Bulwark's attempts, and Bulwark still
// retries.
func TestClientBuiltinRetryIsOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: unavailable}
		chain, err := interceptors.NewClientChain(interceptors.WithRetry(retry.WithMaxAttempts(3), retry.WithBudget(math.Inf(1), 0, 0), retry.WithBackoff(time.Millisecond, 1, time.Millisecond)))
		if err != nil {
			t.Fatal(err)
		}
		serviceConfig := `{"methodConfig":[{"name":[{"service":"bulwark.testing.v1.TestService"}],
			"retryPolicy":{"maxAttempts":4,"initialBackoff":"0.001s","maxBackoff":"0.001s","backoffMultiplier":1,"retryableStatusCodes":["UNAVAILABLE"]}}]}`
		env := grpctest.Start(t, svc, grpctest.Options{Dial: append(chain.DialOptions(), grpc.WithDefaultServiceConfig(serviceConfig))})
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v", err)
		}
		if n := svc.Calls("Unary"); n != 3 {
			t.Errorf("server saw %d attempts; want Bulwark's 3, not 3 × 4", n)
		}
	})
}

// server connects a plain client to svc served through the server chain.
func server(t *testing.T, svc *grpctest.Service, opts ...interceptors.ServerOption) (*grpctest.Env, *interceptors.ServerChain) {
	t.Helper()
	return serverLogging(t, svc, quiet, opts...)
}

// serverLogging is server with a chain that logs to logger.
func serverLogging(t *testing.T, svc *grpctest.Service, logger *slog.Logger, opts ...interceptors.ServerOption) (*grpctest.Env, *interceptors.ServerChain) {
	t.Helper()
	chain, err := interceptors.NewServerChain(append([]interceptors.ServerOption{interceptors.WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(chain.Close)
	return grpctest.Start(t, svc, grpctest.Options{Server: chain.ServerOptions()}), chain
}

// Rule: a request that cannot finish in time is refused before it waits for
// or takes a permit.
func TestServerDeadlineBeforeConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			<-release
			return &testpb.UnaryResponse{}, nil
		}}
		env, chain := server(t, svc, interceptors.WithDeadline(deadline.WithMinRemaining(50*time.Millisecond)),
			interceptors.WithConcurrency(concurrency.WithLimit(1), concurrency.WithQueue(10, time.Second)))
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{}) })
		synctest.Wait()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
		if ae, ok := errdetails.FromError(err); !ok || ae.Code != errdetails.CodeDeadlineTooShort || status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("err = %v; want DEADLINE_TOO_SHORT", err)
		}
		if st := chain.Limiter().Stats(); st.Queued != 0 || st.InFlight != 1 {
			t.Errorf("limiter %+v; the short request must not have queued", st)
		}
		close(release)
		wg.Wait()
	})
}

// Rule: the boundary outside the limiter encodes its overload rejection,
// with exactly one pushback value, and a panic inside releases the permit.
func TestServerOverloadAndPanicThroughBoundary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		calls := 0
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			mu.Lock()
			calls++
			n := calls
			mu.Unlock()
			switch n {
			case 1:
				<-release
			case 2:
				panic("boom")
			}
			return &testpb.UnaryResponse{}, nil
		}}
		m, err := metrics.New(metrics.WithHandlingTimeBuckets())
		if err != nil {
			t.Fatal(err)
		}
		env, chain := server(t, svc, interceptors.WithMetrics(m), interceptors.WithConcurrency(concurrency.WithLimit(1)))
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{}) })
		synctest.Wait()

		var trailer metadata.MD
		_, err = env.Client.Unary(t.Context(), &testpb.UnaryRequest{}, grpc.Trailer(&trailer))
		ae, ok := errdetails.FromError(err)
		if !ok || ae.Code != errdetails.CodeServerOverloaded || !ae.Unprocessed || status.Code(err) != codes.Unavailable {
			t.Errorf("overload = %v; want UNAVAILABLE SERVER_OVERLOADED marked unprocessed", err)
		}
		if p := trailer.Get(wire.PushbackTrailer); len(p) != 1 {
			t.Errorf("pushback trailer = %q; want exactly one value", p)
		}
		close(release)
		wg.Wait()

		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); status.Code(err) != codes.Internal {
			t.Errorf("panic = %v; want INTERNAL", err)
		}
		if st := chain.Limiter().Stats(); st.InFlight != 0 {
			t.Errorf("in flight after the panic = %d; the permit leaked", st.InFlight)
		}
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
			t.Errorf("call after the panic: %v", err)
		}
		want := `
# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or failure.
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="Internal",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
grpc_server_handled_total{grpc_code="OK",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 2
grpc_server_handled_total{grpc_code="Unavailable",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
# HELP bulwark_concurrency_rejections_total Calls a concurrency limiter refused, by reason (limit, shed_priority, queue_full, queue_timeout, deadline, canceled).
# TYPE bulwark_concurrency_rejections_total counter
bulwark_concurrency_rejections_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",reason="limit",side="server"} 1
# HELP bulwark_concurrency_in_flight Permits held.
# TYPE bulwark_concurrency_in_flight gauge
bulwark_concurrency_in_flight{grpc_method="",grpc_service="",side="server"} 0
`
		if err := testutil.CollectAndCompare(m, strings.NewReader(want), "grpc_server_handled_total", "bulwark_concurrency_rejections_total", "bulwark_concurrency_in_flight"); err != nil {
			t.Error(err)
		}
	})
}

func TestInvalidConfigurations(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []interceptors.ClientOption
		want string
	}{
		{"logger twice", []interceptors.ClientOption{interceptors.WithLogger(quiet), interceptors.WithLogger(quiet)}, "interceptors: WithLogger given twice"},
		{"nil logger", []interceptors.ClientOption{interceptors.WithLogger(nil)}, "WithLogger(nil)"},
		{"nil metrics", []interceptors.ClientOption{interceptors.WithMetrics(nil)}, "WithMetrics(nil)"},
		{"bad retry option", []interceptors.ClientOption{interceptors.WithRetry(retry.WithMaxAttempts(9))}, "interceptors: WithRetry: retry: WithMaxAttempts(9)"},
		{"bad breaker option", []interceptors.ClientOption{interceptors.WithCircuitBreaker(circuit.WithBreakerOptions(breaker.WithFailureRate(2)))}, "interceptors: WithCircuitBreaker: "},
		{"bad limit", []interceptors.ClientOption{interceptors.WithConcurrency(concurrency.WithLimit(-1))}, "interceptors: WithConcurrency: "},
		{"bad deadline", []interceptors.ClientOption{interceptors.WithDeadline(deadline.WithDefaultTimeout(-time.Second, 0))}, "interceptors: WithDeadline: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := interceptors.NewClientChain(tc.opts...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewClientChain = %v; want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := interceptors.NewServerChain(interceptors.WithBoundary(boundary.WithLogger(nil))); err == nil || !strings.Contains(err.Error(), "interceptors: WithBoundary: boundary: WithLogger(nil)") {
		t.Errorf("NewServerChain = %v; want the boundary's error", err)
	}
}
