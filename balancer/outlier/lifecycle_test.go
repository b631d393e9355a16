package outlier_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/balancer/outlier"
	"github.com/bulwarkrpc/bulwark/internal/endpoint"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// An ejected replica returns after its ejection time; still bad, it is
// ejected again for twice as long.
func TestReturnAndLongerReejection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 3, 0, `{"interval":"1s","baseEjectionTime":"10s","maxEjectionTime":"100s"}`)
		bad := c.backends[0]
		bad.set(unavailable)
		c.runUntil(t, bad, 5)
		if got := c.ejected(t); got != 1 {
			t.Fatalf("not ejected: gauge %v", got)
		}
		step := func(d time.Duration) {
			time.Sleep(d)
			synctest.Wait()
		}
		step(9500 * time.Millisecond) // t=9.5s: 10s not yet over
		if got := c.ejected(t); got != 1 {
			t.Fatalf("t=9.5s: returned before its 10s: gauge %v", got)
		}
		step(time.Second) // t=10.5s: back at the tick of t=10s
		if got := c.ejected(t); got != 0 {
			t.Fatalf("t=10.5s: not back after 10s: gauge %v", got)
		}
		// Still bad, and ejected again before the next tick lowers its
		// multiplier.
		before := bad.calls.Load()
		c.run(t, 30)
		if got := bad.calls.Load() - before; got != 5 {
			t.Fatalf("the returned replica got %d calls before its second ejection, want 5", got)
		}
		if got := c.ejections(t, "consecutive_failures"); got != 2 {
			t.Fatalf("ejections = %v, want 2", got)
		}
		step(19700 * time.Millisecond) // t=30.2s: 19.7s into a 20s ejection
		if got := c.ejected(t); got != 1 {
			t.Fatalf("t=30.2s: the second ejection did not last twice as long: gauge %v", got)
		}
		step(1300 * time.Millisecond) // t=31.5s: back at the tick of t=31s
		if got := c.ejected(t); got != 0 {
			t.Fatalf("t=31.5s: not back after 20s: gauge %v", got)
		}
		if got := metricValue(t, c.metrics, "bulwark_outlier_unejections_total", nil); got != 2 {
			t.Fatalf("unejections = %v, want 2", got)
		}
	})
}

// The caller's mistakes prove the replica healthy: no rule ejects it.
func TestInvalidArgumentNeverEjects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 3, 0, `{"interval":"1s","maxEjectionPercent":100,
			"successRateEjection":{"stdevFactor":100,"minimumHosts":3,"requestVolume":10},
			"failurePercentageEjection":{"threshold":1,"enforcementPercentage":100,"minimumHosts":3,"requestVolume":10}}`)
		c.backends[0].set(func(context.Context, int64) error { return status.Error(codes.InvalidArgument, "bad name") })
		c.backends[1].set(func(_ context.Context, n int64) error {
			if n%2 == 0 {
				return status.Error(codes.NotFound, "no such user")
			}
			return nil
		})
		for range 3 {
			c.run(t, 300)
			time.Sleep(time.Second)
			synctest.Wait()
		}
		if got := c.ejected(t); got != 0 {
			t.Fatalf("ejected gauge = %v, want 0", got)
		}
		if got := c.calls()[0]; got < 250 {
			t.Fatalf("the replica answering INVALID_ARGUMENT got %d of 900 calls", got)
		}
	})
}

// The success-rate rule ejects the replica far below the others.
func TestSuccessRateEjects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 5, 0, `{"interval":"1s","consecutiveFailures":0,
			"successRateEjection":{"stdevFactor":1000,"minimumHosts":5,"requestVolume":20}}`)
		c.backends[3].set(func(_ context.Context, n int64) error {
			if n%2 == 0 {
				return status.Error(codes.Internal, "bug")
			}
			return nil
		})
		c.run(t, 250)
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		if got := c.ejections(t, "success_rate"); got != 1 {
			t.Fatalf("success_rate ejections = %v, want 1", got)
		}
		before := c.calls()[3]
		c.run(t, 100)
		if got := c.calls()[3] - before; got != 0 {
			t.Fatalf("the ejected replica got %d calls", got)
		}
	})
}

// Resolver updates keep the state of the endpoints that remain: an ejected
// one stays ejected, a new one serves.
func TestResolverUpdateKeepsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 4, 3, `{"baseEjectionTime":"300s","maxEjectionPercent":50}`)
		b := c.backends
		b[0].set(unavailable)
		c.runUntil(t, b[0], 5)
		if got := c.ejected(t); got != 1 {
			t.Fatalf("not ejected: gauge %v", got)
		}
		// Drop backend 2, add backend 3.
		c.res.UpdateState(c.state(b[0], b[1], b[3]))
		synctest.Wait()
		before := c.calls()
		if failed := c.run(t, 200); failed != 0 {
			t.Fatalf("%d calls failed after the update", failed)
		}
		after := c.calls()
		if d := after[0] - before[0]; d != 0 {
			t.Errorf("the ejected replica got %d calls after the update", d)
		}
		if d := after[2] - before[2]; d != 0 {
			t.Errorf("the removed replica got %d calls", d)
		}
		if d := after[3] - before[3]; d < 80 {
			t.Errorf("the new replica got %d of 200 calls", d)
		}
		if got := c.ejected(t); got != 1 {
			t.Errorf("ejected gauge = %v after the update, want 1", got)
		}
		if got := metricValue(t, c.metrics, "bulwark_outlier_endpoints", nil); got != 3 {
			t.Errorf("endpoints gauge = %v, want 3", got)
		}
		// Removing the ejected endpoint forgets its ejection.
		c.res.UpdateState(c.state(b[1], b[3]))
		synctest.Wait()
		if got := c.ejected(t); got != 0 {
			t.Errorf("ejected gauge = %v after its endpoint left, want 0", got)
		}
	})
}

// A call's next attempt avoids the endpoint of its previous one.
func TestAttemptsAvoidPreviousEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 2, 0, `{}`)
		c.run(t, 10) // both connected
		ctx, slot := endpoint.WithSlot(t.Context())
		var prev string
		for i := range 20 {
			resp, err := c.client.Unary(ctx, &testpb.UnaryRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetText() == prev {
				t.Fatalf("attempt %d went to %s again", i, prev)
			}
			if slot.Last() == nil || slot.Last().Addr != resp.GetText() {
				t.Fatalf("slot says %v, the attempt went to %s", slot.Last(), resp.GetText())
			}
			prev = resp.GetText()
			// A call without a slot moves round_robin on: without avoidance,
			// the next attempt would go back to prev.
			if _, err := c.client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// Each ejection is logged once, with the address and the rule.
func TestLogger(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var buf bytes.Buffer
		l := slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{
			ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			},
		}))
		c := startCluster(t, 3, 0, `{"baseEjectionTime":"30s"}`, outlier.WithLogger(l))
		c.backends[2].set(unavailable)
		c.runUntil(t, c.backends[2], 5)
		c.run(t, 30)
		mu.Lock()
		got := buf.String()
		mu.Unlock()
		want := `level=WARN msg="outlier: endpoint ejected" target=outliertest:///svc address=backend-2 reason=consecutive_failures ejection_time=30s` + "\n"
		if got != want {
			t.Fatalf("log:\n%s\nwant:\n%s", got, want)
		}
		if strings.Count(got, "\n") != 1 {
			t.Fatalf("want one record, got %q", got)
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// The other children work under the policy.
func TestChildPolicies(t *testing.T) {
	for _, tc := range []struct {
		child       string
		backendsHit int
	}{
		{`[{"pick_first":{}}]`, 1},
		{`[{"round_robin":{}}]`, 3},
		{`[{"weighted_round_robin":{}}]`, 3},
	} {
		t.Run(tc.child, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := startCluster(t, 3, 1, `{"childPolicy":`+tc.child+`}`)
				c.res.UpdateState(c.state(c.backends...))
				synctest.Wait()
				if failed := c.run(t, 60); failed != 0 {
					t.Fatalf("%d calls failed", failed)
				}
				hit := 0
				for _, n := range c.calls() {
					if n > 0 {
						hit++
					}
				}
				if hit != tc.backendsHit {
					t.Fatalf("calls %v reach %d backends, want %d", c.calls(), hit, tc.backendsHit)
				}
			})
		})
	}
}

// A new configuration from the resolver keeps the endpoints' state, even
// when the child policy changes.
func TestConfigUpdateKeepsState(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 3, 0, `{"baseEjectionTime":"300s"}`)
		c.backends[0].set(unavailable)
		c.runUntil(t, c.backends[0], 5)
		if got := c.ejected(t); got != 1 {
			t.Fatalf("not ejected: %v", got)
		}
		s := c.state(c.backends...)
		s.ServiceConfig = c.res.CC().ParseServiceConfig(`{"loadBalancingConfig":[{"` + testPolicy + `":
			{"interval":"2s","baseEjectionTime":"300s","childPolicy":[{"weighted_round_robin":{}}]}}]}`)
		if s.ServiceConfig.Err != nil {
			t.Fatal(s.ServiceConfig.Err)
		}
		c.res.UpdateState(s)
		synctest.Wait()
		before := c.calls()[0]
		if failed := c.run(t, 100); failed != 0 {
			t.Fatalf("%d calls failed after the update", failed)
		}
		if got := c.calls()[0] - before; got != 0 {
			t.Fatalf("the ejected replica got %d calls under the new child", got)
		}
		if got := c.ejected(t); got != 1 {
			t.Fatalf("ejected gauge = %v, want 1", got)
		}
	})
}

// A configuration without any rule returns every ejected endpoint.
func TestConfigWithoutRulesReturnsAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := startCluster(t, 3, 0, `{"baseEjectionTime":"300s"}`)
		c.backends[0].set(unavailable)
		c.runUntil(t, c.backends[0], 5)
		if got := c.ejected(t); got != 1 {
			t.Fatalf("not ejected: %v", got)
		}
		c.backends[0].set(func(context.Context, int64) error { return nil })
		s := c.state(c.backends...)
		s.ServiceConfig = c.res.CC().ParseServiceConfig(`{"loadBalancingConfig":[{"` + testPolicy + `":{"consecutiveFailures":0}}]}`)
		c.res.UpdateState(s)
		synctest.Wait()
		if got := c.ejected(t); got != 0 {
			t.Fatalf("ejected gauge = %v, want 0", got)
		}
		before := c.calls()[0]
		c.run(t, 30)
		if got := c.calls()[0] - before; got < 5 {
			t.Fatalf("the returned replica got %d of 30 calls", got)
		}
	})
}
