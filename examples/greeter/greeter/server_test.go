package greeter_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	greeterv1 "github.com/bulwarkrpc/bulwark/examples/greeter/gen/greeter/v1"
	"github.com/bulwarkrpc/bulwark/examples/greeter/greeter"
)

// gathered returns the names of the metric families in the server's
// registry, after checking them with the Prometheus linter.
func gathered(t *testing.T, srv *greeter.Server) map[string]bool {
	t.Helper()
	problems, err := testutil.GatherAndLint(srv.Registry)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	mfs, err := srv.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	return names
}

func TestServerChainMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := startServer(t, greeter.Config{Chaos: true}, []greeter.ServerOption{greeter.WithLimit(4)})
		if e.srv.Chain == nil || e.srv.Metrics == nil || e.srv.Chain.Limiter() == nil {
			t.Fatalf("NewServer with WithLimit(4): chain %v, metrics %v; want both and a limiter", e.srv.Chain, e.srv.Metrics)
		}
		if _, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{Name: "Ada"}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.SayHello(withFault(t.Context(), "error=DB_ERROR"), &greeterv1.HelloRequest{}); status.Code(err) != codes.Unavailable {
			t.Fatalf("DB_ERROR call = %v", err)
		}
		names := gathered(t, e.srv)
		for _, want := range []string{
			"grpc_server_started_total", "grpc_server_handled_total", "grpc_server_handling_seconds",
			"bulwark_server_application_errors_total", "bulwark_concurrency_limit", "bulwark_concurrency_in_flight",
			"go_goroutines",
		} {
			if !names[want] {
				t.Errorf("the registry lacks %s; it has %v", want, names)
			}
		}
		if !strings.Contains(e.logs.String(), `"grpc.code":"Unavailable"`) {
			t.Errorf("the logging interceptor logged no record of the failed call:\n%s", e.logs.String())
		}
	})
}

func TestBareServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := startServer(t, greeter.Config{Chaos: true}, []greeter.ServerOption{greeter.WithBare(true), greeter.WithLimit(1), greeter.WithCircuitBreaker(true)})
		if e.srv.Chain != nil || e.srv.Metrics != nil {
			t.Fatalf("WithBare: chain %v, metrics %v; want none", e.srv.Chain, e.srv.Metrics)
		}
		// No boundary: the handler's ordinary error leaves as it is, secret
		// and all, as from any gRPC server without one.
		_, err := e.client.SayHello(withFault(t.Context(), "plain-error"), &greeterv1.HelloRequest{})
		if st := status.Convert(err); st.Code() != codes.Unknown || !strings.Contains(st.Message(), greeter.Secret) {
			t.Errorf("plain-error from a bare server = %v; want UNKNOWN with the handler's text", err)
		}
		// No limiter: calls beyond WithLimit are served.
		for range 3 {
			if _, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{}); err != nil {
				t.Fatal(err)
			}
		}
		names := gathered(t, e.srv)
		if names["grpc_server_handled_total"] || !names["go_goroutines"] {
			t.Errorf("a bare server's registry has %v; want the runtime's metrics only", names)
		}
	})
}

func TestServerLoadShedding(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := startServer(t, greeter.Config{Latency: time.Second}, []greeter.ServerOption{greeter.WithLimit(2)})
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				_, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{})
				errs <- err
			}()
		}
		synctest.Wait()
		_, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{})
		ae, ok := errdetails.FromError(err)
		if status.Code(err) != codes.Unavailable || !ok || ae.Code != errdetails.CodeServerOverloaded || !ae.Unprocessed || ae.RetryAfter <= 0 {
			t.Errorf("a third call with two in flight = %v (%+v); want UNAVAILABLE, SERVER_OVERLOADED, unprocessed, with a retry delay", err, ae)
		}
		if st := e.svc.Stats(); st.Requests != 2 {
			t.Errorf("the service saw %d requests; want 2: the third was refused before it", st.Requests)
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("an admitted call failed: %v", err)
			}
		}
	})
}

func TestServerDeadlineTooShort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := start(t, greeter.Config{})
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Microsecond)
		defer cancel()
		_, err := e.client.SayHello(ctx, &greeterv1.HelloRequest{})
		if !hasCode(err, errdetails.CodeDeadlineTooShort) || status.Code(err) != codes.DeadlineExceeded {
			t.Errorf("a call with 0.5ms left = %v; want DEADLINE_EXCEEDED, DEADLINE_TOO_SHORT", err)
		}
		if st := e.svc.Stats(); st.Requests != 0 {
			t.Errorf("the service saw %d requests; want none", st.Requests)
		}
	})
}

func TestServerCircuitBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := startServer(t, greeter.Config{FailRate: 1, FailCode: "UNAVAILABLE"}, []greeter.ServerOption{greeter.WithCircuitBreaker(true)})
		if e.srv.Chain.Circuit() == nil {
			t.Fatal("WithCircuitBreaker(true): no circuit in the chain")
		}
		// The breaker's defaults: it opens when half of at least 20 calls
		// failed.
		var last error
		for range 30 {
			_, last = e.client.SayHello(t.Context(), &greeterv1.HelloRequest{})
		}
		if !hasCode(last, errdetails.CodeCircuitOpen) {
			t.Errorf("the 30th call to a method that always fails = %v; want CIRCUIT_OPEN", last)
		}
		if st := e.svc.Stats(); st.Requests != 20 {
			t.Errorf("the service saw %d requests; want 20: the breaker refuses the rest", st.Requests)
		}
	})
}

func TestServerAdaptiveLimit(t *testing.T) {
	tests := []struct {
		name      string
		opts      []greeter.ServerOption
		wantLimit int
	}{
		{"fixed", []greeter.ServerOption{greeter.WithLimit(7)}, 7},
		{"adaptive starts at 20", []greeter.ServerOption{greeter.WithAdaptive(true)}, 20},
		{"adaptive bounded", []greeter.ServerOption{greeter.WithAdaptive(true), greeter.WithLimit(5)}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := startServer(t, greeter.Config{}, tc.opts)
				if got := e.srv.Chain.Limiter().Stats().Limit; got != tc.wantLimit {
					t.Errorf("limit = %d; want %d", got, tc.wantLimit)
				}
			})
		})
	}
}

func TestNewServerRefusesNegativeLimit(t *testing.T) {
	svc, err := greeter.New(greeter.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := greeter.NewServer(svc, discardLogger(), greeter.WithLimit(-1)); err == nil || !strings.Contains(err.Error(), "WithLimit(-1)") {
		t.Errorf("NewServer(WithLimit(-1)) = %v; want an error naming the option", err)
	}
}

func TestSlowCalls(t *testing.T) {
	tests := []struct {
		name string
		rate float64
		slow []int // which of 40 calls (from 1) take the extra second
	}{
		{"none", 0, nil},
		{"all", 1, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
			21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40}},
		{"a quarter", 0.25, []int{4, 8, 12, 16, 20, 24, 28, 32, 36, 40}},
		{"one in twenty", 0.05, []int{20, 40}},
		{"a tenth", 0.1, []int{10, 20, 30, 40}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := start(t, greeter.Config{Latency: 10 * time.Millisecond, SlowRate: tc.rate, SlowLatency: time.Second})
				var slow []int
				for i := 1; i <= 40; i++ {
					begin := time.Now()
					if _, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{}); err != nil {
						t.Fatal(err)
					}
					switch took := time.Since(begin); took {
					case 10 * time.Millisecond:
					case 1010 * time.Millisecond:
						slow = append(slow, i)
					default:
						t.Fatalf("call %d took %v; want 10ms or 1.01s", i, took)
					}
				}
				if !slices.Equal(slow, tc.slow) {
					t.Errorf("slow calls %v; want %v", slow, tc.slow)
				}
			})
		})
	}
}

// TestSlowCallsCountFromSetConfig: a new Config starts the count again,
// so that two runs that set the same faults meet the same slow calls.
func TestSlowCallsCountFromSetConfig(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := greeter.Config{SlowRate: 0.5, SlowLatency: time.Second}
		e := start(t, cfg)
		took := func() time.Duration {
			begin := time.Now()
			if _, err := e.client.SayHello(t.Context(), &greeterv1.HelloRequest{}); err != nil {
				t.Fatal(err)
			}
			return time.Since(begin)
		}
		if d := took(); d != 0 {
			t.Fatalf("first call took %v; want 0 (the second of every two is slow)", d)
		}
		if err := e.svc.SetConfig(cfg); err != nil {
			t.Fatal(err)
		}
		if d := took(); d != 0 {
			t.Errorf("first call after SetConfig took %v; want 0: the count starts again", d)
		}
		if d := took(); d != time.Second {
			t.Errorf("second call after SetConfig took %v; want 1s", d)
		}
	})
}

// hasCode reports whether err is, wraps or decodes to an
// *errdetails.ApplicationError with the given code.
func hasCode(err error, code string) bool {
	ae, ok := errdetails.FromError(err)
	return ok && ae.Code == code
}
