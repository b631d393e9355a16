package retry_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/boundary"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/refusal"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
	"github.com/bulwarkrpc/bulwark/internal/wire"
)

// failing returns a Unary handler that fails the first n attempts of each
// call with err and records every attempt.
func failing(rec *attempts, n int, err error) func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
	return func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
		if rec.add(ctx) <= n {
			return nil, err
		}
		return &testpb.UnaryResponse{Text: req.GetText()}, nil
	}
}

func TestUnaryRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		svc := &grpctest.Service{UnaryFunc: failing(rec, 2, status.Error(codes.Unavailable, "down"))}
		obs := &events{}
		env, _ := start(t, svc, setup{retry: []retry.Option{noJitter, retry.WithObserver(obs.observer())}})
		resp, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{Text: "hi"})
		if err != nil || resp.GetText() != "hi" {
			t.Fatalf("Unary = %v, %v; want hi", resp, err)
		}
		if got, want := rec.offsets(), []time.Duration{0, 100 * time.Millisecond, 300 * time.Millisecond}; !equalDurations(got, want) {
			t.Errorf("attempts at %v; want %v (backoff 100 ms, then 200 ms)", got, want)
		}
		if got := rec.numbers(); len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
			t.Errorf("grpc-previous-rpc-attempts gave attempt numbers %v; want [1 2 3]", got)
		}
		retries, _, ends := obs.snapshot()
		if len(retries) != 2 || retries[0].Attempt != 2 || retries[0].Delay != 100*time.Millisecond || retries[0].Reason != "backoff" ||
			retries[1].Attempt != 3 || retries[1].Delay != 200*time.Millisecond {
			t.Errorf("OnRetry events = %+v", retries)
		}
		if retries[0].Method != testpb.TestService_Unary_FullMethodName || retries[0].Target != "passthrough:///bufnet" {
			t.Errorf("OnRetry method, target = %q, %q", retries[0].Method, retries[0].Target)
		}
		// 10/s × 10 s + 20% of the one call, less the retries taken.
		if math.Abs(retries[0].Budget-99.2) > 1e-9 || math.Abs(retries[1].Budget-98.2) > 1e-9 {
			t.Errorf("budget levels = %v, %v; want 99.2, 98.2", retries[0].Budget, retries[1].Budget)
		}
		if len(ends) != 1 || ends[0].Reason != "succeeded" || ends[0].Attempts != 3 || ends[0].Err != nil {
			t.Errorf("OnFinish events = %+v; want one, succeeded after 3 attempts", ends)
		}
	})
}

func TestUnaryStopsOnOutcome(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		attempts int
		reason   string
	}{
		{"unavailable uses all attempts", status.Error(codes.Unavailable, "x"), 3, "max_attempts"},
		{"internal is fatal", status.Error(codes.Internal, "x"), 1, "not_retryable"},
		{"unknown is fatal", status.Error(codes.Unknown, "x"), 1, "not_retryable"},
		{"invalid argument proves health", status.Error(codes.InvalidArgument, "x"), 1, "not_retryable"},
		{"aborted is ignored", status.Error(codes.Aborted, "x"), 1, "not_retryable"},
		{"deadline from the server is fatal", status.Error(codes.DeadlineExceeded, "x"), 1, "not_retryable"},
		{"resource exhausted without delay", status.Error(codes.ResourceExhausted, "x"), 1, "not_retryable"},
		{"resource exhausted with RetryInfo", func() *errdetails.ApplicationError {
			e := errdetails.New("QUOTA", "slow down")
			e.GRPCCode = codes.ResourceExhausted
			e.Retryable = true
			e.RetryAfter = time.Millisecond
			return e
		}(), 3, "max_attempts"},
		{"application error not retryable", func() *errdetails.ApplicationError {
			e := errdetails.New(errdetails.CodeDatabase, "x")
			e.Retryable = false
			return e
		}(), 1, "not_retryable"},
		{"application error retryable", errdetails.Database("", errors.New("conn reset")), 3, "max_attempts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				svc := &grpctest.Service{UnaryFunc: failing(rec, 99, tc.err)}
				obs := &events{}
				env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithObserver(obs.observer())}})
				_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
				if status.Code(err) != status.Code(tc.err) {
					t.Errorf("code = %v; want %v", status.Code(err), status.Code(tc.err))
				}
				if got := rec.count(); got != tc.attempts {
					t.Errorf("attempts = %d; want %d", got, tc.attempts)
				}
				_, _, ends := obs.snapshot()
				if len(ends) != 1 || ends[0].Reason != tc.reason || ends[0].Attempts != tc.attempts {
					t.Errorf("OnFinish = %+v; want reason %v after %d attempts", ends, tc.reason, tc.attempts)
				}
			})
		})
	}
}

func TestUnaryCallOptions(t *testing.T) {
	tests := []struct {
		name     string
		opts     []grpc.CallOption
		attempts int
	}{
		{"default", nil, 3},
		{"one attempt disables retries", []grpc.CallOption{retry.WithMaxAttempts(1)}, 1},
		{"five attempts", []grpc.CallOption{retry.WithMaxAttempts(5)}, 5},
		{"pointer option", []grpc.CallOption{func() *retry.CallOption { o := retry.WithMaxAttempts(2); return &o }()}, 2},
		{"with other call options", []grpc.CallOption{grpc.WaitForReady(false), retry.WithMaxAttempts(4), grpc.MaxCallRecvMsgSize(1 << 20)}, 4},
		{"not safe for this call", []grpc.CallOption{retry.WithSafeToRetry(false)}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				svc := &grpctest.Service{UnaryFunc: failing(rec, 99, status.Error(codes.Unavailable, "x"))}
				env, _ := start(t, svc, setup{})
				_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}, tc.opts...)
				if status.Code(err) != codes.Unavailable {
					t.Errorf("code = %v; want UNAVAILABLE", status.Code(err))
				}
				if got := rec.count(); got != tc.attempts {
					t.Errorf("attempts = %d; want %d", got, tc.attempts)
				}
			})
		})
	}
}

func TestUnaryInvalidCallOption(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		svc := &grpctest.Service{UnaryFunc: failing(rec, 0, nil)}
		env, _ := start(t, svc, setup{})
		_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}, retry.WithMaxAttempts(9))
		if !errors.Is(err, retry.ErrInvalidCallOption) || status.Code(err) != codes.Internal {
			t.Fatalf("err = %v (code %v); want ErrInvalidCallOption, INTERNAL", err, status.Code(err))
		}
		if want := "retry: WithMaxAttempts(9): above the attempts cap of 5 (WithAttemptsCap raises it)"; err.Error() != want {
			t.Errorf("err = %q; want %q", err, want)
		}
		if rec.count() != 0 {
			t.Errorf("%d attempts reached the server; want none", rec.count())
		}
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}, retry.CallOption{}); !errors.Is(err, retry.ErrInvalidCallOption) {
			t.Errorf("zero CallOption: err = %v; want ErrInvalidCallOption", err)
		}
	})
}

// TestAttemptsCap: WithAttemptsCap(7) lets a call make exactly 7
// attempts and refuses 8, wherever the option is given; an option from a
// service config (retrystate.Clamp) asking for more is held to the cap
// instead of failing the call; without WithAttemptsCap the cap is 5.
func TestAttemptsCap(t *testing.T) {
	if _, err := retry.New(retry.WithAttemptsCap(7), retry.WithMaxAttempts(8)); err == nil ||
		err.Error() != "retry: WithMaxAttempts(8): above the attempts cap of 7 (WithAttemptsCap raises it)" {
		t.Errorf("New(WithAttemptsCap(7), WithMaxAttempts(8)) = %v; want the cap's error naming WithMaxAttempts(8)", err)
	}
	if _, err := retry.New(retry.WithAttemptsCap(7), retry.WithMethodPolicy("/pkg.Svc/M", retry.WithHedging(time.Millisecond, 8))); err == nil ||
		!strings.Contains(err.Error(), `WithMethodPolicy("/pkg.Svc/M"): WithHedging(1ms, 8): above the attempts cap of 7`) {
		t.Errorf("a method's hedging above the cap: %v; want the cap's error naming it", err)
	}
	// An option above the cap is refused even when a later one replaces
	// it, and even when WithAttemptsCap comes after it; an option within
	// the cap is not.
	for _, tc := range []struct {
		opts []retry.Option
		want string // "": accepted
	}{
		{[]retry.Option{retry.WithMaxAttempts(8), retry.WithMaxAttempts(3)}, "retry: WithMaxAttempts(8): above the attempts cap of 5"},
		{[]retry.Option{retry.WithMethodPolicy("/a.B/C", retry.WithHedging(time.Millisecond, 9), retry.WithHedging(time.Millisecond, 2))},
			`retry: WithMethodPolicy("/a.B/C"): WithHedging(1ms, 9): above the attempts cap of 5`},
		{[]retry.Option{retry.WithMaxAttempts(7), retry.WithAttemptsCap(7)}, ""},
		{[]retry.Option{retry.WithMethodPolicy("/a.B/C", retry.WithHedging(time.Millisecond, 7)), retry.WithAttemptsCap(7)}, ""},
	} {
		_, err := retry.New(tc.opts...)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("New(%d options) = %v; want %q", len(tc.opts), err, tc.want)
		}
	}
	clamped := func(n int) grpc.CallOption { return retrystate.Clamp(retry.WithMaxAttempts(n)).(retry.CallOption) }
	channel := func(n int) grpc.CallOption {
		return retrystate.ChannelCapped(retry.WithMaxAttempts(n)).(retry.CallOption)
	}
	clampedHedging := func(n int) grpc.CallOption {
		return retrystate.Clamp(retry.WithHedging(time.Millisecond, n)).(retry.CallOption)
	}
	tests := []struct {
		name     string
		retry    []retry.Option
		opts     []grpc.CallOption
		attempts int // 0: the call fails with ErrInvalidCallOption
	}{
		{"default cap, 5", nil, []grpc.CallOption{retry.WithMaxAttempts(5)}, 5},
		{"default cap, 6", nil, []grpc.CallOption{retry.WithMaxAttempts(6)}, 0},
		{"raised, by New", []retry.Option{retry.WithAttemptsCap(7), retry.WithMaxAttempts(7)}, nil, 7},
		{"raised, per method", []retry.Option{retry.WithAttemptsCap(7), retry.WithMethodPolicy("/bulwark.testing.v1.TestService/Unary", retry.WithMaxAttempts(7))}, nil, 7},
		{"raised, per call, 7", []retry.Option{retry.WithAttemptsCap(7)}, []grpc.CallOption{retry.WithMaxAttempts(7)}, 7},
		{"raised, per call, 8", []retry.Option{retry.WithAttemptsCap(7)}, []grpc.CallOption{retry.WithMaxAttempts(8)}, 0},
		{"highest cap", []retry.Option{retry.WithAttemptsCap(10), retry.WithMaxAttempts(10)}, nil, 10},
		{"service config, default cap", nil, []grpc.CallOption{clamped(9)}, 5},
		{"service config, raised cap", []retry.Option{retry.WithAttemptsCap(7)}, []grpc.CallOption{clamped(9)}, 7},
		{"service config, below the cap", []retry.Option{retry.WithAttemptsCap(7)}, []grpc.CallOption{clamped(4)}, 4},
		{"channel's method config, above the cap", nil, []grpc.CallOption{channel(8)}, 8},
		{"channel's method config, hedged", nil, []grpc.CallOption{retry.WithHedging(time.Millisecond, 5), channel(8)}, 5},
		{"per call, replaced", nil, []grpc.CallOption{retry.WithMaxAttempts(9), retry.WithMaxAttempts(2)}, 0},
		{"per call, before a service config's", nil, []grpc.CallOption{retry.WithMaxAttempts(8), clampedHedging(2)}, 0},
		{"per call, before a service config's attempts", nil, []grpc.CallOption{retry.WithHedging(0, 9), clamped(3)}, 0},
		{"per call, within the cap, before a service config's", nil, []grpc.CallOption{retry.WithMaxAttempts(4), clamped(9)}, 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				svc := &grpctest.Service{UnaryFunc: failing(rec, 99, status.Error(codes.Unavailable, "x"))}
				env, _ := start(t, svc, setup{retry: tc.retry})
				_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}, tc.opts...)
				if tc.attempts == 0 {
					if !errors.Is(err, retry.ErrInvalidCallOption) || rec.count() != 0 {
						t.Errorf("err = %v after %d attempts; want ErrInvalidCallOption before any", err, rec.count())
					}
					return
				}
				if status.Code(err) != codes.Unavailable {
					t.Errorf("code = %v; want UNAVAILABLE", status.Code(err))
				}
				if got := rec.count(); got != tc.attempts {
					t.Errorf("attempts = %d; want %d", got, tc.attempts)
				}
			})
		})
	}
}

func TestUnsafeMethod(t *testing.T) {
	// The server's own refusal before its handler ran: only those may say
	// unprocessed (the boundary clears the mark on handlers' errors).
	overloaded := refusal.Mark(func() *errdetails.ApplicationError {
		e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
		e.Unprocessed = true
		return e
	}())
	retryLocalRejects := outcome.Classifier(func(ctx context.Context, r outcome.Attempt) outcome.Outcome {
		if o := outcome.Default(ctx, r); o != outcome.LocalReject {
			return o
		}
		return outcome.RetryableFailure
	})
	localReject := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if attemptOf(metadata.NewIncomingContext(ctx, outgoing(ctx))) == 1 {
			return &rejected{}
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	tests := []struct {
		name     string
		err      error
		setup    setup
		attempts int // that reach the server
		code     codes.Code
	}{
		{"may have been processed: not retried", status.Error(codes.Unavailable, "x"), setup{}, 1, codes.Unavailable},
		{"application error, processed: not retried", errdetails.Database("", nil), setup{}, 1, codes.Unavailable},
		{"overload marked unprocessed: retried", overloaded, setup{}, 3, codes.Unavailable},
		{"marked idempotent by option: retried", status.Error(codes.Unavailable, "x"),
			setup{retry: []retry.Option{retry.WithMethodPolicy(testpb.TestService_UnaryUnsafe_FullMethodName, retry.WithSafeToRetry(true))}}, 3, codes.Unavailable},
		{"method policy: retried", status.Error(codes.Unavailable, "x"),
			setup{retry: []retry.Option{retry.WithMethodPolicy(testpb.TestService_UnaryUnsafe_FullMethodName, retry.WithSafeToRetry(true), retry.WithMaxAttempts(2))}}, 2, codes.Unavailable},
		{"local reject is not retried by the default table", nil,
			setup{inner: []grpc.UnaryClientInterceptor{localReject}}, 0, codes.Unavailable},
		{"local reject is safe when the classifier retries it", nil,
			setup{inner: []grpc.UnaryClientInterceptor{localReject}, retry: []retry.Option{retry.WithClassifier(retryLocalRejects)}}, 1, codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				svc := &grpctest.Service{UnaryUnsafeFunc: func(ctx context.Context, req *testpb.UnaryUnsafeRequest) (*testpb.UnaryUnsafeResponse, error) {
					rec.add(ctx)
					if tc.err != nil {
						return nil, tc.err
					}
					return &testpb.UnaryUnsafeResponse{}, nil
				}}
				env, _ := start(t, svc, tc.setup)
				_, err := env.Client.UnaryUnsafe(t.Context(), &testpb.UnaryUnsafeRequest{})
				if status.Code(err) != tc.code {
					t.Errorf("code = %v (%v); want %v", status.Code(err), err, tc.code)
				}
				if got := rec.count(); got != tc.attempts {
					t.Errorf("attempts that reached the server = %d; want %d", got, tc.attempts)
				}
			})
		})
	}
}

// rejected is a local reject, as a breaker or limiter inside the Retrier
// returns it.
type rejected struct{}

func (*rejected) Error() string        { return "test: rejected locally" }
func (*rejected) Is(target error) bool { return target == outcome.ErrLocalReject }
func (*rejected) GRPCStatus() *status.Status {
	return status.New(codes.Unavailable, "rejected locally")
}
func (*rejected) Unwrap() error { return nil }

// outgoing returns the outgoing metadata of ctx.
func outgoing(ctx context.Context) metadata.MD {
	md, _ := metadata.FromOutgoingContext(ctx)
	return md
}

func TestPushback(t *testing.T) {
	const delay = 200 * time.Millisecond
	bulwarkDelay := func() *errdetails.ApplicationError {
		e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
		e.RetryAfter = delay
		return e
	}()
	bulwarkStop := func() *errdetails.ApplicationError {
		e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
		e.RetryAfter = -1
		return e
	}()
	plain := func(pushback string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			if err := grpc.SetTrailer(ctx, metadata.Pairs(wire.PushbackTrailer, pushback)); err != nil {
				return err
			}
			return status.Error(codes.Unavailable, "busy")
		}
	}
	bulwark := func(err error) func(context.Context) error { return func(context.Context) error { return err } }
	tests := []struct {
		name string
		mode retry.TrailerMode
		fail func(context.Context) error
		// when the attempts of two calls in a row reach the server, each
		// call failing twice then succeeding (or giving up)
		first, second []time.Duration
	}{
		{"RetryInfo from a Bulwark server", retry.TrailerAuto, bulwark(bulwarkDelay),
			[]time.Duration{0, delay, 2 * delay}, []time.Duration{0, delay, 2 * delay}},
		{"trailer only: learnt on the second attempt", retry.TrailerAuto, plain("200"),
			[]time.Duration{0, 100 * time.Millisecond, 100*time.Millisecond + delay}, []time.Duration{0, delay, 2 * delay}},
		{"trailer only, always read", retry.TrailerAlways, plain("200"),
			[]time.Duration{0, delay, 2 * delay}, []time.Duration{0, delay, 2 * delay}},
		{"trailer only, never read on the first attempt", retry.TrailerNever, plain("200"),
			[]time.Duration{0, 100 * time.Millisecond, 100*time.Millisecond + delay}, []time.Duration{0, 100 * time.Millisecond, 100*time.Millisecond + delay}},
		{"stop from a Bulwark server: its status says not retryable, so at once", retry.TrailerAuto, bulwark(bulwarkStop),
			[]time.Duration{0}, []time.Duration{0}},
		{"stop from a Bulwark server, trailer never read", retry.TrailerNever, bulwark(bulwarkStop),
			[]time.Duration{0}, []time.Duration{0}},
		{"stop, trailer always read", retry.TrailerAlways, bulwark(bulwarkStop),
			[]time.Duration{0}, []time.Duration{0}},
		{"stop from a plain server", retry.TrailerAlways, plain("-1"),
			[]time.Duration{0}, []time.Duration{0}},
		{"unparseable pushback means stop", retry.TrailerAlways, plain("soon"),
			[]time.Duration{0}, []time.Duration{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rec *attempts
				svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					if rec.add(ctx) <= 2 {
						return nil, tc.fail(ctx)
					}
					return &testpb.UnaryResponse{}, nil
				}}
				env, _ := start(t, svc, setup{retry: []retry.Option{noJitter, retry.WithFirstAttemptTrailer(tc.mode)}})
				for i, want := range [][]time.Duration{tc.first, tc.second} {
					rec = newAttempts()
					_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
					if got := rec.offsets(); !equalDurations(got, want) {
						t.Errorf("call %d: attempts at %v; want %v", i+1, got, want)
					}
				}
			})
		})
	}
}

func TestServerDelayIsCapped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		long := func() *errdetails.ApplicationError {
			e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
			e.RetryAfter = time.Minute
			return e
		}()
		svc := &grpctest.Service{UnaryFunc: failing(rec, 1, long)}
		obs := &events{}
		env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithMaxServerDelay(2 * time.Second), retry.WithObserver(obs.observer())}})
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
			t.Fatal(err)
		}
		if got, want := rec.offsets(), []time.Duration{0, 2 * time.Second}; !equalDurations(got, want) {
			t.Errorf("attempts at %v; want %v", got, want)
		}
		retries, _, _ := obs.snapshot()
		if len(retries) != 1 || retries[0].Reason != "retry_info" || retries[0].Delay != 2*time.Second {
			t.Errorf("OnRetry = %+v; want one RetryInfo delay of 2s", retries)
		}
	})
}

func TestDeadline(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "down")
	tests := []struct {
		name     string
		deadline time.Duration
		err      error
		opts     []retry.Option
		attempts int
		elapsed  time.Duration // when the call returns
		code     codes.Code
		reason   string
	}{
		{"next delay does not fit: last error at once", 250 * time.Millisecond, unavailable, nil,
			2, 100 * time.Millisecond, codes.Unavailable, "deadline"},
		{"delay and minimum attempt time fit exactly", 301 * time.Millisecond, unavailable, nil,
			3, 300 * time.Millisecond, codes.Unavailable, "max_attempts"},
		{"longer minimum attempt time does not fit", 301 * time.Millisecond, unavailable, []retry.Option{retry.WithMinAttemptTime(5 * time.Millisecond)},
			2, 100 * time.Millisecond, codes.Unavailable, "deadline"},
		{"server delay past the deadline", time.Second,
			func() *errdetails.ApplicationError {
				e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
				e.RetryAfter = 2 * time.Second
				return e
			}(), nil,
			1, 0, codes.Unavailable, "deadline"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				svc := &grpctest.Service{UnaryFunc: failing(rec, 99, tc.err)}
				obs := &events{}
				env, _ := start(t, svc, setup{retry: append([]retry.Option{noJitter, retry.WithObserver(obs.observer())}, tc.opts...)})
				ctx, cancel := context.WithTimeout(t.Context(), tc.deadline)
				defer cancel()
				begin := time.Now()
				_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
				if got := time.Since(begin); got != tc.elapsed {
					t.Errorf("call returned after %v; want %v", got, tc.elapsed)
				}
				if status.Code(err) != tc.code {
					t.Errorf("code = %v; want %v", status.Code(err), tc.code)
				}
				if rec.count() != tc.attempts {
					t.Errorf("attempts = %d; want %d", rec.count(), tc.attempts)
				}
				_, _, ends := obs.snapshot()
				if len(ends) != 1 || ends[0].Reason != tc.reason {
					t.Errorf("OnFinish = %+v; want reason %v", ends, tc.reason)
				}
			})
		})
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		svc := &grpctest.Service{UnaryFunc: failing(rec, 99, status.Error(codes.Unavailable, "down"))}
		env, _ := start(t, svc, setup{retry: []retry.Option{noJitter, retry.WithBackoff(time.Second, 2, time.Second)}})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(300*time.Millisecond, cancel)
		begin := time.Now()
		_, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
		if status.Code(err) != codes.Canceled || time.Since(begin) != 300*time.Millisecond {
			t.Errorf("err = %v after %v; want CANCELLED after 300ms", err, time.Since(begin))
		}
		if rec.count() != 1 {
			t.Errorf("attempts = %d; want 1", rec.count())
		}
	})
}

func TestPerAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			if rec.add(ctx) == 1 {
				<-ctx.Done() // hangs until the client gives up on it
				return nil, ctx.Err()
			}
			return &testpb.UnaryResponse{Text: "second"}, nil
		}}
		env, _ := start(t, svc, setup{retry: []retry.Option{noJitter, retry.WithPerAttemptTimeout(50 * time.Millisecond)}})
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		resp, err := env.Client.Unary(ctx, &testpb.UnaryRequest{})
		if err != nil || resp.GetText() != "second" {
			t.Fatalf("Unary = %v, %v; want the second attempt's answer", resp, err)
		}
		if got, want := rec.offsets(), []time.Duration{0, 150 * time.Millisecond}; !equalDurations(got, want) {
			t.Errorf("attempts at %v; want %v (timeout 50ms + backoff 100ms)", got, want)
		}
	})
}

func TestServiceConfigRetryPolicy(t *testing.T) {
	const sc = `{"methodConfig": [{"name": [{"service": "bulwark.testing.v1.TestService"}],
		"retryPolicy": {"maxAttempts": 2, "initialBackoff": "0.01s", "maxBackoff": "0.01s", "backoffMultiplier": 1,
		"retryableStatusCodes": ["UNAVAILABLE"]}}]}`
	tests := []struct {
		name     string
		check    bool
		attempts int
		reason   string
	}{
		{"detected: gRPC retries alone", true, 2, "service_config"},
		{"check off: attempts multiply", false, 6, "max_attempts"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				svc := &grpctest.Service{UnaryFunc: failing(rec, 99, status.Error(codes.Unavailable, "down"))}
				obs := &events{}
				env, _ := start(t, svc, setup{
					retry: []retry.Option{retry.WithServiceConfigCheck(tc.check), retry.WithObserver(obs.observer())},
					dial:  []grpc.DialOption{grpc.WithDefaultServiceConfig(sc)},
				})
				_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
				if status.Code(err) != codes.Unavailable {
					t.Errorf("code = %v; want UNAVAILABLE", status.Code(err))
				}
				if rec.count() != tc.attempts {
					t.Errorf("attempts = %d; want %d", rec.count(), tc.attempts)
				}
				_, _, ends := obs.snapshot()
				if len(ends) != 1 || ends[0].Reason != tc.reason {
					t.Errorf("OnFinish = %+v; want reason %v", ends, tc.reason)
				}
			})
		})
	}
}

func TestMethodPolicyPerAttemptTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unsafe, safe := newAttempts(), newAttempts()
		hang := func(rec *attempts, ctx context.Context) error {
			if rec.add(ctx) == 1 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Second):
				}
			}
			return nil
		}
		svc := &grpctest.Service{
			UnaryUnsafeFunc: func(ctx context.Context, req *testpb.UnaryUnsafeRequest) (*testpb.UnaryUnsafeResponse, error) {
				return &testpb.UnaryUnsafeResponse{}, hang(unsafe, ctx)
			},
			UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
				return &testpb.UnaryResponse{}, hang(safe, ctx)
			},
		}
		env, _ := start(t, svc, setup{retry: []retry.Option{noJitter, retry.WithMethodPolicy(testpb.TestService_UnaryUnsafe_FullMethodName,
			retry.WithPerAttemptTimeout(50*time.Millisecond), retry.WithSafeToRetry(true))}})
		begin := time.Now()
		if _, err := env.Client.UnaryUnsafe(t.Context(), &testpb.UnaryUnsafeRequest{}); err != nil {
			t.Fatal(err)
		}
		if time.Since(begin) != 150*time.Millisecond || unsafe.count() != 2 {
			t.Errorf("UnaryUnsafe took %v and %d attempts; want 150ms and 2 (its policy's 50ms timeout, then a retry)", time.Since(begin), unsafe.count())
		}
		begin = time.Now()
		if _, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}); err != nil {
			t.Fatal(err)
		}
		if time.Since(begin) != time.Second || safe.count() != 1 {
			t.Errorf("Unary took %v and %d attempts; want 1s and 1 (no per-attempt timeout)", time.Since(begin), safe.count())
		}
	})
}

func TestHedgingPerCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rep := &replicas{rec: newAttempts(), behave: slowUpTo(1)}
		env, _ := start(t, &grpctest.Service{UnaryFunc: rep.unary}, setup{})
		begin := time.Now()
		resp, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{}, retry.WithHedging(20*time.Millisecond, 2))
		if err != nil || resp.GetText() != "attempt 2" || time.Since(begin) != 20*time.Millisecond {
			t.Errorf("Unary = %q, %v after %v; want attempt 2 after 20ms", resp.GetText(), err, time.Since(begin))
		}
	})
}

// TestWithBoundaryDecoder puts Bulwark's client-side error decoder inside
// the Retrier, where the chain has it: the Retrier sees
// *errdetails.ApplicationError values and still honours their RetryInfo.
func TestWithBoundaryDecoder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		busy := refusal.Mark(func() *errdetails.ApplicationError {
			e := errdetails.New(errdetails.CodeServerOverloaded, "busy")
			e.RetryAfter = 300 * time.Millisecond
			e.Unprocessed = true
			return e
		}())
		svc := &grpctest.Service{UnaryUnsafeFunc: func(ctx context.Context, req *testpb.UnaryUnsafeRequest) (*testpb.UnaryUnsafeResponse, error) {
			rec.add(ctx)
			return nil, busy
		}}
		decoder, err := boundary.New()
		if err != nil {
			t.Fatal(err)
		}
		env, _ := start(t, svc, setup{inner: []grpc.UnaryClientInterceptor{decoder.UnaryClientInterceptor()}})
		_, err = env.Client.UnaryUnsafe(t.Context(), &testpb.UnaryUnsafeRequest{})
		var ae *errdetails.ApplicationError
		if !errors.As(err, &ae) || ae.Code != errdetails.CodeServerOverloaded || status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v; want the decoded SERVER_OVERLOADED", err)
		}
		if got, want := rec.offsets(), []time.Duration{0, 300 * time.Millisecond, 600 * time.Millisecond}; !equalDurations(got, want) {
			t.Errorf("attempts at %v; want %v (unprocessed, so the unsafe method is retried, after the server's delay)", got, want)
		}
	})
}
