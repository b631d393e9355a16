package outlier_test

import (
	"context"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/internal/attempt"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

func unavailable(context.Context, int64) error { return status.Error(codes.Unavailable, "down") }

// A replica that fails every call leaves after exactly consecutiveFailures
// failed calls; the others serve the rest.
func TestAlwaysFailingReplicaEjectedWithinFiveCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 3, 0, `{"baseEjectionTime":"300s"}`)
		c.backends[1].set(unavailable)
		const calls = 1000
		failed := c.run(t, calls)
		if got := c.backends[1].calls.Load(); got != 5 {
			t.Errorf("the bad replica got %d calls, want 5 (the consecutive-failure limit)", got)
		}
		if failed > 5 {
			t.Errorf("%d calls failed, want at most 5", failed)
		}
		if rate := float64(calls-failed) / calls; rate < 0.995 {
			t.Errorf("success rate %.4f < 0.995", rate)
		}
		if got := c.ejected(t); got != 1 {
			t.Errorf("ejected gauge = %v, want 1", got)
		}
		if got := c.ejections(t, "consecutive_failures"); got != 1 {
			t.Errorf("consecutive_failures ejections = %v, want 1", got)
		}
	})
}

// One call fewer than the limit does not eject.
func TestConsecutiveFailuresBoundary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 3, 0, `{"consecutiveFailures":4}`)
		// The bad replica fails its first three calls, then succeeds once,
		// then fails again: never four in a row until call 8.
		c.backends[0].set(func(_ context.Context, n int64) error {
			if n == 3 {
				return nil
			}
			return status.Error(codes.Internal, "bug")
		})
		c.runUntil(t, c.backends[0], 7) // calls 0..6: 3 failures, a success, 3 failures
		if got := c.ejected(t); got != 0 {
			t.Fatalf("ejected after 3 consecutive failures with a limit of 4: gauge %v", got)
		}
		c.runUntil(t, c.backends[0], 8) // its 4th failure in a row
		if got := c.ejected(t); got != 1 {
			t.Fatalf("not ejected after 4 consecutive failures: gauge %v", got)
		}
	})
}

// A replica that fails 30% of its calls is ejected by the failure
// percentage rule at the end of the first interval.
func TestFailurePercentageEjectsWithinOneInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 3, 0, `{"interval":"1s","consecutiveFailures":0,"maxEjectionPercent":50,
			"failurePercentageEjection":{"threshold":25,"enforcementPercentage":100,"minimumHosts":3,"requestVolume":50}}`)
		c.backends[2].set(func(_ context.Context, n int64) error {
			if n%10 < 3 {
				return status.Error(codes.Unavailable, "flaky")
			}
			return nil
		})
		c.run(t, 300)
		if got := c.ejected(t); got != 0 {
			t.Fatalf("ejected before the interval ended: %v", got)
		}
		time.Sleep(1500 * time.Millisecond) // one interval of the bubble's clock
		synctest.Wait()
		if got := c.ejections(t, "failure_percentage"); got != 1 {
			t.Fatalf("failure_percentage ejections = %v, want 1", got)
		}
		before := c.calls()
		if failed := c.run(t, 300); failed != 0 {
			t.Errorf("%d calls failed after the ejection", failed)
		}
		if after := c.calls(); after[2] != before[2] {
			t.Errorf("the ejected replica got %d more calls", after[2]-before[2])
		}
	})
}

// A replica whose threshold is exactly its failure percentage stays: the
// rule ejects above the threshold.
func TestFailurePercentageThresholdIsExclusive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 3, 0, `{"interval":"1s","consecutiveFailures":0,"maxEjectionPercent":50,
			"failurePercentageEjection":{"threshold":30,"enforcementPercentage":100,"minimumHosts":3,"requestVolume":50}}`)
		c.backends[2].set(func(_ context.Context, n int64) error {
			if n%10 < 3 {
				return status.Error(codes.Unavailable, "flaky")
			}
			return nil
		})
		c.runUntil(t, c.backends[2], 100) // exactly 30 failures in 100
		for _, b := range c.backends[:2] {
			c.runUntil(t, b, 50) // enough volume for minimumHosts
		}
		if got := c.backends[2].calls.Load(); got != 100 {
			t.Fatalf("backend 2 got %d calls; the test needs exactly 100", got)
		}
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if got := c.ejected(t); got != 0 {
			t.Fatalf("ejected at exactly the threshold: gauge %v", got)
		}
	})
}

// A replica slower than the per-attempt timeout fails with
// DEADLINE_EXCEEDED, which counts against it.
func TestSlowReplicaEjected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 3, 0, `{}`)
		c.backends[0].set(func(ctx context.Context, _ int64) error {
			select {
			case <-ctx.Done():
				return status.FromContextError(ctx.Err()).Err()
			case <-time.After(time.Hour):
				return nil
			}
		})
		failed := 0
		for range 300 {
			ctx, cancel := attempt.WithTimeout(t.Context(), 100*time.Millisecond)
			_, err := c.client.Unary(ctx, &testpb.UnaryRequest{})
			cancel()
			if err != nil {
				if status.Code(err) != codes.DeadlineExceeded {
					t.Fatalf("err = %v, want DEADLINE_EXCEEDED", err)
				}
				failed++
			}
		}
		if failed != 5 {
			t.Errorf("%d calls timed out, want 5", failed)
		}
		if got := c.ejected(t); got != 1 {
			t.Errorf("ejected gauge = %v, want 1", got)
		}
	})
}

// The caller's own deadline passing on a slow replica is not the replica's
// failure.
func TestCallerDeadlineDoesNotEject(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 3, 0, `{}`)
		c.backends[0].set(func(ctx context.Context, _ int64) error {
			<-ctx.Done()
			return status.FromContextError(ctx.Err()).Err()
		})
		for range 30 {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			_, _ = c.client.Unary(ctx, &testpb.UnaryRequest{})
			cancel()
		}
		if got := c.ejected(t); got != 0 {
			t.Errorf("ejected gauge = %v, want 0", got)
		}
	})
}

// Never more than maxEjectionPercent of the endpoints, and never all.
func TestMaxEjectionPercent(t *testing.T) {
	for _, tc := range []struct {
		name          string
		backends, bad int
		percent       int
		wantEjected   float64
	}{
		{"half of four", 4, 3, 50, 2},
		{"a quarter of four: one, as 1/4 reaches 25%", 4, 3, 25, 1},
		{"just over a quarter of four: two", 4, 3, 26, 2},
		{"all of three: one kept", 3, 3, 100, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := startCluster(t, tc.backends, 0, `{"maxEjectionPercent":`+strconv.Itoa(tc.percent)+`,"baseEjectionTime":"300s"}`)
				for i := range tc.bad {
					c.backends[i].set(unavailable)
				}
				c.run(t, 500)
				if got := c.ejected(t); got != tc.wantEjected {
					t.Errorf("ejected = %v, want %v", got, tc.wantEjected)
				}
			})
		})
	}
}
