package metrics_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newMetrics(t testing.TB, opts ...metrics.Option) *metrics.Metrics {
	t.Helper()
	m, err := metrics.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// start serves svc with the metrics interceptors on both sides and the error
// boundary inside them on the server.
func start(t *testing.T, m *metrics.Metrics, svc *grpctest.Service) *grpctest.Env {
	b, err := boundary.New()
	if err != nil {
		t.Fatal(err)
	}
	return grpctest.Start(t, svc, grpctest.Options{
		Server: []grpc.ServerOption{
			grpc.ChainUnaryInterceptor(m.UnaryServerInterceptor(), b.UnaryServerInterceptor()),
			grpc.ChainStreamInterceptor(m.StreamServerInterceptor(), b.StreamServerInterceptor()),
		},
		Dial: []grpc.DialOption{
			grpc.WithChainUnaryInterceptor(m.UnaryClientInterceptor()),
			grpc.WithChainStreamInterceptor(m.StreamClientInterceptor()),
		},
	})
}

func TestUnaryExposition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMetrics(t, metrics.WithHandlingTimeBuckets(0.1, 1))
		fail := []error{nil, errdetails.Database("", errors.New("secret")), status.Error(codes.NotFound, "no"),
			func() *errdetails.ApplicationError {
				e := errdetails.New("NOT_REGISTERED_ANYWHERE", "x")
				e.GRPCCode = codes.Aborted
				return e
			}(), errors.New("plain")}
		i := 0
		svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			err := fail[i]
			i++
			if err != nil {
				return nil, err
			}
			return &testpb.UnaryResponse{}, nil
		}}
		env := start(t, m, svc)
		for range fail {
			_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		}
		want := `
# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or failure.
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="Aborted",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
grpc_server_handled_total{grpc_code="Internal",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
grpc_server_handled_total{grpc_code="NotFound",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
grpc_server_handled_total{grpc_code="OK",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
grpc_server_handled_total{grpc_code="Unavailable",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
# HELP grpc_server_started_total Total number of RPCs started on the server.
# TYPE grpc_server_started_total counter
grpc_server_started_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 5
# HELP grpc_server_msg_received_total Total number of RPC stream messages received on the server.
# TYPE grpc_server_msg_received_total counter
grpc_server_msg_received_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 5
# HELP grpc_server_msg_sent_total Total number of gRPC stream messages sent by the server.
# TYPE grpc_server_msg_sent_total counter
grpc_server_msg_sent_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
# HELP grpc_server_handling_seconds Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.
# TYPE grpc_server_handling_seconds histogram
grpc_server_handling_seconds_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary",le="0.1"} 5
grpc_server_handling_seconds_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary",le="1"} 5
grpc_server_handling_seconds_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary",le="+Inf"} 5
grpc_server_handling_seconds_sum{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 0
grpc_server_handling_seconds_count{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 5
# HELP bulwark_server_application_errors_total Application errors returned by the server's handlers, by application code (codes the registry does not know are counted as OTHER).
# TYPE bulwark_server_application_errors_total counter
bulwark_server_application_errors_total{app_code="DB_ERROR",grpc_code="Unavailable",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 1
bulwark_server_application_errors_total{app_code="INTERNAL_ERROR",grpc_code="Internal",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 1
bulwark_server_application_errors_total{app_code="OTHER",grpc_code="Aborted",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 1
# HELP grpc_client_handled_total Total number of RPCs completed by the client, regardless of success or failure.
# TYPE grpc_client_handled_total counter
grpc_client_handled_total{grpc_code="Aborted",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
grpc_client_handled_total{grpc_code="Internal",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
grpc_client_handled_total{grpc_code="NotFound",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
grpc_client_handled_total{grpc_code="OK",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
grpc_client_handled_total{grpc_code="Unavailable",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
# HELP grpc_client_msg_received_total Total number of RPC stream messages received by the client.
# TYPE grpc_client_msg_received_total counter
grpc_client_msg_received_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 1
# HELP grpc_client_msg_sent_total Total number of gRPC stream messages sent by the client.
# TYPE grpc_client_msg_sent_total counter
grpc_client_msg_sent_total{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",grpc_type="unary"} 5
# HELP bulwark_client_application_errors_total Application errors received by the client, by application code (codes the registry does not know are counted as OTHER).
# TYPE bulwark_client_application_errors_total counter
bulwark_client_application_errors_total{app_code="DB_ERROR",grpc_code="Unavailable",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 1
bulwark_client_application_errors_total{app_code="INTERNAL_ERROR",grpc_code="Internal",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 1
bulwark_client_application_errors_total{app_code="OTHER",grpc_code="Aborted",grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 1
`
		names := []string{"grpc_server_handled_total", "grpc_server_started_total", "grpc_server_msg_received_total",
			"grpc_server_msg_sent_total", "grpc_server_handling_seconds", "bulwark_server_application_errors_total",
			"grpc_client_handled_total", "grpc_client_msg_received_total", "grpc_client_msg_sent_total", "bulwark_client_application_errors_total"}
		if err := testutil.CollectAndCompare(m, strings.NewReader(want), names...); err != nil {
			t.Error(err)
		}
	})
}

func TestStreamExposition(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMetrics(t, metrics.WithHandlingTimeBuckets())
		env := start(t, m, &grpctest.Service{})
		ss, err := env.Client.ServerStream(t.Context(), &testpb.ServerStreamRequest{Count: 3})
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := ss.Recv(); err != nil {
				if err != io.EOF {
					t.Fatal(err)
				}
				break
			}
		}
		// Extra RecvMsg after the end must not count the call twice.
		_, _ = ss.Recv()
		cs, err := env.Client.ClientStream(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if err := cs.Send(&testpb.ClientStreamRequest{Text: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := cs.CloseAndRecv(); err != nil {
			t.Fatal(err)
		}
		want := `
# HELP grpc_client_handled_total Total number of RPCs completed by the client, regardless of success or failure.
# TYPE grpc_client_handled_total counter
grpc_client_handled_total{grpc_code="OK",grpc_method="ClientStream",grpc_service="bulwark.testing.v1.TestService",grpc_type="client_stream"} 1
grpc_client_handled_total{grpc_code="OK",grpc_method="ServerStream",grpc_service="bulwark.testing.v1.TestService",grpc_type="server_stream"} 1
# HELP grpc_client_msg_received_total Total number of RPC stream messages received by the client.
# TYPE grpc_client_msg_received_total counter
grpc_client_msg_received_total{grpc_method="ClientStream",grpc_service="bulwark.testing.v1.TestService",grpc_type="client_stream"} 1
grpc_client_msg_received_total{grpc_method="ServerStream",grpc_service="bulwark.testing.v1.TestService",grpc_type="server_stream"} 3
# HELP grpc_server_msg_received_total Total number of RPC stream messages received on the server.
# TYPE grpc_server_msg_received_total counter
grpc_server_msg_received_total{grpc_method="ClientStream",grpc_service="bulwark.testing.v1.TestService",grpc_type="client_stream"} 2
grpc_server_msg_received_total{grpc_method="ServerStream",grpc_service="bulwark.testing.v1.TestService",grpc_type="server_stream"} 1
# HELP grpc_server_msg_sent_total Total number of gRPC stream messages sent by the server.
# TYPE grpc_server_msg_sent_total counter
grpc_server_msg_sent_total{grpc_method="ClientStream",grpc_service="bulwark.testing.v1.TestService",grpc_type="client_stream"} 1
grpc_server_msg_sent_total{grpc_method="ServerStream",grpc_service="bulwark.testing.v1.TestService",grpc_type="server_stream"} 3
`
		if err := testutil.CollectAndCompare(m, strings.NewReader(want), "grpc_client_handled_total", "grpc_client_msg_received_total",
			"grpc_server_msg_received_total", "grpc_server_msg_sent_total"); err != nil {
			t.Error(err)
		}
		if n, err := testutil.GatherAndCount(registry(t, m), "grpc_server_handling_seconds"); err != nil || n != 0 {
			t.Errorf("handling-time histogram with no buckets: %d series, %v; want none", n, err)
		}
	})
}

func registry(t *testing.T, cs ...prometheus.Collector) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(cs...)
	return reg
}

func TestLint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMetrics(t)
		env := start(t, m, &grpctest.Service{})
		_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		problems, err := testutil.CollectAndLint(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	})
}

func TestOptionsRefused(t *testing.T) {
	for _, tc := range []struct {
		opt  metrics.Option
		want string
	}{
		{metrics.WithNamespace("bad-name"), `metrics: WithNamespace("bad-name")`},
		{metrics.WithHandlingTimeBuckets(1, 0.5), "strictly increasing"},
		{metrics.WithCodes(nil), "WithCodes(nil)"},
		{nil, "metrics: nil Option"},
	} {
		if _, err := metrics.New(tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New = %v; want error containing %q", err, tc.want)
		}
	}
}

// TestCircuitCallsBySide: the same method's breaker calls on a server and
// on a client of two targets are three series, each with its own count.
func TestCircuitCallsBySide(t *testing.T) {
	m := newMetrics(t)
	obs := m.Observers().Circuit
	const method = "/pkg.Service/Method"
	for range 3 {
		obs.OnCall(t.Context(), circuit.CallEvent{Method: method, Outcome: outcome.Success})
	}
	obs.OnCall(t.Context(), circuit.CallEvent{Method: method, Outcome: outcome.FatalFailure})
	obs.OnCall(t.Context(), circuit.CallEvent{Target: "dns:///a", Method: method, Outcome: outcome.Success})
	for range 2 {
		obs.OnCall(t.Context(), circuit.CallEvent{Target: "dns:///b", Method: method, Outcome: outcome.Success})
	}
	for _, c := range []struct {
		side, target, outcome string
		want                  float64
	}{
		{"server", "", "success", 3},
		{"server", "", "fatal_failure", 1},
		{"client", "dns:///a", "success", 1},
		{"client", "dns:///a", "fatal_failure", 0},
		{"client", "dns:///b", "success", 2},
	} {
		got := testutil.ToFloat64(m.CircuitCallsForTest(c.side, c.target, "pkg.Service", "Method", c.outcome))
		if got != c.want {
			t.Errorf("circuit calls side=%s target=%q outcome=%s = %v; want %v", c.side, c.target, c.outcome, got, c.want)
		}
	}
}

// TestAttemptsBeyondTheDefaultCap: under a raised cap (retry.WithAttemptsCap)
// a call of 7 attempts counts in +Inf, past the buckets that stop at 5, and
// in the sum as 7.
func TestAttemptsBeyondTheDefaultCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMetrics(t)
		env := start(t, m, &grpctest.Service{})
		const method = "/bulwark.testing.v1.TestService/Unary"
		for range 3 { // three finished calls, of which the Retrier reports two
			if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
				t.Fatal(err)
			}
		}
		obs := m.Observers().Retry
		obs.OnFinish(t.Context(), retry.FinishEvent{Target: "t", Method: method, Attempts: 7})
		obs.OnFinish(t.Context(), retry.FinishEvent{Target: "t", Method: method, Attempts: 2})
		want := `
# HELP bulwark_retry_call_attempts Attempts per finished client call, hedges included (calls that needed no retry count as 1).
# TYPE bulwark_retry_call_attempts histogram
bulwark_retry_call_attempts_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",le="1"} 1
bulwark_retry_call_attempts_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",le="2"} 2
bulwark_retry_call_attempts_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",le="3"} 2
bulwark_retry_call_attempts_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",le="4"} 2
bulwark_retry_call_attempts_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",le="5"} 2
bulwark_retry_call_attempts_bucket{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService",le="+Inf"} 3
bulwark_retry_call_attempts_sum{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 10
bulwark_retry_call_attempts_count{grpc_method="Unary",grpc_service="bulwark.testing.v1.TestService"} 3
`
		if err := testutil.CollectAndCompare(m, strings.NewReader(want), "bulwark_retry_call_attempts"); err != nil {
			t.Error(err)
		}
	})
}
