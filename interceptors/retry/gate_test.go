package retry_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// errRefused is how a breaker inside the Retrier refuses an attempt.
var errRefused = fmt.Errorf("circuit open: %w", outcome.ErrLocalReject)

// gate is a WithCircuitGate function whose answer the test sets.
type gate struct{ open atomic.Int64 }

func (g *gate) openFor(target, method string) time.Duration { return time.Duration(g.open.Load()) }

// TestCircuitGate: a retry whose delay ends before the breaker would let
// it through is not made: the call ends at once with the server's error,
// without spending budget; one whose delay outlasts the open time is made.
func TestCircuitGate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		open     time.Duration
		attempts int
		reason   string
	}{
		{name: "open for longer than the delay", open: time.Second, attempts: 1, reason: "circuit_open"},
		{name: "open for less than the delay", open: 50 * time.Millisecond, attempts: 3, reason: "max_attempts"},
		{name: "closed", open: 0, attempts: 3, reason: "max_attempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := &gate{}
				g.open.Store(int64(tc.open))
				rec := newAttempts()
				svc := &grpctest.Service{UnaryFunc: failing(rec, 5, status.Error(codes.Unavailable, "down"))}
				obs := &events{}
				env, _ := start(t, svc, setup{retry: []retry.Option{noJitter, retry.WithCircuitGate(g.openFor), retry.WithObserver(obs.observer())}})
				begin := time.Now()
				_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
				if status.Code(err) != codes.Unavailable || status.Convert(err).Message() != "down" {
					t.Errorf("err = %v; want the server's", err)
				}
				retries, _, ends := obs.snapshot()
				if rec.count() != tc.attempts || len(ends) != 1 || ends[0].Reason != tc.reason || len(retries) != tc.attempts-1 {
					t.Errorf("%d attempts, %d retries, end %+v; want %d attempts and %v", rec.count(), len(retries), ends, tc.attempts, tc.reason)
				}
				if tc.attempts == 1 && time.Since(begin) != 0 {
					t.Errorf("the call took %v; want it to end at once", time.Since(begin))
				}
			})
		})
	}
}

// TestHedgingCircuitGate: while the breaker is open no hedge is sent; a
// hedge the breaker refuses does not end the call while an attempt is
// still out: that attempt's answer is the call's.
func TestHedgingCircuitGate(t *testing.T) {
	t.Run("no hedge while open", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			g := &gate{}
			g.open.Store(int64(time.Minute))
			rep := &replicas{rec: newAttempts(), behave: slowUpTo(1)}
			env, _ := start(t, &grpctest.Service{UnaryFunc: rep.unary}, setup{retry: []retry.Option{
				retry.WithHedging(50*time.Millisecond, 3), retry.WithCircuitGate(g.openFor)}})
			begin := time.Now()
			resp, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
			if err != nil || resp.GetText() != "attempt 1" || rep.rec.count() != 1 || time.Since(begin) != time.Second {
				t.Errorf("%q, %v after %v with %d attempts; want attempt 1's answer after 1s, and no hedge", resp.GetText(), err, time.Since(begin), rep.rec.count())
			}
		})
	})
	t.Run("refused hedge", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rep := &replicas{rec: newAttempts(), behave: slowUpTo(1)}
			// Inside the Retrier, a breaker that refuses every attempt after
			// the first, as a half-open breaker with its probe taken does.
			var seen atomic.Int64
			refuse := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
				if seen.Add(1) > 1 {
					return errRefused
				}
				return invoker(ctx, method, req, reply, cc, opts...)
			}
			env, _ := start(t, &grpctest.Service{UnaryFunc: rep.unary}, setup{
				retry: []retry.Option{retry.WithHedging(50*time.Millisecond, 3)},
				inner: []grpc.UnaryClientInterceptor{refuse}})
			begin := time.Now()
			resp, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
			if err != nil || resp.GetText() != "attempt 1" || time.Since(begin) != time.Second || seen.Load() != 2 {
				t.Errorf("%q, %v after %v, %d attempts tried; want attempt 1's answer after 1s, and one refused hedge", resp.GetText(), err, time.Since(begin), seen.Load())
			}
			if errors.Is(err, outcome.ErrLocalReject) {
				t.Errorf("the refused hedge ended the call")
			}
		})
	})
}
