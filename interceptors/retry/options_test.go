package retry_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"

	"github.com/bulwarkrpc/bulwark/interceptors/retry"
)

func TestNewRefusesInvalidOptions(t *testing.T) {
	tests := []struct {
		opt  retry.Option
		want string
	}{
		{retry.WithMaxAttempts(0), "retry: WithMaxAttempts(0): must be at least 1"},
		{retry.WithMaxAttempts(6), "retry: WithMaxAttempts(6): above the attempts cap of 5 (WithAttemptsCap raises it)"},
		{retry.WithMaxAttempts(11), "retry: WithMaxAttempts(11): must be at most 10, the highest attempts cap (WithAttemptsCap)"},
		{retry.WithAttemptsCap(4), "retry: WithAttemptsCap(4): must be from 5 to 10"},
		{retry.WithAttemptsCap(11), "retry: WithAttemptsCap(11): must be from 5 to 10"},
		{retry.WithBackoff(-time.Second, 2, time.Second), "retry: WithBackoff(-1s, 2, 1s): initial must not be negative"},
		{retry.WithBackoff(time.Second, 0.5, time.Second), "retry: WithBackoff(1s, 0.5, 1s): multiplier must be a finite number of at least 1"},
		{retry.WithBackoff(time.Second, math.NaN(), time.Second), "multiplier must be a finite number of at least 1"},
		{retry.WithBackoff(time.Second, 2, time.Millisecond), "retry: WithBackoff(1s, 2, 1ms): maximum must be at least initial"},
		{retry.WithJitter(1.5), "retry: WithJitter(1.5): fraction must be between 0 and 1"},
		{retry.WithPerAttemptTimeout(-1), "retry: WithPerAttemptTimeout(-1ns): must not be negative"},
		{retry.WithMaxServerDelay(0), "retry: WithMaxServerDelay(0s): must be positive"},
		{retry.WithMinAttemptTime(-time.Millisecond), "retry: WithMinAttemptTime(-1ms): must not be negative"},
		{retry.WithBufferLimit(-1), "retry: WithBufferLimit(-1): must not be negative"},
		{retry.WithHedging(-time.Millisecond, 3), "retry: WithHedging(-1ms, 3): delay must not be negative"},
		{retry.WithHedging(time.Millisecond, 0), "retry: WithHedging(1ms, 0): maxAttempts must be at least 1"},
		{retry.WithHedging(time.Millisecond, 6), "retry: WithHedging(1ms, 6): above the attempts cap of 5 (WithAttemptsCap raises it)"},
		{retry.WithHedging(time.Millisecond, 11), "retry: WithHedging(1ms, 11): maxAttempts must be at most 10"},
		{retry.WithClassifier(nil), "retry: WithClassifier(nil): the classifier must not be nil"},
		{retry.WithCircuitGate(nil), "retry: WithCircuitGate(nil): the function must not be nil"},
		{retry.WithTargetBufferLimit(-1), "retry: WithTargetBufferLimit(-1): must not be negative"},
		{retry.WithBudget(-0.1, 10, time.Second), "retry: WithBudget(-0.1, 10, 1s): ratio must be a finite number of at least 0"},
		{retry.WithBudget(0.2, math.Inf(1), time.Second), "perSecond must be a finite number of at least 0"},
		{retry.WithBudget(0.2, 10, time.Millisecond), "retry: WithBudget(0.2, 10, 1ms): window must be at least 10ms"},
		{retry.WithTokenBucket(0, 0.1), "retry: WithTokenBucket(0, 0.1): maxTokens must be in (0, 1000]"},
		{retry.WithTokenBucket(10, 0), "retry: WithTokenBucket(10, 0): tokenRatio must be in (0, 1000]"},
		{retry.WithTokenBucket(10, 1000.001), "retry: WithTokenBucket(10, 1000.001): tokenRatio must be in (0, 1000]"},
		{retry.WithTokenBucket(10, math.NaN()), "tokenRatio must be in (0, 1000]"},
		{retry.WithMethodPolicy("Unary", retry.WithSafeToRetry(true)), `retry: WithMethodPolicy("Unary"): must be a full method name, "/package.Service/Method"`},
		{retry.WithMethodPolicy("/pkg.Svc/M", retry.WithMaxAttempts(7)), `retry: WithMethodPolicy("/pkg.Svc/M"): WithMaxAttempts(7): above the attempts cap of 5`},
		{retry.WithMethodPolicy("/pkg.Svc/M", retry.CallOption{}), "retry: zero CallOption"},
		{retry.WithFirstAttemptTrailer(9), "retry: WithFirstAttemptTrailer(9): unknown mode"},
		{retry.CallOption{}, "retry: zero CallOption"},
		{nil, "retry: New: nil Option"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			r, err := retry.New(tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, %v; want an error containing %q", r, err, tc.want)
			}
		})
	}
}

func TestNewAcceptsValidOptions(t *testing.T) {
	_, err := retry.New(
		retry.WithMaxAttempts(5), retry.WithMaxAttempts(1),
		retry.WithBackoff(0, 1, 0), retry.WithBackoff(50*time.Millisecond, 1.5, 2*time.Second),
		retry.WithJitter(0), retry.WithJitter(1),
		retry.WithPerAttemptTimeout(0), retry.WithMaxServerDelay(time.Second), retry.WithMinAttemptTime(0),
		retry.WithBufferLimit(0), retry.WithSafeToRetry(true), retry.WithHedging(0, 5), retry.WithHedging(0, 1),
		retry.WithBudget(0, 0, 10*time.Millisecond), retry.WithTokenBucket(1000, 0.001), retry.WithBudget(math.Inf(1), 0, 0),
		retry.WithMethodPolicy("/pkg.Svc/A", retry.WithSafeToRetry(true)), retry.WithMethodPolicy("/pkg.Svc/B", retry.WithSafeToRetry(true)), retry.WithMethodPolicy("/pkg.Svc/C"),
		retry.WithFirstAttemptTrailer(retry.TrailerNever), retry.WithServiceConfigCheck(false),
	)
	if err != nil {
		t.Fatal(err)
	}
}

func TestWithRandSourceMakesJitterReproducible(t *testing.T) {
	if _, err := retry.New(retry.WithRandSource(nil)); err == nil || !strings.Contains(err.Error(), "WithRandSource(nil)") {
		t.Errorf("New(WithRandSource(nil)) = %v; want an error naming the option", err)
	}
	delays := func() []time.Duration {
		var got []time.Duration
		synctest.Test(t, func(t *testing.T) {
			rec := &delayRecorder{}
			svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
				return nil, status.Error(codes.Unavailable, "down")
			}}
			env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithRandSource(rand.NewPCG(1, 2)), retry.WithObserver(retry.Observer{OnRetry: rec.OnRetry}), retry.WithBudget(math.Inf(1), 0, 0)}})
			for range 3 {
				_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
			}
			got = rec.delays
		})
		return got
	}
	a, b := delays(), delays()
	if len(a) != 6 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("delays %v then %v; want the same six jittered delays", a, b)
	}
	if a[0] == 100*time.Millisecond && a[2] == 100*time.Millisecond {
		t.Errorf("delays %v are not jittered", a)
	}
}

type delayRecorder struct {
	delays []time.Duration
}

func (d *delayRecorder) OnRetry(_ context.Context, e retry.RetryEvent) {
	d.delays = append(d.delays, e.Delay)
}

// TestMethodNames: options that name a method take exactly the names
// internal/method accepts, as every package's options do.
func TestMethodNames(t *testing.T) {
	for _, name := range []string{"//x/y", "//y", "/x/", "/a/b/C", "x/y", "/x"} {
		if _, err := retry.New(retry.WithMethodPolicy(name)); err == nil || !strings.Contains(err.Error(), "must be a full method name") {
			t.Errorf("WithMethodPolicy(%q): New = %v; want the name refused", name, err)
		}
	}
	if _, err := retry.New(retry.WithMethodPolicy("/x/y")); err != nil {
		t.Errorf("WithMethodPolicy(\"/x/y\"): New = %v", err)
	}
}
