package interceptors_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors"
	"github.com/bulwarkrpc/bulwark/interceptors/circuit"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/deadline"
	"github.com/bulwarkrpc/bulwark/interceptors/metrics"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/logbuf"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// reloads reads bulwark_config_reloads_total{result} from m: 0 before
// the first Reconfigure with that result.
func reloads(t *testing.T, m *metrics.Metrics, result string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "bulwark_config_reloads_total" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			if mt.GetLabel()[0].GetValue() == result {
				return mt.GetCounter().GetValue()
			}
		}
	}
	return 0 // no series yet
}

// A server under load: ten calls hold the ten permits of its limit when an
// operator lowers the limit to 2. None of the ten is cancelled; no new call
// is admitted while two or more are in flight, and one is as soon as only
// one is. Raising the limit again admits calls at once.
func TestReconfigureLowersAServerLimitUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, _ *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			select {
			case <-release:
				return &testpb.UnaryResponse{}, nil
			case <-ctx.Done():
				return nil, status.FromContextError(ctx.Err()).Err()
			}
		}}
		var logs logbuf.Buffer
		m, err := metrics.New()
		if err != nil {
			t.Fatal(err)
		}
		env, chain := serverLogging(t, svc, slog.New(slog.NewTextHandler(&logs, nil)), interceptors.WithMetrics(m),
			interceptors.WithConcurrency(concurrency.WithLimit(10)))
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for range 10 {
			wg.Go(func() {
				_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
				errs <- err
			})
		}
		synctest.Wait()
		if st := chain.Limiter().Stats(); st.InFlight != 10 {
			t.Fatalf("in flight = %d; want the 10 calls", st.InFlight)
		}
		if err := chain.Reconfigure(interceptors.WithConcurrency(concurrency.WithLimit(2))); err != nil {
			t.Fatal(err)
		}
		if st := chain.Limiter().Stats(); st.Limit != 2 || st.InFlight != 10 {
			t.Fatalf("after lowering: %+v; want limit 2 with the 10 calls still in flight", st)
		}
		call := func() error {
			_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
			return err
		}
		admitted := func(inFlight int) bool {
			t.Helper()
			// A call admitted now blocks in the handler: run it aside and
			// see whether it reached the handler.
			before := svc.Calls("Unary")
			done := make(chan error, 1)
			go func() { done <- call() }()
			synctest.Wait()
			select {
			case err := <-done:
				if status.Code(err) != codes.Unavailable {
					t.Fatalf("at %d in flight: a refused call got %v; want UNAVAILABLE", inFlight, err)
				}
				if svc.Calls("Unary") != before {
					t.Fatalf("at %d in flight: a refused call reached the handler", inFlight)
				}
				return false
			default:
				wg.Go(func() { errs <- <-done })
				return true
			}
		}
		finish := func(n int) {
			for range n {
				release <- struct{}{}
			}
			synctest.Wait()
		}
		for inFlight := 10; inFlight >= 2; inFlight-- {
			if admitted(inFlight) {
				t.Fatalf("a call was admitted with %d in flight under a limit of 2", inFlight)
			}
			if inFlight > 2 {
				finish(1)
			}
		}
		finish(1) // 1 in flight: below the limit
		if !admitted(1) {
			t.Fatal("a call was refused with 1 in flight under a limit of 2")
		}
		if st := chain.Limiter().Stats(); st.InFlight != 2 {
			t.Fatalf("in flight = %d; want 2", st.InFlight)
		}
		// Raised again: room at once.
		if err := chain.Reconfigure(interceptors.WithConcurrency(concurrency.WithLimit(10))); err != nil {
			t.Fatal(err)
		}
		if !admitted(2) {
			t.Fatal("a call was refused after the limit was raised back to 10")
		}
		close(release)
		wg.Wait()
		close(errs)
		n := 0
		for err := range errs {
			if err != nil {
				t.Errorf("a call admitted before or after the change failed: %v", err)
			}
			n++
		}
		if n != 12 {
			t.Errorf("%d calls finished; want the 10 first and the 2 admitted later", n)
		}
		if got := reloads(t, m, "ok"); got != 2 {
			t.Errorf("config reloads ok = %v; want 2", got)
		}
		if !strings.Contains(logs.String(), `msg="bulwark: configuration reloaded" side=server changed=WithConcurrency`) {
			t.Errorf("no reload record in the log:\n%s", logs.String())
		}
	})
}

// An open client breaker stays open across a change of its thresholds and
// open duration: it half-opens when the open period it started with ends,
// and the new thresholds decide from then on.
func TestReconfigureKeepsAnOpenBreakerOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: unavailable}
		env, chain := client(t, svc, interceptors.WithCircuitBreaker(circuit.WithBreakerOptions(
			breaker.WithConsecutiveFailures(3), breaker.WithOpenDuration(time.Minute, time.Minute), breaker.WithOpenJitter(0))))
		call := func() error {
			_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
			return err
		}
		for range 3 {
			_ = call()
		}
		b := chain.Circuit().ClientBreaker(target, "")
		if b.State() != breaker.StateOpen {
			t.Fatalf("breaker %v after 3 failures; want open", b.State())
		}
		time.Sleep(30 * time.Second) // synctest: fake time, half of the open period
		if err := chain.Reconfigure(interceptors.WithCircuitBreaker(circuit.WithBreakerOptions(
			breaker.WithConsecutiveFailures(10), breaker.WithOpenDuration(time.Second, time.Second), breaker.WithOpenJitter(0)))); err != nil {
			t.Fatal(err)
		}
		if b.State() != breaker.StateOpen || !errorIsOpen(call()) {
			t.Fatalf("breaker %v after the change; want still open and refusing", b.State())
		}
		if b.RefusesFor() != 30*time.Second {
			t.Fatalf("refuses for %v after the change; want the 30s left of the first open period", b.RefusesFor())
		}
		time.Sleep(30*time.Second - 1)
		synctest.Wait()
		if b.State() != breaker.StateOpen {
			t.Fatalf("breaker %v 1ns before the old open period ends", b.State())
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if b.State() != breaker.StateHalfOpen {
			t.Fatalf("breaker %v when the old open period ended; want half-open", b.State())
		}
		// The probe fails: open again, now for the new second.
		_ = call()
		if b.State() != breaker.StateOpen || b.RefusesFor() != time.Second {
			t.Fatalf("after a failed probe: %v for %v; want open for the new 1s", b.State(), b.RefusesFor())
		}
	})
}

// A reconfiguration with any invalid part changes nothing, names what is
// wrong, and is counted and logged as refused.
func TestReconfigureRefusesAndChangesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var logs logbuf.Buffer
		m, err := metrics.New()
		if err != nil {
			t.Fatal(err)
		}
		env, chain := serverLogging(t, &grpctest.Service{}, slog.New(slog.NewTextHandler(&logs, nil)), interceptors.WithMetrics(m),
			interceptors.WithDeadline(deadline.WithMinRemaining(10*time.Millisecond)),
			interceptors.WithConcurrency(concurrency.WithLimit(5)))
		refusedAt := func(left time.Duration) bool {
			ctx, cancel := context.WithTimeout(t.Context(), left)
			defer cancel()
			_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
			return status.Code(err) == codes.DeadlineExceeded
		}
		tests := []struct {
			name string
			opts []interceptors.ServerOption
			want []string
		}{
			{"invalid limit beside a valid deadline", []interceptors.ServerOption{
				interceptors.WithDeadline(deadline.WithMinRemaining(50 * time.Millisecond)),
				interceptors.WithConcurrency(concurrency.WithLimit(0))}, []string{"WithConcurrency", "WithLimit(0)"}},
			{"a component the chain lacks", []interceptors.ServerOption{
				interceptors.WithDeadline(deadline.WithMinRemaining(50 * time.Millisecond)),
				interceptors.WithCircuitBreaker()}, []string{"WithCircuitBreaker: the chain was built without it"}},
			{"a fixed option", []interceptors.ServerOption{
				interceptors.WithDeadline(deadline.WithMinRemaining(50 * time.Millisecond)),
				interceptors.WithLogger(quiet)}, []string{"WithLogger cannot change"}},
			{"exemptions", []interceptors.ServerOption{
				interceptors.WithDeadline(deadline.WithMinRemaining(50 * time.Millisecond)),
				interceptors.WithExempt("pkg.Svc")}, []string{"WithExempt cannot change"}},
			{"a nil option", []interceptors.ServerOption{
				interceptors.WithDeadline(deadline.WithMinRemaining(50 * time.Millisecond)), nil}, []string{"nil ServerOption"}},
		}
		for i, tc := range tests {
			err := chain.Reconfigure(tc.opts...)
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("%s: Reconfigure = %v; want an error with %q", tc.name, err, w)
				}
			}
			if !refusedAt(10*time.Millisecond) || refusedAt(10*time.Millisecond+time.Microsecond) {
				t.Errorf("%s: the deadline's minimum changed", tc.name)
			}
			if st := chain.Limiter().Stats(); st.Limit != 5 {
				t.Errorf("%s: limit = %d; want 5 kept", tc.name, st.Limit)
			}
			if got := reloads(t, m, "error"); got != float64(i+1) {
				t.Errorf("%s: config reloads error = %v; want %d", tc.name, got, i+1)
			}
		}
		if got := reloads(t, m, "ok"); got != 0 {
			t.Errorf("config reloads ok = %v; want 0", got)
		}
		if n := strings.Count(logs.String(), `level=WARN msg="bulwark: configuration refused; nothing changed" side=server`); n != len(tests) {
			t.Errorf("%d refusals logged; want %d:\n%s", n, len(tests), logs.String())
		}
		// A valid one applies, at its exact boundary.
		if err := chain.Reconfigure(interceptors.WithDeadline(deadline.WithMinRemaining(50 * time.Millisecond))); err != nil {
			t.Fatal(err)
		}
		if !refusedAt(50*time.Millisecond) || refusedAt(50*time.Millisecond+time.Microsecond) {
			t.Error("the new minimum of 50ms does not decide")
		}
	})
}

// Concurrent reconfigurations, racing with calls, leave one of them whole:
// the limit and the deadline's minimum come from the same call.
func TestConcurrentReconfigureLeavesOneConsistentConfig(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		env, chain := server(t, &grpctest.Service{},
			interceptors.WithDeadline(deadline.WithMinRemaining(time.Millisecond)),
			interceptors.WithConcurrency(concurrency.WithLimit(1000)))
		var wg sync.WaitGroup
		for k := 1; k <= 8; k++ {
			wg.Go(func() {
				for range 20 {
					if err := chain.Reconfigure(
						interceptors.WithDeadline(deadline.WithMinRemaining(time.Duration(k)*10*time.Millisecond)),
						interceptors.WithConcurrency(concurrency.WithLimit(100*k))); err != nil {
						t.Error(err)
					}
				}
			})
			wg.Go(func() {
				for range 20 {
					_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
				}
			})
		}
		wg.Wait()
		k := chain.Limiter().Stats().Limit / 100
		if k < 1 || k > 8 || chain.Limiter().Stats().Limit != 100*k {
			t.Fatalf("limit = %d; want one of the values given", chain.Limiter().Stats().Limit)
		}
		minimum := time.Duration(k) * 10 * time.Millisecond
		at := func(left time.Duration) error {
			ctx, cancel := context.WithTimeout(t.Context(), left)
			defer cancel()
			_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
			return err
		}
		if status.Code(at(minimum)) != codes.DeadlineExceeded || at(minimum+time.Microsecond) != nil {
			t.Fatalf("limit %d comes with a minimum of %v, but that minimum does not decide", 100*k, minimum)
		}
	})
}

// Retry attempts change on the next call; the retry budget is kept.
func TestReconfigureRetryAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := &grpctest.Service{UnaryFunc: unavailable}
		env, chain := client(t, svc, interceptors.WithRetry(retry.WithMaxAttempts(3), retry.WithBackoff(time.Millisecond, 1, time.Millisecond)))
		attempts := func() int64 {
			before := svc.Calls("Unary")
			_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
			return svc.Calls("Unary") - before
		}
		if n := attempts(); n != 3 {
			t.Fatalf("%d attempts; want 3", n)
		}
		if err := chain.Reconfigure(interceptors.WithRetry(retry.WithMaxAttempts(5), retry.WithBackoff(time.Millisecond, 1, time.Millisecond))); err != nil {
			t.Fatal(err)
		}
		if n := attempts(); n != 5 {
			t.Fatalf("%d attempts after the change; want 5", n)
		}
		err := chain.Reconfigure(interceptors.WithRetry(retry.WithMaxAttempts(0)))
		if err == nil || !strings.Contains(err.Error(), "WithMaxAttempts(0)") {
			t.Fatalf("Reconfigure(WithMaxAttempts(0)) = %v; want an error naming it", err)
		}
		if n := attempts(); n != 5 {
			t.Fatalf("%d attempts after a refused change; want 5", n)
		}
		// 7 attempts need the cap raised; the cap can be raised live.
		err = chain.Reconfigure(interceptors.WithRetry(retry.WithMaxAttempts(7)))
		if err == nil || !strings.Contains(err.Error(), "WithMaxAttempts(7): above the attempts cap of 5") {
			t.Fatalf("Reconfigure(WithMaxAttempts(7)) = %v; want the cap's error", err)
		}
		backoff := retry.WithBackoff(time.Millisecond, 1, time.Millisecond)
		if err := chain.Reconfigure(interceptors.WithRetry(retry.WithMaxAttempts(7), retry.WithAttemptsCap(7), backoff)); err != nil {
			t.Fatal(err)
		}
		if n := attempts(); n != 7 {
			t.Fatalf("%d attempts after raising the cap; want 7", n)
		}
		// Lowering the cap under an option that needs it is refused.
		if err := chain.Reconfigure(interceptors.WithRetry(retry.WithMaxAttempts(7), backoff)); err == nil {
			t.Fatal("Reconfigure back to the default cap with WithMaxAttempts(7) succeeded; want the cap's error")
		}
		if n := attempts(); n != 7 {
			t.Fatalf("%d attempts after a refused change; want 7", n)
		}
	})
}

func ExampleServerChain_Reconfigure() {
	chain, err := interceptors.NewServerChain(interceptors.WithConcurrency(concurrency.WithLimit(100)))
	if err != nil {
		panic(err)
	}
	defer chain.Close()
	// During an incident: shed more.
	if err := chain.Reconfigure(interceptors.WithConcurrency(concurrency.WithLimit(20))); err != nil {
		fmt.Println(err)
	}
	fmt.Println("limit:", chain.Limiter().Stats().Limit)
	// A component the chain was built without is refused; nothing changes.
	fmt.Println(chain.Reconfigure(interceptors.WithCircuitBreaker()))
	// Output:
	// limit: 20
	// interceptors: Reconfigure: WithCircuitBreaker: the chain was built without it; its components are chosen when it is made
}
