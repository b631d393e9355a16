package concurrency_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
)

// heldCall is a call through a Limiter's unary server interceptor whose
// handler runs until the test ends it.
type heldCall struct {
	release chan struct{}
	entered chan struct{} // closed when the handler starts
	done    chan struct{} // closed when the interceptor returns
	err     error         // the interceptor's, once done
	ctxErr  error         // the handler's context's, as it returned
}

// startCall starts a call of fullMethod with ctx, and returns once it is
// in its handler, queued or refused (inside a synctest bubble).
func startCall(serve grpc.UnaryServerInterceptor, ctx context.Context, fullMethod string) *heldCall {
	c := &heldCall{release: make(chan struct{}), entered: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		resp, err := serve(ctx, nil, &grpc.UnaryServerInfo{FullMethod: fullMethod}, func(ctx context.Context, _ any) (any, error) {
			close(c.entered)
			<-c.release
			c.ctxErr = ctx.Err()
			return "ok", nil
		})
		if err == nil && resp != "ok" {
			err = fmt.Errorf("response %v; want ok", resp)
		}
		c.err = err
	}()
	synctest.Wait()
	return c
}

// state is "running" (in its handler), "queued", or the reason it was
// refused.
func (c *heldCall) state() string {
	select {
	case <-c.entered:
		return "running"
	default:
	}
	select {
	case <-c.done:
		if r := rejection(c.err); r != "" {
			return r
		}
		return fmt.Sprintf("failed: %v", c.err)
	default:
		return "queued"
	}
}

// end lets the handler return, and checks that the call completed
// normally: no error, and a context that nothing cancelled.
func (c *heldCall) end(t *testing.T) {
	t.Helper()
	close(c.release)
	<-c.done
	if c.err != nil || c.ctxErr != nil {
		t.Errorf("a held call ended with %v (its context: %v); want it to complete normally", c.err, c.ctxErr)
	}
}

// endAll lets the handlers of calls return, and checks that every call
// completed normally (the queued ones once they got a permit).
func endAll(t *testing.T, calls []*heldCall) {
	t.Helper()
	for _, c := range calls {
		close(c.release)
	}
	for _, c := range calls {
		<-c.done
		if c.err != nil || c.ctxErr != nil {
			t.Errorf("a held call ended with %v (its context: %v); want it to complete normally", c.err, c.ctxErr)
		}
	}
}

func reconfigure(t *testing.T, l *concurrency.Limiter, opts ...concurrency.Option) {
	t.Helper()
	if err := l.Reconfigure(opts...); err != nil {
		t.Fatal(err)
	}
}

func wantStats(t *testing.T, what string, got, want concurrency.Stats) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: Stats = %+v; want %+v", what, got, want)
	}
}

// Lowering a limit from 10 to 2 under 10 calls cancels none of them, and
// admits a new call only once fewer than 2 are in flight: refused at 2,
// admitted at 1. With a queue, the caller waiting is the one admitted.
func TestReconfigureLowersLimitKeepingCallsInFlight(t *testing.T) {
	for _, queue := range []bool{false, true} {
		t.Run(fmt.Sprintf("queue=%v", queue), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := func(n int) []concurrency.Option {
					if queue {
						return []concurrency.Option{concurrency.WithLimit(n), concurrency.WithQueue(10, time.Hour)}
					}
					return []concurrency.Option{concurrency.WithLimit(n)}
				}
				l := newLimiter(t, opts(10)...)
				serve := l.UnaryServerInterceptor()
				held := make([]*heldCall, 10)
				for i := range held {
					if held[i] = startCall(serve, t.Context(), unaryMethod); held[i].state() != "running" {
						t.Fatalf("call %d: %s; want running", i, held[i].state())
					}
				}
				reconfigure(t, l, opts(2)...)
				wantStats(t, "after lowering", l.Stats(), concurrency.Stats{Limit: 2, InFlight: 10})

				var waiter *heldCall // with a queue: a caller that waits throughout
				if queue {
					waiter = startCall(serve, t.Context(), unaryMethod)
				}
				for i, c := range held {
					inFlight := 10 - i
					switch {
					case queue && inFlight >= 2:
						if got := waiter.state(); got != "queued" {
							t.Fatalf("at %d in flight, the waiter is %s; want queued", inFlight, got)
						}
						wantStats(t, fmt.Sprintf("at %d in flight", inFlight), l.Stats(), concurrency.Stats{Limit: 2, InFlight: inFlight, Queued: 1})
					case queue: // 1 in flight: the waiter got the permit the last end freed
						if got := waiter.state(); got != "running" {
							t.Fatalf("at 1 in flight, the waiter is %s; want running", got)
						}
						wantStats(t, "waiter admitted", l.Stats(), concurrency.Stats{Limit: 2, InFlight: 2})
					case inFlight >= 2:
						if got := startCall(serve, t.Context(), unaryMethod).state(); got != "limit" {
							t.Fatalf("a new call at %d in flight: %s; want refused (limit)", inFlight, got)
						}
					default:
						p := startCall(serve, t.Context(), unaryMethod)
						if got := p.state(); got != "running" {
							t.Fatalf("a new call at 1 in flight: %s; want running", got)
						}
						if got := startCall(serve, t.Context(), unaryMethod).state(); got != "limit" {
							t.Fatalf("a new call at 2 in flight: %s; want refused (limit)", got)
						}
						p.end(t)
					}
					c.end(t)
					synctest.Wait()
				}
				if waiter != nil {
					waiter.end(t)
				}
				wantStats(t, "at the end", l.Stats(), concurrency.Stats{Limit: 2})
			})
		})
	}
}

// Raising a limit hands the new permits to the callers queued at once.
func TestReconfigureRaisesLimitWakingQueuedCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLimiter(t, concurrency.WithLimit(1), concurrency.WithQueue(10, time.Hour))
		serve := l.UnaryServerInterceptor()
		calls := []*heldCall{startCall(serve, t.Context(), unaryMethod)}
		for range 4 {
			calls = append(calls, startCall(serve, t.Context(), unaryMethod))
		}
		wantStats(t, "before", l.Stats(), concurrency.Stats{Limit: 1, InFlight: 1, Queued: 4})
		reconfigure(t, l, concurrency.WithLimit(4), concurrency.WithQueue(10, time.Hour))
		synctest.Wait()
		wantStats(t, "after raising", l.Stats(), concurrency.Stats{Limit: 4, InFlight: 4, Queued: 1})
		for i, c := range calls {
			if want := map[bool]string{true: "running", false: "queued"}[i < 4]; c.state() != want {
				t.Errorf("call %d: %s; want %s (first come, first served)", i, c.state(), want)
			}
		}
		for _, c := range calls {
			c.end(t)
		}
		wantStats(t, "at the end", l.Stats(), concurrency.Stats{Limit: 4})
	})
}

// An invalid or impossible reconfiguration returns an error naming the
// option, and changes nothing.
func TestPrepareRefusesAndChangesNothing(t *testing.T) {
	aimd := func(n int) limit.Algorithm {
		a, err := limit.NewAIMD(limit.AIMDConfig{Initial: n})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	fixed := []concurrency.Option{concurrency.WithLimit(10), concurrency.WithMethodLimit(unaryMethod, 3), concurrency.WithQueue(4, time.Second), concurrency.WithPriority(0.5, 0.8, nil)}
	tests := []struct {
		name string
		made []concurrency.Option
		opts []concurrency.Option
		want string
	}{
		{"invalid limit", fixed, []concurrency.Option{concurrency.WithLimit(0)}, "concurrency: WithLimit(0): must be between 1 and 2097151"},
		{"invalid among valid", fixed, []concurrency.Option{concurrency.WithLimit(3), concurrency.WithQueue(0, time.Second)}, "concurrency: WithQueue(0, 1s): the queue length"},
		{"invalid priority", fixed, []concurrency.Option{concurrency.WithLimit(3), concurrency.WithPriority(0.9, 0.5, nil)}, "concurrency: WithPriority(0.9, 0.5)"},
		{"nil option", fixed, []concurrency.Option{concurrency.WithLimit(3), nil}, "concurrency: nil Option"},
		{"both kinds", fixed, []concurrency.Option{concurrency.WithAdaptive(aimd(5)), concurrency.WithLimit(3)}, "concurrency: WithAdaptive and WithLimit(3): choose one"},
		{"fixed to adaptive", fixed, []concurrency.Option{concurrency.WithAdaptive(aimd(5))}, "concurrency: WithAdaptive: cannot change while running: the Limiter was made with WithLimit"},
		{"adaptive to fixed", []concurrency.Option{concurrency.WithAdaptive(aimd(10))}, []concurrency.Option{concurrency.WithLimit(5)}, "concurrency: WithLimit(5): cannot change while running: the Limiter was made with WithAdaptive"},
		{"methods to fixed", []concurrency.Option{concurrency.WithMethodLimit(unaryMethod, 3)}, []concurrency.Option{concurrency.WithLimit(5)}, "concurrency: WithLimit(5): cannot change while running: the Limiter was made without a global limit"},
		{"methods to adaptive", []concurrency.Option{concurrency.WithMethodLimit(unaryMethod, 3)}, []concurrency.Option{concurrency.WithAdaptive(aimd(5))}, "concurrency: WithAdaptive: cannot change while running: the Limiter was made without a global limit"},
		{"fixed left out", fixed, []concurrency.Option{concurrency.WithMethodLimit(unaryMethod, 3)}, "concurrency: WithLimit: cannot be left out while running"},
		{"adaptive left out", []concurrency.Option{concurrency.WithAdaptive(aimd(10))}, []concurrency.Option{concurrency.WithMethodLimit(unaryMethod, 3)}, "concurrency: WithAdaptive: cannot be left out while running"},
		{"no limit", []concurrency.Option{concurrency.WithMethodLimit(unaryMethod, 3)}, nil, "concurrency: no limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(t, tc.made...)
			p, ok := l.TryAcquire(unaryMethod, concurrency.DefaultCriticality)
			if !ok {
				t.Fatal("TryAcquire failed")
			}
			defer p.Release()
			stats, settings := l.Stats(), l.Settings()
			commit, err := l.Prepare(tc.opts...)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) || commit != nil {
				t.Fatalf("Prepare = %v, %v; want no commit and an error starting %q", commit != nil, err, tc.want)
			}
			if got := l.Stats(); got != stats {
				t.Errorf("Stats = %+v after a refused reconfiguration; want %+v", got, stats)
			}
			if got := l.Settings(); !reflect.DeepEqual(got, settings) {
				t.Errorf("settings = %+v after a refused reconfiguration; want %+v", got, settings)
			}
		})
	}
}

// Reconfigurations prepared concurrently and committed one at a time (as
// the chains do), while calls run, leave the configuration of the last
// commit: its limit, and per-call settings and semaphores identical to a
// Limiter made with its options.
func TestReconfigureConcurrently(t *testing.T) {
	const (
		m1 = "/svc.S/M1"
		m2 = "/svc.S/M2"
	)
	fixed := func(n int) []concurrency.Option {
		opts := []concurrency.Option{
			concurrency.WithLimit(n), concurrency.WithMethodLimit(m1, n+1),
			concurrency.WithRetryAfter(time.Duration(n) * time.Millisecond),
		}
		if n%2 == 0 { // m2's limit and the queue come and go
			opts = append(opts, concurrency.WithMethodLimit(m2, n+2), concurrency.WithQueue(n, time.Duration(n)*time.Millisecond))
		}
		if n%3 != 0 { // so does priority, with shares that change
			opts = append(opts, concurrency.WithPriority(1/float64(n), 0.5+1/float64(2*n), nil))
		}
		return opts
	}
	adaptive := func(n int) []concurrency.Option {
		a, err := limit.NewAIMD(limit.AIMDConfig{Initial: n})
		if err != nil {
			t.Fatal(err)
		}
		// Windows never close: the limit stays the algorithm's own.
		return append([]concurrency.Option{concurrency.WithAdaptive(a), concurrency.WithWindow(time.Hour, 1<<30)}, fixed(n)[1:]...)
	}
	for _, tc := range []struct {
		name string
		opts func(n int) []concurrency.Option
	}{{"fixed", fixed}, {"adaptive", adaptive}} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(t, tc.opts(1)...)
			ctx, stop := context.WithCancel(t.Context())
			var callers, reconfigurers sync.WaitGroup
			serve, invoke := l.UnaryServerInterceptor(), l.UnaryClientInterceptor()
			handler := func(context.Context, any) (any, error) { return nil, nil }
			invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return nil }
			for i := range 4 {
				callers.Go(func() {
					md := metadata.Pairs("x-bulwark-criticality", []string{"sheddable", "default", "critical"}[i%3])
					cctx := metadata.NewIncomingContext(ctx, md)
					for ctx.Err() == nil {
						for _, m := range []string{m1, m2, unaryMethod} {
							_, _ = serve(cctx, nil, &grpc.UnaryServerInfo{FullMethod: m}, handler)
							_ = invoke(cctx, m, nil, nil, nil, invoker)
						}
					}
				})
			}
			var mu sync.Mutex
			last := 1
			for g := range 4 {
				reconfigurers.Go(func() {
					for i := range 50 {
						n := 2 + g*50 + i
						commit, err := l.Prepare(tc.opts(n)...)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						commit()
						last = n
						mu.Unlock()
					}
				})
			}
			reconfigurers.Wait()
			stop()
			callers.Wait()
			if got := l.Stats(); got != (concurrency.Stats{Limit: last}) {
				t.Errorf("Stats = %+v; want the last commit's limit %d, nothing in flight or queued", got, last)
			}
			if got, want := l.Settings(), newLimiter(t, tc.opts(last)...).Settings(); !reflect.DeepEqual(got, want) {
				t.Errorf("settings after the last commit (%d) =\n%+v; want those of New with its options\n%+v", last, got, want)
			}
		})
	}
}

// A method limit changed keeps its permits; one added limits at once; one
// removed stops limiting new calls, and its calls in flight end normally.
func TestReconfigureMethodLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			m1 = "/svc.S/M1"
			m2 = "/svc.S/M2"
		)
		l := newLimiter(t, concurrency.WithMethodLimit(m1, 1))
		serve := l.UnaryServerInterceptor()
		a := startCall(serve, t.Context(), m1)
		var m2calls []*heldCall
		for range 3 {
			m2calls = append(m2calls, startCall(serve, t.Context(), m2))
		}
		for i, c := range append([]*heldCall{a}, m2calls...) {
			if c.state() != "running" {
				t.Fatalf("call %d: %s; want running", i, c.state())
			}
		}
		if got := startCall(serve, t.Context(), m1).state(); got != "limit" {
			t.Fatalf("a second call of M1: %s; want refused", got)
		}

		// Changed and added.
		reconfigure(t, l, concurrency.WithMethodLimit(m1, 2), concurrency.WithMethodLimit(m2, 1))
		if s, ok := l.MethodStats(m1); !ok || s != (concurrency.Stats{Limit: 2, InFlight: 1}) {
			t.Fatalf("M1 after raising its limit: %+v, %v; want limit 2 with its call in flight", s, ok)
		}
		if s, ok := l.MethodStats(m2); !ok || s != (concurrency.Stats{Limit: 1}) {
			t.Fatalf("M2 after adding its limit: %+v, %v; want limit 1, empty", s, ok)
		}
		b := startCall(serve, t.Context(), m1)
		if b.state() != "running" {
			t.Fatalf("a second call of M1 under the raised limit: %s", b.state())
		}
		if got := startCall(serve, t.Context(), m1).state(); got != "limit" {
			t.Fatalf("a third call of M1: %s; want refused", got)
		}
		c := startCall(serve, t.Context(), m2)
		if c.state() != "running" {
			t.Fatalf("the first call of M2 under its new limit: %s", c.state())
		}
		if got := startCall(serve, t.Context(), m2).state(); got != "limit" {
			t.Fatalf("a second call of M2: %s; want refused by its new limit", got)
		}

		// Removed.
		reconfigure(t, l, concurrency.WithMethodLimit(m2, 1))
		if s, ok := l.MethodStats(m1); ok {
			t.Fatalf("M1 after removing its limit: %+v; want no limit", s)
		}
		calls := append([]*heldCall{a, b, c}, m2calls...)
		for range 3 {
			d := startCall(serve, t.Context(), m1)
			if d.state() != "running" {
				t.Fatalf("a call of M1 with no limit: %s", d.state())
			}
			calls = append(calls, d)
		}
		endAll(t, calls)
		if s, _ := l.MethodStats(m2); s != (concurrency.Stats{Limit: 1}) {
			t.Errorf("M2 at the end: %+v", s)
		}
	})
}

// Shortening the queue, or removing it, drops none of the callers queued:
// they are served in turn; new callers are refused while the queue is too
// long.
func TestReconfigureShortensQueueDroppingNone(t *testing.T) {
	for _, tc := range []struct {
		name   string
		queue  []concurrency.Option
		reason string // of a new caller while 5 wait
	}{
		{"shorter", []concurrency.Option{concurrency.WithQueue(2, time.Hour)}, "queue_full"},
		{"removed", nil, "limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := newLimiter(t, concurrency.WithLimit(1), concurrency.WithQueue(5, time.Hour))
				serve := l.UnaryServerInterceptor()
				calls := []*heldCall{startCall(serve, t.Context(), unaryMethod)}
				for range 5 {
					calls = append(calls, startCall(serve, t.Context(), unaryMethod))
				}
				wantStats(t, "before", l.Stats(), concurrency.Stats{Limit: 1, InFlight: 1, Queued: 5})
				reconfigure(t, l, append([]concurrency.Option{concurrency.WithLimit(1)}, tc.queue...)...)
				wantStats(t, "after", l.Stats(), concurrency.Stats{Limit: 1, InFlight: 1, Queued: 5})
				if got := startCall(serve, t.Context(), unaryMethod).state(); got != tc.reason {
					t.Fatalf("a new caller: %s; want refused (%s)", got, tc.reason)
				}
				for i, c := range calls {
					if got := c.state(); got != "running" {
						t.Fatalf("caller %d: %s; want running (served in turn)", i, got)
					}
					c.end(t)
					synctest.Wait()
				}
				wantStats(t, "at the end", l.Stats(), concurrency.Stats{Limit: 1})
			})
		})
	}
}

// Priority shares and the trust function change live: raised shares admit
// the callers queued for them; lowered ones take nothing back.
func TestReconfigurePriority(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		opts := func(sheddable, normal float64, trusted func(context.Context) bool) []concurrency.Option {
			return []concurrency.Option{concurrency.WithLimit(10), concurrency.WithQueue(10, time.Hour), concurrency.WithPriority(sheddable, normal, trusted)}
		}
		l := newLimiter(t, opts(0.5, 1, nil)...)
		serve := l.UnaryServerInterceptor()
		as := func(c string) context.Context {
			return metadata.NewIncomingContext(t.Context(), metadata.Pairs("x-bulwark-criticality", c))
		}
		var calls []*heldCall
		start := func(c, want string) {
			t.Helper()
			call := startCall(serve, as(c), unaryMethod)
			if got := call.state(); got != want {
				t.Fatalf("a %s call at %+v: %s; want %s", c, l.Stats(), got, want)
			}
			calls = append(calls, call)
		}
		for range 5 {
			start("sheddable", "running")
		}
		start("sheddable", "queued")
		start("sheddable", "queued")

		reconfigure(t, l, opts(0.7, 1, nil)...) // sheddable: 5 to 7
		synctest.Wait()
		wantStats(t, "after raising the sheddable share", l.Stats(), concurrency.Stats{Limit: 10, InFlight: 7})
		for i, c := range calls {
			if c.state() != "running" {
				t.Fatalf("call %d: %s; want running", i, c.state())
			}
		}

		// Lowered, with a trust function: nothing is taken back; sheddable
		// calls wait, default ones have room up to 8, and a caller now
		// trusted to ask for critical goes ahead of the waiting ones.
		trusted := func(context.Context) bool { return true }
		reconfigure(t, l, opts(0.2, 0.8, trusted)...)
		wantStats(t, "after lowering", l.Stats(), concurrency.Stats{Limit: 10, InFlight: 7})
		start("sheddable", "queued")
		start("default", "running")
		start("default", "queued")
		start("critical", "running")
		wantStats(t, "with the critical call", l.Stats(), concurrency.Stats{Limit: 10, InFlight: 9, Queued: 2})
		endAll(t, calls)
		wantStats(t, "at the end", l.Stats(), concurrency.Stats{Limit: 10})
	})
}

// A new algorithm takes over the adaptive limit at once, with its own
// limit, and the calls in flight keep their permits; the same algorithm
// keeps its state; new window options apply from the next window.
func TestReconfigureAdaptive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		aimd := func(n int) limit.Algorithm {
			a, err := limit.NewAIMD(limit.AIMDConfig{Initial: n, Backoff: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			return a
		}
		a1, a2 := aimd(10), aimd(8)
		obs := &events{}
		l := newLimiter(t, concurrency.WithAdaptive(a1), concurrency.WithWindow(time.Second, 1), concurrency.WithObserver(obs.observer()))
		invoke := l.UnaryClientInterceptor()
		// call runs a client call that takes d (of the bubble's clock) and
		// fails with err.
		call := func(d time.Duration, err error) error {
			return invoke(t.Context(), unaryMethod, nil, nil, nil, func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
				<-time.After(d)
				return err
			})
		}
		drop := status.Error(codes.DeadlineExceeded, "slow") // a drop on the client
		held := make(chan error, 3)
		for range 3 {
			go func() { held <- call(time.Minute, nil) }()
		}
		synctest.Wait()

		reconfigure(t, l, concurrency.WithAdaptive(a2), concurrency.WithWindow(time.Second, 1), concurrency.WithObserver(obs.observer()))
		wantStats(t, "after replacing the algorithm", l.Stats(), concurrency.Stats{Limit: 8, InFlight: 3})
		if err := call(time.Second, drop); !errors.Is(err, drop) {
			t.Fatal(err)
		}
		if got := l.Stats().Limit; got != 4 || a1.Limit() != 10 {
			t.Fatalf("after a window with a drop: limit %d, old algorithm %d; want 4 from the new one, 10 untouched", got, a1.Limit())
		}

		// The same algorithm again, with a longer window: the window open
		// now still closes after a second, the next one after an hour.
		reconfigure(t, l, concurrency.WithAdaptive(a2), concurrency.WithWindow(time.Hour, 1), concurrency.WithObserver(obs.observer()))
		wantStats(t, "the same algorithm", l.Stats(), concurrency.Stats{Limit: 4, InFlight: 3})
		_ = call(time.Second, drop)
		if got := l.Stats().Limit; got != 2 {
			t.Fatalf("after the open window closed with a drop: limit %d; want 2", got)
		}
		_ = call(time.Second, drop)
		if got := l.Stats().Limit; got != 2 {
			t.Fatalf("a drop one second into an hour's window: limit %d; want 2 still", got)
		}
		for range 3 {
			if err := <-held; err != nil {
				t.Errorf("a call held across the reconfigurations: %v", err)
			}
		}
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if len(obs.limits) != 2 || obs.limits[0].Old != 8 || obs.limits[1].Old != 4 {
			t.Errorf("limit events = %+v; want 8 → 4 and 4 → 2", obs.limits)
		}
	})
}

// sliceAlg is an algorithm of a type that cannot be compared with ==.
type sliceAlg struct{ limits []int }

func (a sliceAlg) Limit() int              { return a.limits[0] }
func (a sliceAlg) Update(limit.Sample) int { return a.limits[0] }

// An algorithm whose type cannot be compared replaces the running one
// instead of panicking in the commit, which must not fail.
func TestReconfigureNonComparableAlgorithm(t *testing.T) {
	l, err := concurrency.New(concurrency.WithAdaptive(sliceAlg{[]int{4}}))
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Reconfigure(concurrency.WithAdaptive(sliceAlg{[]int{7}})); err != nil {
		t.Fatal(err)
	}
	if got := l.Stats().Limit; got != 7 {
		t.Fatalf("limit = %d; want the new algorithm's 7", got)
	}
}
