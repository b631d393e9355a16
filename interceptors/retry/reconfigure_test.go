package retry_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/reconfig"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// The reconfiguration tests call the interceptor directly, with a nil
// ClientConn (the target ""), and an invoker that counts attempts.

const reMethod = "/bulwark.testing.v1.TestService/Unary"

// safe makes every call of the tests safe to retry; a reconfiguration
// passes it again, as it passes all its options.
var safe = retry.WithSafeToRetry(true)

// invokeCount calls ui once with an invoker that fails every attempt with
// err (nil: succeeds), and returns the attempts it made and the call's
// error. ui's target is cc's (nil: "").
func invokeCount(ui grpc.UnaryClientInterceptor, cc *grpc.ClientConn, err error, opts ...grpc.CallOption) (int, error) {
	var n atomic.Int32
	inv := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		n.Add(1)
		return err
	}
	cerr := ui(context.Background(), reMethod, &testpb.UnaryRequest{}, &testpb.UnaryResponse{}, cc, inv, opts...)
	return int(n.Load()), cerr
}

var errDown = status.Error(codes.Unavailable, "down")

// reconfigure prepares opts for r as the chains do, and commits them.
func reconfigure(t *testing.T, r *retry.Retrier, opts ...retry.Option) {
	t.Helper()
	commit, err := reconfig.Retrier(r, opts)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	commit()
}

func budgetLevel(t *testing.T, r *retry.Retrier, target string) float64 {
	t.Helper()
	l, ok := retrystate.Of(r).BudgetLevel(target)
	if !ok {
		t.Fatalf("no budget for target %q", target)
	}
	return l
}

// TestReconfigureMaxAttempts: attempts changed from 3 to 5 apply from the
// next call, not before the commit; 1 and 5, the bounds, are accepted.
func TestReconfigureMaxAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := retry.New(safe, noJitter)
		if err != nil {
			t.Fatal(err)
		}
		ui := r.UnaryClientInterceptor()
		if n, _ := invokeCount(ui, nil, errDown); n != 3 {
			t.Fatalf("%d attempts; want 3 before the reconfiguration", n)
		}
		commit, err := reconfig.Retrier(r, []retry.Option{safe, noJitter, retry.WithMaxAttempts(5)})
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := invokeCount(ui, nil, errDown); n != 3 {
			t.Errorf("%d attempts after prepare; want 3 until the commit", n)
		}
		commit()
		if n, err := invokeCount(ui, nil, errDown); n != 5 || status.Code(err) != codes.Unavailable {
			t.Errorf("%d attempts, %v; want 5, UNAVAILABLE", n, err)
		}
		reconfigure(t, r, safe, noJitter, retry.WithMaxAttempts(1))
		if n, _ := invokeCount(ui, nil, errDown); n != 1 {
			t.Errorf("%d attempts; want 1", n)
		}
	})
}

// TestReconfigureKeepsCallsInProgress: a call in progress when the commit
// comes finishes with the attempts it started with.
func TestReconfigureKeepsCallsInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := retry.New(safe, noJitter)
		if err != nil {
			t.Fatal(err)
		}
		ui := r.UnaryClientInterceptor()
		release := make(chan struct{})
		var n atomic.Int32
		inv := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
			if n.Add(1) == 1 {
				<-release
			}
			return errDown
		}
		done := make(chan error)
		go func() { done <- ui(context.Background(), reMethod, nil, nil, nil, inv) }()
		synctest.Wait() // the first attempt is in the invoker
		reconfigure(t, r, safe, noJitter, retry.WithMaxAttempts(5))
		close(release)
		<-done
		if got := n.Load(); got != 3 {
			t.Errorf("%d attempts; want 3, the attempts of the configuration the call started with", got)
		}
		if n, _ := invokeCount(ui, nil, errDown); n != 5 {
			t.Errorf("%d attempts on the next call; want 5", n)
		}
	})
}

// TestReconfigureSettings: each setting a reconfiguration may change
// applies from the next call.
func TestReconfigureSettings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []retry.Option
		check func(t *testing.T, ui grpc.UnaryClientInterceptor)
	}{
		{
			name: "method policy",
			opts: []retry.Option{retry.WithMethodPolicy(reMethod, retry.WithMaxAttempts(2))},
			check: func(t *testing.T, ui grpc.UnaryClientInterceptor) {
				if n, _ := invokeCount(ui, nil, errDown); n != 2 {
					t.Errorf("%d attempts; want the method's 2", n)
				}
			},
		},
		{
			name: "classifier",
			opts: []retry.Option{retry.WithClassifier(func(context.Context, outcome.Attempt) outcome.Outcome { return outcome.FatalFailure })},
			check: func(t *testing.T, ui grpc.UnaryClientInterceptor) {
				if n, _ := invokeCount(ui, nil, errDown); n != 1 {
					t.Errorf("%d attempts; want 1: the new classifier retries nothing", n)
				}
			},
		},
		{
			name: "backoff",
			opts: []retry.Option{retry.WithBackoff(time.Second, 2, 10*time.Second)},
			check: func(t *testing.T, ui grpc.UnaryClientInterceptor) {
				begin := time.Now()
				if n, _ := invokeCount(ui, nil, errDown); n != 3 || time.Since(begin) != 3*time.Second {
					t.Errorf("%d attempts in %v; want 3 in 1 s + 2 s", n, time.Since(begin))
				}
			},
		},
		{
			name: "per-attempt timeout",
			opts: []retry.Option{retry.WithPerAttemptTimeout(time.Second)},
			check: func(t *testing.T, ui grpc.UnaryClientInterceptor) {
				var left time.Duration
				inv := func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
					dl, _ := ctx.Deadline()
					left = time.Until(dl)
					return nil
				}
				if err := ui(context.Background(), reMethod, nil, nil, nil, inv); err != nil || left != time.Second {
					t.Errorf("err %v, attempt deadline in %v; want nil, 1s", err, left)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r, err := retry.New(safe, noJitter)
				if err != nil {
					t.Fatal(err)
				}
				reconfigure(t, r, append([]retry.Option{safe, noJitter}, tc.opts...)...)
				tc.check(t, r.UnaryClientInterceptor())
			})
		})
	}
}

// TestReconfigureObserver: the new observer sees the calls that start
// after the commit; the old one no longer does.
func TestReconfigureObserver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var before, after events
		r, err := retry.New(safe, noJitter, retry.WithObserver(before.observer()))
		if err != nil {
			t.Fatal(err)
		}
		ui := r.UnaryClientInterceptor()
		invokeCount(ui, nil, errDown)
		reconfigure(t, r, safe, noJitter, retry.WithObserver(after.observer()))
		invokeCount(ui, nil, errDown)
		_, _, b := before.snapshot()
		_, _, a := after.snapshot()
		if len(b) != 1 || len(a) != 1 {
			t.Errorf("old observer saw %d ends, new one %d; want 1 each", len(b), len(a))
		}
	})
}

// TestReconfigureTrailerMode: switching to reading every first attempt's
// trailer applies to a target seen before.
func TestReconfigureTrailerMode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := retry.New(safe)
		if err != nil {
			t.Fatal(err)
		}
		ui := r.UnaryClientInterceptor()
		readsTrailer := func() bool {
			var reads bool
			inv := func(_ context.Context, _ string, _, _ any, _ *grpc.ClientConn, opts ...grpc.CallOption) error {
				for _, o := range opts {
					if _, ok := o.(*grpc.TrailerCallOption); ok {
						reads = true
					}
				}
				return nil
			}
			if err := ui(context.Background(), reMethod, nil, nil, nil, inv); err != nil {
				t.Fatal(err)
			}
			return reads
		}
		if readsTrailer() {
			t.Fatal("first attempt read its trailer under TrailerAuto, before any pushback")
		}
		reconfigure(t, r, safe, retry.WithFirstAttemptTrailer(retry.TrailerAlways))
		if !readsTrailer() {
			t.Error("first attempt did not read its trailer after the switch to TrailerAlways")
		}
		reconfigure(t, r, safe, retry.WithFirstAttemptTrailer(retry.TrailerNever))
		if readsTrailer() {
			t.Error("first attempt read its trailer after the switch to TrailerNever")
		}
	})
}

// TestReconfigureHedging: hedging turned on while running hedges the next
// call.
func TestReconfigureHedging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := retry.New(safe)
		if err != nil {
			t.Fatal(err)
		}
		ui := r.UnaryClientInterceptor()
		// Each attempt answers after 250 ms: with a hedging delay of 100
		// ms, attempts 2 and 3 go before the first answers.
		call := func() (int, error) {
			var n atomic.Int32
			inv := func(ctx context.Context, _ string, _, reply any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
				n.Add(1)
				select {
				case <-time.After(250 * time.Millisecond):
					reply.(*testpb.UnaryResponse).Text = "ok"
					return nil
				case <-ctx.Done():
					return status.FromContextError(ctx.Err()).Err()
				}
			}
			reply := &testpb.UnaryResponse{}
			err := ui(context.Background(), reMethod, &testpb.UnaryRequest{}, reply, nil, inv)
			if reply.GetText() != "ok" {
				t.Errorf("reply %q; want ok", reply.GetText())
			}
			return int(n.Load()), err
		}
		if n, err := call(); n != 1 || err != nil {
			t.Fatalf("%d attempts, %v; want 1 without hedging", n, err)
		}
		reconfigure(t, r, safe, retry.WithHedging(100*time.Millisecond, 3))
		begin := time.Now()
		if n, err := call(); n != 3 || err != nil || time.Since(begin) != 250*time.Millisecond {
			t.Errorf("%d attempts, %v in %v; want 3 hedged attempts, nil, in 250ms", n, err, time.Since(begin))
		}
	})
}

// TestReconfigureTokenBucketKeepsBalance: a token bucket's tokens survive
// a change of its parameters, and the new parameters apply to them.
func TestReconfigureTokenBucketKeepsBalance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := retry.New(safe, noJitter, retry.WithTokenBucket(10, 0.1), retry.WithMaxAttempts(5))
		if err != nil {
			t.Fatal(err)
		}
		ui := r.UnaryClientInterceptor()
		// Five failed attempts take 10 tokens to 5, not above half: no
		// more retries.
		if n, _ := invokeCount(ui, nil, errDown); n != 5 {
			t.Fatalf("%d attempts; want 5", n)
		}
		if l := budgetLevel(t, r, ""); l != 5 {
			t.Fatalf("%v tokens; want 5", l)
		}
		reconfigure(t, r, safe, noJitter, retry.WithTokenBucket(10, 0.5), retry.WithMaxAttempts(5))
		if l := budgetLevel(t, r, ""); l != 5 {
			t.Errorf("%v tokens after the reconfiguration; want the 5 kept", l)
		}
		n, err := invokeCount(ui, nil, errDown)
		if n != 1 || !errors.Is(err, retry.ErrBudgetExhausted) {
			t.Errorf("%d attempts, %v; want 1, budget exhausted (the kept balance)", n, err)
		}
		// 4 tokens; a success adds the new ratio, 0.5.
		if _, err := invokeCount(ui, nil, nil); err != nil {
			t.Fatal(err)
		}
		if l := budgetLevel(t, r, ""); l != 4.5 {
			t.Errorf("%v tokens; want 4 + 0.5, the new ratio", l)
		}
		// A maximum down to the balance keeps it; below, cuts it.
		for _, tc := range []struct{ max, want float64 }{{4.5, 4.5}, {3, 3}, {1000, 3}} {
			reconfigure(t, r, safe, retry.WithTokenBucket(tc.max, 0.5))
			if l := budgetLevel(t, r, ""); l != tc.want {
				t.Errorf("maximum %v: %v tokens; want %v", tc.max, l, tc.want)
			}
		}
		// 3 of 1000 tokens is not above half.
		if n, _ := invokeCount(ui, nil, errDown); n != 1 {
			t.Errorf("%d attempts; want 1", n)
		}
	})
}

// TestReconfigureWindowBudget: a window budget made before the commit
// keeps its counts and takes the new parameters; one made after starts
// with them.
func TestReconfigureWindowBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r, err := retry.New(safe, retry.WithBudget(0, 2, time.Second)) // 2 retries per 1 s
		if err != nil {
			t.Fatal(err)
		}
		ui := r.UnaryClientInterceptor()
		if n, _ := invokeCount(ui, nil, errDown); n != 3 {
			t.Fatalf("%d attempts; want 3, with the 2 retries the reserve allows", n)
		}
		if l := budgetLevel(t, r, ""); l != 0 {
			t.Fatalf("level %v; want 0 after 2 retries", l)
		}
		cc, err := grpc.NewClient("passthrough:///later", grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		reconfigure(t, r, safe, retry.WithBudget(0, 5, time.Second)) // 5 per 1 s
		if l := budgetLevel(t, r, ""); l != 3 {
			t.Errorf("level %v; want 5 - the 2 retries kept", l)
		}
		if _, err := invokeCount(ui, cc, nil); err != nil {
			t.Fatal(err)
		}
		if l := budgetLevel(t, r, cc.Target()); l != 5 {
			t.Errorf("level of a target made after the commit %v; want 5", l)
		}
	})
}

// TestReconfigureRefused: prepare refuses, naming the option, what New
// refuses and a change of the budget's kind, and changes nothing; values
// at the limits are accepted.
func TestReconfigureRefused(t *testing.T) {
	for _, tc := range []struct {
		name    string
		running []retry.Option
		opts    []retry.Option
		want    string // in the error; "" for none
	}{
		{"attempts below 1", nil, []retry.Option{retry.WithMaxAttempts(0)}, "retry: WithMaxAttempts(0): must be at least 1"},
		{"attempts above 5", nil, []retry.Option{retry.WithMaxAttempts(6)}, "retry: WithMaxAttempts(6): above the attempts cap of 5"},
		{"attempts 5", nil, []retry.Option{retry.WithMaxAttempts(5)}, ""},
		{"negative backoff", nil, []retry.Option{retry.WithBackoff(-1, 2, time.Second)}, "retry: WithBackoff(-1ns, 2, 1s)"},
		{"hedging above 5", nil, []retry.Option{retry.WithHedging(0, 6)}, "retry: WithHedging(0s, 6)"},
		{"invalid method policy", nil, []retry.Option{retry.WithMethodPolicy("Unary")}, `retry: WithMethodPolicy("Unary")`},
		{"nil option", nil, []retry.Option{nil}, "retry: New: nil Option"},
		{"window to tokens", nil, []retry.Option{retry.WithTokenBucket(10, 0.1)}, "retry: WithTokenBucket(10, 0.1): the budget cannot change from a window (WithBudget) to a token bucket"},
		{"window to none", nil, []retry.Option{retry.WithBudget(math.Inf(1), 0, 0)}, "retry: WithBudget(+Inf, 0, 0s): the budget cannot change from a window"},
		{"tokens to the default window", []retry.Option{retry.WithTokenBucket(10, 0.1)}, nil, "retry: WithBudget (the default"},
		{"tokens at the largest maximum", []retry.Option{retry.WithTokenBucket(10, 0.1)}, []retry.Option{retry.WithTokenBucket(1000, 0.1)}, ""},
		{"tokens above the largest maximum", []retry.Option{retry.WithTokenBucket(10, 0.1)}, []retry.Option{retry.WithTokenBucket(1000.001, 0.1)}, "retry: WithTokenBucket(1000.001, 0.1): maxTokens must be in (0, 1000]"},
		{"window at the shortest", nil, []retry.Option{retry.WithBudget(0.1, 1, 10*time.Millisecond)}, ""},
		{"window below the shortest", nil, []retry.Option{retry.WithBudget(0.1, 1, 10*time.Millisecond-1)}, "retry: WithBudget(0.1, 1, 9.999999ms): window must be at least 10ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r, err := retry.New(append([]retry.Option{safe, noJitter}, tc.running...)...)
				if err != nil {
					t.Fatal(err)
				}
				commit, err := reconfig.Retrier(r, append([]retry.Option{safe, noJitter, retry.WithMaxAttempts(4)}, tc.opts...))
				switch {
				case tc.want == "" && err != nil:
					t.Fatalf("prepare: %v; want nil", err)
				case tc.want == "":
					commit()
					return
				case err == nil || !strings.Contains(err.Error(), tc.want):
					t.Fatalf("prepare: %v; want an error containing %q", err, tc.want)
				case commit != nil:
					t.Error("prepare returned a Commit with its error")
				}
				if n, _ := invokeCount(r.UnaryClientInterceptor(), nil, errDown); n != 3 {
					t.Errorf("%d attempts after a refused reconfiguration; want 3, unchanged", n)
				}
			})
		})
	}
}

// TestReconfigureKeepsCircuitGate: the circuit gate the chain set stays
// when the new options do not carry it.
func TestReconfigureKeepsCircuitGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gate{}
		g.open.Store(int64(time.Hour))
		obs := &events{}
		r, err := retry.New(safe, retry.WithCircuitGate(g.openFor))
		if err != nil {
			t.Fatal(err)
		}
		reconfigure(t, r, safe, retry.WithObserver(obs.observer()))
		cc, err := grpc.NewClient("passthrough:///gated", grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		n, _ := invokeCount(r.UnaryClientInterceptor(), cc, errDown)
		_, _, ends := obs.snapshot()
		if n != 1 || len(ends) != 1 || ends[0].Reason != "circuit_open" {
			t.Errorf("%d attempts, ends %+v; want 1, circuit_open", n, ends)
		}
	})
}

// TestReconfigureConcurrent: reconfigurations racing with calls leave each
// call under one whole configuration, and the last commit's afterwards.
// The two configurations differ in attempts and in the per-attempt
// timeout (which moves calls off the fast path), so that a call that mixed
// them would show.
func TestReconfigureConcurrent(t *testing.T) {
	noWait := retry.WithBackoff(0, 1, 0)
	noBudget := retry.WithBudget(math.Inf(1), 0, 0)
	configs := [][]retry.Option{
		{safe, noWait, noBudget, retry.WithMaxAttempts(2)},
		{safe, noWait, noBudget, retry.WithMaxAttempts(5), retry.WithPerAttemptTimeout(time.Hour)},
	}
	r, err := retry.New(configs[0]...)
	if err != nil {
		t.Fatal(err)
	}
	ui := r.UnaryClientInterceptor()
	// call makes one failing call and reports whether its attempts match
	// one configuration.
	call := func() error {
		var n, timed atomic.Int32
		inv := func(ctx context.Context, _ string, _, _ any, _ *grpc.ClientConn, _ ...grpc.CallOption) error {
			n.Add(1)
			if _, ok := ctx.Deadline(); ok {
				timed.Add(1)
			}
			return errDown
		}
		ui(context.Background(), reMethod, nil, nil, nil, inv)
		if got, timed := n.Load(), timed.Load(); !(got == 2 && timed == 0 || got == 5 && timed == 5) {
			return errors.New("mixed configurations")
		}
		return nil
	}
	const calls, commits = 300, 300
	var wg sync.WaitGroup
	var failures atomic.Int32
	for range 4 {
		wg.Go(func() {
			for range calls {
				if call() != nil {
					failures.Add(1)
				}
			}
		})
	}
	var mu sync.Mutex // the chains serialize prepare and commit
	for g := range 2 {
		wg.Go(func() {
			for i := range commits {
				mu.Lock()
				commit, err := reconfig.Retrier(r, configs[(i+g)%2])
				if err != nil {
					mu.Unlock()
					t.Error(err)
					return
				}
				commit()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if f := failures.Load(); f > 0 {
		t.Errorf("%d calls made attempts of no single configuration", f)
	}
	reconfigure(t, r, configs[1]...)
	if n, _ := invokeCount(ui, nil, errDown); n != 5 {
		t.Errorf("%d attempts after the last commit; want its 5", n)
	}
}
