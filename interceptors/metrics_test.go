package interceptors_test

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// TestChainMetricsExposition drives a client chain through retries, a
// default deadline and a breaker that opens, and checks the component
// metrics the chain wires, as exposition text.
func TestChainMetricsExposition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := metrics.New(metrics.WithHandlingTimeBuckets())
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		failures := 0 // fail the next `failures` attempts
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			mu.Lock()
			defer mu.Unlock()
			if failures > 0 {
				failures--
				return nil, status.Error(codes.Unavailable, "down")
			}
			return &testpb.UnaryResponse{}, nil
		}}
		env, _ := client(t, svc, interceptors.WithMetrics(m), interceptors.WithDeadline(),
			interceptors.WithRetry(retry.WithJitter(0), retry.WithBudget(math.Inf(1), 0, 0)),
			interceptors.WithCircuitBreaker(circuit.WithBreakerOptions(breaker.WithConsecutiveFailures(3))))
		call := func(fail int) {
			mu.Lock()
			failures = fail
			mu.Unlock()
			_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		}
		call(0) // one attempt
		call(0) // one attempt
		call(2) // three attempts: 100 ms and 200 ms backoffs, then success
		call(3) // three failed attempts open the breaker (3 in a row)
		call(0) // refused by the open breaker

		want := `
# HELP bulwark_client_attempts_total Client attempts that reached the transport, retries and hedges included, by code. Divided by grpc_client_started_total it gives the load a client puts on its servers per call.
# TYPE bulwark_client_attempts_total counter
bulwark_client_attempts_total{grpc_code="OK",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 3
bulwark_client_attempts_total{grpc_code="Unavailable",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 5
# HELP bulwark_retry_call_attempts Attempts per finished client call, hedges included (calls that needed no retry count as 1).
# TYPE bulwark_retry_call_attempts histogram
bulwark_retry_call_attempts_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",le="1"} 3
bulwark_retry_call_attempts_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",le="2"} 3
bulwark_retry_call_attempts_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",le="3"} 5
bulwark_retry_call_attempts_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",le="4"} 5
bulwark_retry_call_attempts_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",le="5"} 5
bulwark_retry_call_attempts_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",le="+Inf"} 5
bulwark_retry_call_attempts_sum{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 9
bulwark_retry_call_attempts_count{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 5
# HELP bulwark_retry_stops_total Calls whose first attempt failed or that were hedged, by why the retrier stopped (succeeded, budget, deadline, not_retryable, ...).
# TYPE bulwark_retry_stops_total counter
bulwark_retry_stops_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",hedged="false",reason="max_attempts"} 1
bulwark_retry_stops_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",hedged="false",reason="not_retryable"} 1
bulwark_retry_stops_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",hedged="false",reason="succeeded"} 1
# HELP bulwark_deadline_defaults_total Client calls without a deadline that were given the default timeout.
# TYPE bulwark_deadline_defaults_total counter
bulwark_deadline_defaults_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 5
# HELP bulwark_circuit_transitions_total Circuit breaker state transitions.
# TYPE bulwark_circuit_transitions_total counter
bulwark_circuit_transitions_total{from="closed",grpc_method="",grpc_service="",side="client",target="passthrough:///bufnet",to="open"} 1
# HELP bulwark_circuit_state Circuit breaker state: 1 for the current state, 0 for the others. grpc_method is empty for a breaker that guards a whole target.
# TYPE bulwark_circuit_state gauge
bulwark_circuit_state{grpc_method="",grpc_service="",side="client",state="closed",target="passthrough:///bufnet"} 0
bulwark_circuit_state{grpc_method="",grpc_service="",side="client",state="open",target="passthrough:///bufnet"} 1
# HELP bulwark_circuit_rejections_total Calls an open circuit breaker refused without reaching the network or the handler.
# TYPE bulwark_circuit_rejections_total counter
bulwark_circuit_rejections_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",side="client",target="passthrough:///bufnet"} 1
`
		names := []string{"bulwark_client_attempts_total", "bulwark_retry_call_attempts", "bulwark_retry_stops_total",
			"bulwark_deadline_defaults_total", "bulwark_circuit_transitions_total", "bulwark_circuit_state", "bulwark_circuit_rejections_total"}
		if err := testutil.CollectAndCompare(m, strings.NewReader(want), names...); err != nil {
			t.Error(err)
		}
		if n := testutil.CollectAndCount(m, "bulwark_retry_delay_seconds"); n != 1 {
			t.Errorf("bulwark_retry_delay_seconds has %d series; want 1 (reason backoff)", n)
		}
		problems, err := testutil.CollectAndLint(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	})
}

// TestChainRetryBufferGauge: bulwark_retry_buffer_bytes follows the bytes
// that a target's client streams keep to replay, once a stream to the
// target has committed.
func TestChainRetryBufferGauge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, err := metrics.New()
		if err != nil {
			t.Fatal(err)
		}
		env, _ := client(t, &grpctest.Service{}, interceptors.WithMetrics(m), interceptors.WithRetry())
		gauge := func(want string) {
			t.Helper()
			synctest.Wait()
			text := "# HELP bulwark_retry_buffer_bytes Bytes of sent messages that the streams to a target keep to replay until they commit.\n" +
				"# TYPE bulwark_retry_buffer_bytes gauge\n" +
				`bulwark_retry_buffer_bytes{target="passthrough:///bufnet"} ` + want + "\n"
			if err := testutil.CollectAndCompare(m, strings.NewReader(text), "bulwark_retry_buffer_bytes"); err != nil {
				t.Error(err)
			}
		}
		msg := &testpb.ClientStreamRequest{Text: "a"} // 3 bytes
		first, err := env.Client.ClientStream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := first.Send(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := first.CloseAndRecv(); err != nil { // commits: the gauge appears
			t.Fatal(err)
		}
		gauge("0")
		second, err := env.Client.ClientStream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if err := second.Send(msg); err != nil {
			t.Fatal(err)
		}
		gauge("3")
		if _, err := second.CloseAndRecv(); err != nil {
			t.Fatal(err)
		}
		gauge("0")
	})
}
