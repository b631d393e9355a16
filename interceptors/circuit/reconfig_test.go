package circuit

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/breaker"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/reconfig"
)

// consecutive builds breakers that trip after n consecutive failures (no
// rate rule), stay open exactly open, and close after one successful probe.
func consecutive(n int, open time.Duration) Option {
	return WithBreakerOptions(breaker.WithTimeWindow(0, 0), breaker.WithConsecutiveFailures(n),
		breaker.WithOpenJitter(0), breaker.WithOpenDuration(open, time.Minute), breaker.WithHalfOpen(1, 1))
}

func newTestCircuit(t *testing.T, opts ...Option) *Circuit {
	t.Helper()
	c, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// reconfigureCircuit prepares opts through the function registered with
// package reconfig, and commits them.
func reconfigureCircuit(t *testing.T, c *Circuit, opts ...Option) {
	t.Helper()
	commit, err := reconfig.Circuit(c, opts)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	commit()
}

// fail reports n failed calls to b.
func fail(t *testing.T, b *breaker.Breaker, n int) {
	t.Helper()
	for range n {
		p, err := b.Allow()
		if err != nil {
			t.Fatalf("Allow: %v", err)
		}
		p.Done(breaker.Failed)
	}
}

func wantBreakerState(t *testing.T, name string, b *breaker.Breaker, want breaker.State) {
	t.Helper()
	if got := b.State(); got != want {
		t.Fatalf("%s: state = %v, want %v", name, got, want)
	}
}

// changes records the state changes an Observer hears.
type changes struct {
	mu   sync.Mutex
	list []string
}

func (c *changes) observer() Observer {
	return Observer{OnStateChange: func(_ context.Context, e StateEvent) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.list = append(c.list, fmt.Sprintf("%s%s %v>%v", e.Target, e.Method, e.From, e.To))
	}}
}

// String returns the changes heard, sorted: timers that fire at one
// instant report in any order.
func (c *changes) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(slices.Sorted(slices.Values(c.list)), ", ")
}

// TestPrepareRefuses: prepare refuses, naming the option, a change of
// WithPerMethod or WithMaxBreakers and an invalid option, and then changes
// nothing; the same values are accepted.
func TestPrepareRefuses(t *testing.T) {
	const fixed = "cannot change while running; it is fixed when the Circuit is made"
	tests := []struct {
		name string
		opts []Option
		want string // "": accepted
	}{
		{"same fixed options", []Option{WithPerMethod(true), WithMaxBreakers(8), consecutive(2, time.Second)}, ""},
		{"per method off", []Option{WithMaxBreakers(8)}, "circuit: WithPerMethod(false): " + fixed},
		{"max breakers -1", []Option{WithPerMethod(true), WithMaxBreakers(7)}, "circuit: WithMaxBreakers(7): " + fixed},
		{"max breakers +1", []Option{WithPerMethod(true), WithMaxBreakers(9)}, "circuit: WithMaxBreakers(9): " + fixed},
		{"max breakers default", []Option{WithPerMethod(true)}, "circuit: WithMaxBreakers(1024): " + fixed},
		{"both", []Option{WithMaxBreakers(9)},
			"circuit: WithPerMethod(false): " + fixed + "\ncircuit: WithMaxBreakers(9): " + fixed},
		{"invalid breaker option", []Option{WithPerMethod(true), WithMaxBreakers(8), WithBreakerOptions(breaker.WithFailureRate(2))},
			"circuit: WithBreakerOptions: breaker: WithFailureRate(2): must be in (0, 1]"},
		{"invalid max breakers", []Option{WithPerMethod(true), WithMaxBreakers(0)}, "circuit: WithMaxBreakers(0): must be at least 1"},
		{"nil option", []Option{WithPerMethod(true), WithMaxBreakers(8), nil}, "circuit: nil Option"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestCircuit(t, WithPerMethod(true), WithMaxBreakers(8), consecutive(3, time.Second))
			b := c.ClientBreaker("t", "/s/M")
			before := c.opts.Load()
			commit, err := reconfig.Circuit(c, tc.opts)
			if tc.want == "" {
				if err != nil || commit == nil {
					t.Fatalf("prepare = %v, %v; want a commit", commit != nil, err)
				}
			} else if commit != nil || err == nil || err.Error() != tc.want {
				t.Fatalf("prepare = %v, %v; want error %q", commit != nil, err, tc.want)
			}
			// Prepared or refused, nothing changed: the old threshold governs.
			if c.opts.Load() != before {
				t.Fatal("prepare replaced the options")
			}
			fail(t, b, 2)
			wantBreakerState(t, "t", b, breaker.StateClosed)
			fail(t, b, 1)
			wantBreakerState(t, "t", b, breaker.StateOpen)
		})
	}
}

// TestCommitReconfiguresBreakers: a commit reconfigures the client and
// server breakers held, keeping their state (an open one stays open to the
// end of its open time), with hooks that tell the new observer; breakers
// made afterwards use the new options.
func TestCommitReconfiguresBreakers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		oldObs, newObs := &changes{}, &changes{}
		c := newTestCircuit(t, consecutive(5, 5*time.Second), WithObserver(oldObs.observer()))
		open, closed := c.ClientBreaker("open", ""), c.ClientBreaker("closed", "")
		server := c.ServerBreaker("/s/M")
		fail(t, open, 5)
		wantBreakerState(t, "open", open, breaker.StateOpen)
		fail(t, closed, 3)
		fail(t, server, 3)
		time.Sleep(2 * time.Second)

		reconfigureCircuit(t, c, consecutive(4, time.Second), WithObserver(newObs.observer()))
		if c.ClientBreaker("open", "") != open || c.ClientBreaker("closed", "") != closed || c.ServerBreaker("/s/M") != server {
			t.Fatal("the commit replaced breakers")
		}
		wantBreakerState(t, "open", open, breaker.StateOpen)
		if d := open.RefusesFor(); d != 3*time.Second {
			t.Fatalf("open: RefusesFor = %v, want the 3s left of its old open time", d)
		}
		for name, b := range map[string]*breaker.Breaker{"closed": closed, "server": server} {
			if n := b.Counts().ConsecutiveFailures; n != 3 {
				t.Fatalf("%s: %d consecutive failures, want the 3 kept", name, n)
			}
			fail(t, b, 1) // the 4th: the new threshold
			wantBreakerState(t, name, b, breaker.StateOpen)
			if d := b.RefusesFor(); d != time.Second {
				t.Fatalf("%s: RefusesFor = %v, want the new 1s", name, d)
			}
		}
		made := c.ClientBreaker("made after", "")
		fail(t, made, 3)
		wantBreakerState(t, "made after", made, breaker.StateClosed)
		fail(t, made, 1)
		wantBreakerState(t, "made after", made, breaker.StateOpen)

		time.Sleep(3*time.Second - 1)
		synctest.Wait()
		wantBreakerState(t, "open", open, breaker.StateOpen)
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		wantBreakerState(t, "open", open, breaker.StateHalfOpen)

		if got, want := oldObs.String(), "open closed>open"; got != want {
			t.Fatalf("old observer heard %q, want %q", got, want)
		}
		want := "/s/M closed>open, /s/M open>half_open, closed closed>open, closed open>half_open, " +
			"made after closed>open, made after open>half_open, open open>half_open"
		if got := newObs.String(); got != want {
			t.Fatalf("new observer heard:\n %s\nwant\n %s", got, want)
		}
	})
}

// TestCommitReconfiguresOverflow: the overflow breakers, shared by keys
// that find a registry full of open breakers, are reconfigured too.
func TestCommitReconfiguresOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newTestCircuit(t, consecutive(1, 5*time.Second), WithMaxBreakers(2))
		for _, k := range []string{"a", "b"} {
			fail(t, c.ClientBreaker(k, ""), 1)
			fail(t, c.ServerBreaker("/s/"+k), 1)
		}
		client, server := c.ClientBreaker("x", ""), c.ServerBreaker("/s/x")
		if client != c.ClientBreaker("y", "") || server != c.ServerBreaker("/s/y") {
			t.Fatal("new keys did not share the overflow breakers")
		}
		reconfigureCircuit(t, c, consecutive(3, 5*time.Second), WithMaxBreakers(2))
		for name, b := range map[string]*breaker.Breaker{"client overflow": client, "server overflow": server} {
			fail(t, b, 2)
			wantBreakerState(t, name, b, breaker.StateClosed)
			fail(t, b, 1)
			wantBreakerState(t, name, b, breaker.StateOpen)
		}
	})
}

// TestCommitRacesNewBreakers: breakers made while a commit runs end up with
// the new options, whether made before its sweep or after.
func TestCommitRacesNewBreakers(t *testing.T) {
	for round := range 20 {
		c := newTestCircuit(t, consecutive(100, time.Minute), WithMaxBreakers(4096))
		commit, err := reconfig.Circuit(c, []Option{consecutive(2, time.Minute), WithMaxBreakers(4096)})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 100 {
					k := fmt.Sprintf("%d-%d-%d", round, g, i)
					c.ClientBreaker(k, "")
					c.ServerBreaker("/s/" + k)
				}
			})
		}
		wg.Go(commit)
		wg.Wait()
		held := map[key]*entry{}
		for _, r := range []*registry{c.clients, c.servers} {
			r.mu.Lock()
			r.eachLocked(func(k key, e *entry) { held[k] = e })
			r.mu.Unlock()
		}
		if len(held) != 800 {
			t.Fatalf("%d breakers held, want 800", len(held))
		}
		for k, e := range held {
			fail(t, e.b, 2)
			wantBreakerState(t, fmt.Sprint(k), e.b, breaker.StateOpen)
		}
	}
}

// TestCommitReplacesCallOptions: the calls after a commit use its
// classifier, observer and fallback.
func TestCommitReplacesCallOptions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer cc.Close()
		down := status.Error(codes.Unavailable, "down")
		invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error { return down }
		var calls, fallbacks int
		c := newTestCircuit(t, consecutive(2, time.Second))
		u := c.UnaryClientInterceptor()
		call := func() error { return u(context.Background(), "/s/M", nil, nil, cc, invoker) }
		if err := call(); err != down {
			t.Fatalf("call: %v", err)
		}

		healthy := func(context.Context, outcome.Attempt) outcome.Outcome { return outcome.Success }
		reconfigureCircuit(t, c, consecutive(2, time.Second), WithClassifier(healthy),
			WithObserver(Observer{OnCall: func(context.Context, CallEvent) { calls++ }}))
		for range 3 {
			if err := call(); err != down {
				t.Fatalf("call: %v", err)
			}
		}
		if b := c.ClientBreaker("passthrough:///bufnet", ""); b.State() != breaker.StateClosed || b.Counts().Successes != 3 {
			t.Fatalf("breaker %v with %+v, want closed with the 3 calls counted as successes", b.State(), b.Counts())
		}
		if calls != 3 {
			t.Fatalf("the new observer heard %d calls, want 3", calls)
		}

		fallback := func(_ context.Context, _ string, _, _ any, err error) error {
			fallbacks++
			return nil
		}
		reconfigureCircuit(t, c, consecutive(1, time.Second), WithFallback(fallback, false))
		if err := call(); err != down {
			t.Fatalf("tripping call: %v", err)
		}
		if err := call(); err != nil || fallbacks != 1 {
			t.Fatalf("refused call = %v after %d fallbacks, want the fallback's nil", err, fallbacks)
		}
	})
}
