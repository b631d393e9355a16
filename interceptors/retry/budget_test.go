package retry_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/errdetails"
	"github.com/bulwarkrpc/bulwark/interceptors/retry"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/retrystate"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// flaky reports whether attempt n of call id fails: a PCG seeded with both,
// so the answer does not depend on the order in which attempts arrive.
func flaky(id, n int, rate float64) bool {
	return rand.New(rand.NewPCG(42, uint64(id)<<8|uint64(n))).Float64() < rate
}

// load runs calls calls, one every gap, each with the given deadline, and
// returns each call's error, how long it took, and the times at which the
// Retrier granted retries.
type load struct {
	calls    int
	gap      time.Duration
	deadline time.Duration
}

type loadResult struct {
	errs    []error
	took    []time.Duration
	started []time.Duration // since the first call
	grants  []time.Duration // since the first call
}

type grantRecorder struct {
	mu     sync.Mutex
	start  time.Time
	grants []time.Duration
}

func (g *grantRecorder) OnRetry(context.Context, retry.RetryEvent) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.grants = append(g.grants, time.Since(g.start))
}

func (l load) run(t *testing.T, client testpb.TestServiceClient, g *grantRecorder) loadResult {
	t.Helper()
	res := loadResult{errs: make([]error, l.calls), took: make([]time.Duration, l.calls), started: make([]time.Duration, l.calls)}
	g.start = time.Now()
	var wg sync.WaitGroup
	for id := range l.calls {
		res.started[id] = time.Since(g.start)
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), l.deadline)
			defer cancel()
			begin := time.Now()
			_, res.errs[id] = client.Unary(ctx, &testpb.UnaryRequest{Text: strconv.Itoa(id)})
			res.took[id] = time.Since(begin)
		})
		time.Sleep(l.gap) // the load's pace, in fake time
	}
	wg.Wait()
	g.mu.Lock()
	res.grants = append([]time.Duration(nil), g.grants...)
	g.mu.Unlock()
	return res
}

// checkBudget asserts that every retry was granted within the budget:
// retries in the window up to it at most 20% of the calls in it plus 100.
// The window is the 10 one-second buckets the budget keeps, so it starts
// at the beginning of a second; calls up to one bucket before it are
// counted too, as the budget spreads the calls it counts over time.
func checkBudget(t *testing.T, res loadResult) {
	t.Helper()
	for i, at := range res.grants {
		from := at.Truncate(time.Second) - 9*time.Second
		retries := 0
		for _, g := range res.grants[:i+1] {
			if g >= from {
				retries++
			}
		}
		calls := 0
		for _, s := range res.started {
			if s >= from-time.Second && s <= at {
				calls++
			}
		}
		if limit := 0.2*float64(calls) + 100; float64(retries) > limit {
			t.Fatalf("retry %d at %v: %d retries in the window, more than 20%% of %d calls + 100", i, at, retries, calls)
		}
	}
}

func TestBudgetWithFlakyServer(t *testing.T) {
	const (
		calls = 3000
		rate  = 0.3
		gap   = 7 * time.Millisecond // 142.9 calls/s; 7 ms never meets a backoff of 100 or 200 ms
	)
	// Without a budget every call may make 3 attempts: the exact outcome,
	// from the same deterministic failures.
	wantOK, wantAttempts := 0, 0
	for id := range calls {
		for n := 1; n <= 3; n++ {
			wantAttempts++
			if !flaky(id, n, rate) {
				wantOK++
				break
			}
		}
	}
	for _, budget := range []bool{false, true} {
		t.Run(map[bool]string{false: "without budget", true: "with budget"}[budget], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rec := newAttempts()
				svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
					id, _ := strconv.Atoi(req.GetText())
					if flaky(id, rec.add(ctx), rate) {
						return nil, errUnavailable
					}
					return &testpb.UnaryResponse{}, nil
				}}
				g := &grantRecorder{}
				opts := []retry.Option{noJitter, retry.WithObserver(retry.Observer{OnRetry: g.OnRetry})}
				if !budget {
					opts = append(opts, retry.WithBudget(math.Inf(1), 0, 0))
				}
				env, _ := start(t, svc, setup{retry: opts})
				res := load{calls: calls, gap: gap, deadline: 5 * time.Second}.run(t, env.Client, g)

				ok, exhausted := 0, 0
				for _, err := range res.errs {
					switch {
					case err == nil:
						ok++
					case errors.Is(err, retry.ErrBudgetExhausted):
						exhausted++
					case status.Code(err) != codes.Unavailable:
						t.Fatalf("call failed with %v; want UNAVAILABLE", err)
					}
				}
				attempts := rec.count()
				retries := len(res.grants)
				if attempts != calls+retries {
					t.Fatalf("%d attempts reached the server; want %d calls + %d retries granted", attempts, calls, retries)
				}
				t.Logf("success rate %.4f (%d of %d), attempts per call %.4f, retries %d, calls stopped by the budget %d",
					float64(ok)/calls, ok, calls, float64(attempts)/calls, retries, exhausted)
				if !budget {
					if ok != wantOK || attempts != wantAttempts {
						t.Fatalf("without budget: %d successes, %d attempts; want exactly %d and %d", ok, attempts, wantOK, wantAttempts)
					}
					return
				}
				checkBudget(t, res)
				// The budget binds: the calls want 0.39 retries each (0.3 +
				// 0.09) but it supplies 20% of 142.9 calls/s + 10/s, that is
				// 0.27 per call in the steady state.
				run := res.started[calls-1].Seconds()
				supply := 0.2*calls + 10*run // about 810
				if float64(retries) < 0.95*supply || float64(retries) > supply+100 {
					t.Errorf("%d retries; want about %.0f, what the budget supplies", retries, supply)
				}
				if exhausted == 0 {
					t.Error("no call was stopped by the budget; want the budget to bind")
				}
				// Each retry succeeds with probability 0.7, like a first
				// attempt; a call fails when its last attempt fails.
				want := 0.7*calls + 0.7*float64(retries)
				if float64(ok) < want-0.03*calls || float64(ok) > want+0.03*calls || ok >= wantOK {
					t.Errorf("%d successes; want about %.0f (and fewer than %d without budget)", ok, want, wantOK)
				}
			})
		})
	}
}

func TestBudgetWithServerDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const calls = 1000
		rec := newAttempts()
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			rec.add(ctx)
			return nil, errdetails.Database("", nil) // UNAVAILABLE, retryable
		}}
		g := &grantRecorder{}
		env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithObserver(retry.Observer{OnRetry: g.OnRetry})}})
		// 1000 calls over 8 s, within one budget window.
		res := load{calls: calls, gap: 8 * time.Millisecond, deadline: time.Second}.run(t, env.Client, g)
		attempts := rec.count()
		t.Logf("%d calls made %d attempts (%.3f per call); %d retries", calls, attempts, float64(attempts)/calls, len(res.grants))
		if bound := calls + 0.2*calls + 100; float64(attempts) > bound {
			t.Errorf("%d attempts reached the server; want at most %.0f (calls × 1.2 + 10/s × 10 s)", attempts, bound)
		}
		if attempts < 1290 {
			t.Errorf("%d attempts; want the budget used up, about 1300", attempts)
		}
		checkBudget(t, res)
		exhausted := 0
		for id, err := range res.errs {
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("call %d: %v; want UNAVAILABLE", id, err)
			}
			if errors.Is(err, retry.ErrBudgetExhausted) {
				exhausted++
			}
			if res.took[id] > time.Second {
				t.Errorf("call %d took %v, past its 1s deadline", id, res.took[id])
			}
		}
		if exhausted < calls-300 {
			t.Errorf("%d calls stopped by the budget; want at least %d", exhausted, calls-300)
		}
	})
}

func TestBudgetError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := newAttempts()
		dbErr := errdetails.Database("orders", nil)
		svc := &grpctest.Service{UnaryFunc: failing(rec, 99, dbErr)}
		obs := &events{}
		env, _ := start(t, svc, setup{retry: []retry.Option{retry.WithBudget(0, 0, time.Second), retry.WithObserver(obs.observer())}})
		_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
		if !errors.Is(err, retry.ErrBudgetExhausted) {
			t.Fatalf("err = %v; want an error matching ErrBudgetExhausted", err)
		}
		if want := `retry: budget exhausted for "passthrough:///bufnet" after 1 attempts: `; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("err = %q; want the target and 1 attempt: %q...", err, want)
		}
		if status.Code(err) != codes.Unavailable {
			t.Errorf("status.Code = %v; want the last attempt's UNAVAILABLE", status.Code(err))
		}
		if ae, ok := errdetails.FromError(err); !ok || ae.Code != errdetails.CodeDatabase {
			t.Errorf("errdetails.FromError = %v, %v; want the server's DB_ERROR", ae, ok)
		}
		if rec.count() != 1 {
			t.Errorf("attempts = %d; want 1", rec.count())
		}
		_, _, ends := obs.snapshot()
		if len(ends) != 1 || ends[0].Reason != "budget" || !errors.Is(ends[0].Err, retry.ErrBudgetExhausted) {
			t.Errorf("OnFinish = %+v; want StopBudget with the budget error", ends)
		}
	})
}

func TestTokenBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var down bool
		var mu sync.Mutex
		rec := newAttempts()
		svc := &grpctest.Service{UnaryFunc: func(ctx context.Context, req *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			rec.add(ctx)
			mu.Lock()
			defer mu.Unlock()
			if down {
				return nil, errUnavailable
			}
			return &testpb.UnaryResponse{}, nil
		}}
		env, r := start(t, svc, setup{retry: []retry.Option{retry.WithTokenBucket(10, 0.1)}})
		setDown := func(v bool) { mu.Lock(); down = v; mu.Unlock() }
		call := func() int {
			before := rec.count()
			_, _ = env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
			return rec.count() - before
		}
		setDown(true)
		// 10 tokens, one less per failed attempt; retries only above 5.
		for i, want := range []int{3, 2, 1, 1} { // tokens 10→7, 7→5, 5→4, 4→3
			if got := call(); got != want {
				t.Errorf("call %d made %d attempts; want %d", i+1, got, want)
			}
		}
		if level, _ := retrystate.Of(r).BudgetLevel("passthrough:///bufnet"); level != 3 {
			t.Errorf("tokens = %v; want 3", level)
		}
		setDown(false)
		for range 20 { // +0.1 each: 3 → 5
			call()
		}
		setDown(true)
		if got := call(); got != 1 { // 5 → 4: not above half
			t.Errorf("at 5 tokens a failing call made %d attempts; want 1", got)
		}
		setDown(false)
		for range 21 { // 4 → 6.1
			call()
		}
		setDown(true)
		if got := call(); got != 2 { // 6.1 → 5.1: retry; 5.1 → 4.1: stop
			t.Errorf("at 6.1 tokens a failing call made %d attempts; want 2", got)
		}
	})
}
