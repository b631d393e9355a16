package retry_test

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
	"github.com/bulwarkrpc/bulwark/internal/wire"
)

// replicas answers attempt n of each call as behave(n) says: after a delay,
// with an error or with its attempt number. It counts the attempts that
// were cancelled before they answered.
type replicas struct {
	rec       *attempts
	cancelled atomic.Int64
	behave    func(n int) (time.Duration, error)
}

func (r *replicas) unary(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
	n := r.rec.add(ctx)
	delay, err := r.behave(n)
	if err := grpc.SetHeader(ctx, metadata.Pairs("attempt", strconv.Itoa(n))); err != nil {
		return nil, err
	}
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		r.cancelled.Add(1)
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, err
	}
	return &testpb.UnaryResponse{Text: "attempt " + strconv.Itoa(n)}, nil
}

// slowUpTo makes attempts 1 to k answer after a second, the others at once.
func slowUpTo(k int) func(n int) (time.Duration, error) {
	return func(n int) (time.Duration, error) {
		if n <= k {
			return time.Second, nil
		}
		return 0, nil
	}
}

func TestHedging(t *testing.T) {
	internal := status.Error(codes.Internal, "broken")
	tests := []struct {
		name      string
		behave    func(n int) (time.Duration, error)
		latency   time.Duration
		text      string
		code      codes.Code
		attempts  int
		cancelled int64
		reason    string
	}{
		{
			name:    "slow first replica: the hedge wins at 50ms",
			behave:  slowUpTo(1),
			latency: 50 * time.Millisecond, text: "attempt 2", code: codes.OK, attempts: 2, cancelled: 1, reason: "succeeded",
		},
		{
			name:    "two slow replicas: the third wins at 100ms",
			behave:  slowUpTo(2),
			latency: 100 * time.Millisecond, text: "attempt 3", code: codes.OK, attempts: 3, cancelled: 2, reason: "succeeded",
		},
		{
			name: "retryable failure sends the next attempt at once",
			behave: func(n int) (time.Duration, error) {
				if n == 1 {
					return 0, errUnavailable
				}
				return 0, nil
			},
			latency: 0, text: "attempt 2", code: codes.OK, attempts: 2, reason: "succeeded",
		},
		{
			name: "a fatal answer wins and cancels the rest",
			behave: func(n int) (time.Duration, error) {
				if n == 1 {
					return time.Second, nil
				}
				return 0, internal
			},
			latency: 50 * time.Millisecond, code: codes.Internal, attempts: 2, cancelled: 1, reason: "not_retryable",
		},
		{
			name:    "every attempt fails retryably",
			behave:  func(int) (time.Duration, error) { return 10 * time.Millisecond, errUnavailable },
			latency: 30 * time.Millisecond, code: codes.Unavailable, attempts: 3, reason: "max_attempts",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rep := &replicas{rec: newAttempts(), behave: tc.behave}
				svc := &grpctest.Service{UnaryFunc: rep.unary}
				obs := &events{}
				env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithHedging(50*time.Millisecond, 3), retry.WithObserver(obs.observer())}})
				var header metadata.MD
				begin := time.Now()
				resp, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}, grpc.Header(&header))
				if got := time.Since(begin); got != tc.latency {
					t.Errorf("latency %v; want %v", got, tc.latency)
				}
				if status.Code(err) != tc.code || resp.GetText() != tc.text {
					t.Errorf("Unary = %q, %v; want %q, %v", resp.GetText(), err, tc.text, tc.code)
				}
				if tc.code == codes.OK && header.Get("attempt")[0] != tc.text[len("attempt "):] {
					t.Errorf("header from attempt %v; want the winner's", header.Get("attempt"))
				}
				synctest.Wait() // the cancellations reach the server
				if rep.rec.count() != tc.attempts || rep.cancelled.Load() != tc.cancelled {
					t.Errorf("attempts %d, cancelled %d; want %d, %d", rep.rec.count(), rep.cancelled.Load(), tc.attempts, tc.cancelled)
				}
				retries, _, ends := obs.snapshot()
				if len(retries) != tc.attempts-1 {
					t.Errorf("OnRetry %d times; want %d", len(retries), tc.attempts-1)
				}
				if len(ends) != 1 || ends[0].Reason != tc.reason || !ends[0].Hedged || ends[0].Attempts != tc.attempts {
					t.Errorf("OnFinish = %+v; want hedged, %v after %d attempts", ends, tc.reason, tc.attempts)
				}
			})
		})
	}
}

func TestHedgingPushback(t *testing.T) {
	tests := []struct {
		name     string
		pushback string
		latency  time.Duration
		attempts int
		code     codes.Code
	}{
		{"server delay postpones the next hedge", "300", 300 * time.Millisecond, 2, codes.OK},
		{"stop: no more hedges", "-1", time.Second, 1, codes.Unavailable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					if rec.add(ctx) == 1 {
						time.Sleep(time.Second) // answers late, after the hedging delay would have passed
						_ = grpc.SetTrailer(ctx, metadata.Pairs(wire.PushbackTrailer, tc.pushback))
						return nil, errUnavailable
					}
					return &testpb.UnaryResponse{}, nil
				}}
				env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithHedging(2*time.Second, 3)}})
				begin := time.Now()
				_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
				// The first attempt answers at 1s, before the 2s hedging
				// delay; the hedge follows after the server's delay.
				if tc.code == codes.OK {
					tc.latency += time.Second
				}
				if got := time.Since(begin); got != tc.latency || status.Code(err) != tc.code {
					t.Errorf("Unary = %v after %v; want %v after %v", err, got, tc.code, tc.latency)
				}
				if rec.count() != tc.attempts {
					t.Errorf("attempts = %d; want %d", rec.count(), tc.attempts)
				}
			})
		})
	}
}

func TestHedgingOnlySafeMethods(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		svc := &grpctest.Service{UnaryUnsafeFunc: func(ctx context.Context, req *testpb.UnaryUnsafeRequest) (*testpb.UnaryUnsafeResponse, error) {
			rec.add(ctx)
			time.Sleep(time.Second)
			return &testpb.UnaryUnsafeResponse{}, nil
		}}
		env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithHedging(50*time.Millisecond, 3)}})
		begin := time.Now()
		if _, err := env.Client.UnaryUnsafe(t.Context(), &testpb.UnaryUnsafeRequest{}); err != nil {
			t.Fatal(err)
		}
		if time.Since(begin) != time.Second || rec.count() != 1 {
			t.Errorf("latency %v with %d attempts; want 1s and one attempt: UnaryUnsafe is not hedged", time.Since(begin), rec.count())
		}
	})
}

// TestHedgingBudget hedges many slow calls with a budget of 5 retries:
// no more than 5 hedges reach the server, and the calls without one wait
// for the slow replica.
func TestHedgingBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rep := &replicas{rec: newAttempts(), behave: slowUpTo(1)}
		svc := &grpctest.Service{UnaryFunc: rep.unary}
		obs := &events{}
		env, r := start(t, svc, setup{retry: []retry.Option{
			retry.WithHedging(50*time.Millisecond, 3),
			retry.WithBudget(0, 0.05, 100*time.Second), // 5 retries per 100 s, whatever the calls
			retry.WithObserver(obs.observer()),
		}})
		const calls = 20
		fast := 0
		for range calls {
			begin := time.Now()
			if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
				t.Fatal(err)
			}
			if time.Since(begin) == 50*time.Millisecond {
				fast++
			}
		}
		if got := rep.rec.count(); got != calls+5 {
			t.Errorf("attempts that reached the server = %d; want %d calls + 5 hedges", got, calls)
		}
		if fast != 5 {
			t.Errorf("%d calls were cut to 50ms; want 5, as many as the budget allowed", fast)
		}
		if level, ok := retrystate.Of(r).BudgetLevel("passthrough:///bufnet"); !ok || level != 0 {
			t.Errorf("BudgetLevel = %v, %v; want 0, true", level, ok)
		}
		retries, _, ends := obs.snapshot()
		if len(retries) != 5 || len(ends) != calls {
			t.Errorf("%d OnRetry and %d OnFinish events; want 5 and %d", len(retries), len(ends), calls)
		}
	})
}

// TestHedgingBudgetAfterServerDelay: when every attempt has failed with a
// server delay and the budget refuses the attempt that delay was waiting
// for, the hedged call ends at once with the budget's error, as an unhedged
// call does, rather than waiting out the caller's deadline.
func TestHedgingBudgetAfterServerDelay(t *testing.T) {
	for _, hedging := range []bool{false, true} {
		t.Run("hedging="+strconv.FormatBool(hedging), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					return nil, func() *errdetails.ApplicationError {
						e := errdetails.New(errdetails.CodeDatabase, "down")
						e.RetryAfter = 100 * time.Millisecond
						return e
					}()
				}}
				opts := []retry.Option{retry.WithBudget(0, 0, time.Second), retry.WithServiceConfigCheck(false)}
				if hedging {
					opts = append(opts, retry.WithHedging(50*time.Millisecond, 3))
				}
				env, _ := start(t, svc, setup{retry: opts})
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				begin := time.Now()
				_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
				if !errors.Is(err, retry.ErrBudgetExhausted) || status.Code(err) != codes.Unavailable {
					t.Errorf("err = %v; want the budget error with the last attempt's UNAVAILABLE", err)
				}
				if took := time.Since(begin); took > 100*time.Millisecond {
					t.Errorf("the call took %v; want it to end once the budget refused the next attempt", took)
				}
			})
		})
	}
}

// TestHedgingDeadline: a server delay that does not fit in the deadline
// ends the hedged call at once with the last error.
func TestHedgingDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			rec.add(ctx)
			_ = grpc.SetTrailer(ctx, metadata.Pairs(wire.PushbackTrailer, "2000"))
			return nil, errUnavailable
		}}
		env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithHedging(50*time.Millisecond, 3)}})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		begin := time.Now()
		_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
		if status.Code(err) != codes.Unavailable || time.Since(begin) != 0 || rec.count() != 1 {
			t.Errorf("Unary = %v after %v with %d attempts; want UNAVAILABLE at once, 1 attempt", err, time.Since(begin), rec.count())
		}
	})
}
