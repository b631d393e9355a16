package concurrency_test

import (
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
)

func TestNewRefusesInvalidOptions(t *testing.T) {
	g, err := limit.NewGradient(limit.GradientConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		opts []concurrency.Option
		want string
	}{
		{nil, "concurrency: no limit: use WithLimit, WithMethodLimit or WithAdaptive"},
		{[]concurrency.Option{concurrency.WithLimit(0)}, "concurrency: WithLimit(0): must be between 1 and 2097151"},
		{[]concurrency.Option{concurrency.WithLimit(2097152)}, "concurrency: WithLimit(2097152)"},
		{[]concurrency.Option{concurrency.WithMethodLimit("Unary", 1)}, `concurrency: WithMethodLimit("Unary", 1): the method must be /package.Service/Method`},
		{[]concurrency.Option{concurrency.WithMethodLimit(unaryMethod, -1)}, "concurrency: WithMethodLimit"},
		{[]concurrency.Option{concurrency.WithLimit(1), concurrency.WithQueue(0, time.Second)}, "concurrency: WithQueue(0, 1s): the queue length"},
		{[]concurrency.Option{concurrency.WithLimit(1), concurrency.WithQueue(1, 0)}, "concurrency: WithQueue(1, 0s): the wait must be positive"},
		{[]concurrency.Option{concurrency.WithAdaptive(nil)}, "concurrency: WithAdaptive(nil)"},
		{[]concurrency.Option{concurrency.WithAdaptive(g), concurrency.WithLimit(3)}, "concurrency: WithAdaptive and WithLimit(3): choose one"},
		{[]concurrency.Option{concurrency.WithLimit(1), concurrency.WithWindow(0, 1)}, "concurrency: WithWindow(0s, 1)"},
		{[]concurrency.Option{concurrency.WithLimit(1), concurrency.WithRetryAfter(-time.Second)}, "concurrency: WithRetryAfter(-1s): must not be negative"},
		{[]concurrency.Option{concurrency.WithLimit(1), concurrency.WithPriority(0.9, 0.5, nil)}, "concurrency: WithPriority(0.9, 0.5)"},
		{[]concurrency.Option{concurrency.WithLimit(1), concurrency.WithPriority(0, 0.5, nil)}, "concurrency: WithPriority(0, 0.5)"},
		{[]concurrency.Option{concurrency.WithLimit(1), concurrency.WithClassifier(nil)}, "concurrency: WithClassifier(nil)"},
		{[]concurrency.Option{concurrency.WithLimit(1), nil}, "concurrency: nil Option"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if _, err := concurrency.New(tc.opts...); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("New = %v; want %q", err, tc.want)
			}
		})
	}
	// Every invalid option is reported, each naming itself.
	_, err = concurrency.New(concurrency.WithLimit(0), nil, concurrency.WithClassifier(nil))
	for _, want := range []string{"concurrency: WithLimit(0)", "concurrency: nil Option", "concurrency: WithClassifier(nil)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New with three invalid options = %v; want it to contain %q", err, want)
		}
	}
}

func TestPermitEndsOnce(t *testing.T) {
	l := newLimiter(t, concurrency.WithLimit(1))
	p, ok := l.TryAcquire(unaryMethod, concurrency.DefaultCriticality)
	if !ok {
		t.Fatal("TryAcquire failed")
	}
	if _, ok := l.TryAcquire(unaryMethod, concurrency.Critical); ok {
		t.Fatal("a second permit beyond the limit")
	}
	p.Release()
	p.Release()
	p.Drop()
	if s := l.Stats(); s.InFlight != 0 {
		t.Fatalf("InFlight = %d", s.InFlight)
	}
	var zero concurrency.Permit
	zero.Release() // holds nothing
}

func TestAdaptiveSamplesAndWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, err := limit.NewAIMD(limit.AIMDConfig{Initial: 10})
		if err != nil {
			t.Fatal(err)
		}
		obs := &events{}
		l := newLimiter(t, concurrency.WithAdaptive(a), concurrency.WithWindow(time.Second, 3), concurrency.WithObserver(obs.observer()))
		ctx := context.Background()
		end := func(kind string) {
			p, err := l.Acquire(ctx, unaryMethod)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
			switch kind {
			case "ok":
				p.Release()
			case "drop":
				p.Drop()
			default:
				p.Ignore()
			}
		}
		end("ok")
		end("ignore")
		end("drop")
		end("ok") // three samples, but the window is younger than 1s
		if l.Stats().Limit != 10 {
			t.Fatalf("limit changed before the window closed: %d", l.Stats().Limit)
		}
		time.Sleep(time.Second)
		end("ok") // closes the window: it had a drop
		if got := l.Stats().Limit; got != 9 {
			t.Fatalf("limit after a window with a drop = %d; want 9", got)
		}
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if obs.samples != 4 || len(obs.limits) != 1 || obs.limits[0].Sample.Drops != 1 || obs.limits[0].Sample.Calls != 4 {
			t.Errorf("samples %d, limit events %+v", obs.samples, obs.limits)
		}
		if rtt := obs.limits[0].Sample.RTT; rtt != 10*time.Millisecond {
			t.Errorf("window RTT = %v; want 10ms", rtt)
		}
	})
}

// FuzzLimiter drives a Limiter with a global limit, a method limit and a
// queue through random acquisitions, releases, waits, cancellations and clock
// steps, and checks after each step that the permits held per limit match
// the callers holding them and never exceed the limits, and that everything
// drains to zero.
func FuzzLimiter(f *testing.F) {
	f.Add(uint8(3), uint8(2), uint8(1), []byte{0, 0, 0, 5, 2, 9, 4, 1, 1, 8, 3})
	f.Add(uint8(1), uint8(1), uint8(0), []byte{0, 5, 1, 0, 5})
	f.Add(uint8(5), uint8(3), uint8(3), []byte{2, 2, 2, 2, 7, 7, 4, 11, 1, 1, 3, 10, 4})
	f.Fuzz(func(t *testing.T, global, method, queue uint8, ops []byte) {
		if len(ops) > 150 {
			ops = ops[:150]
		}
		synctest.Test(t, func(t *testing.T) {
			fuzzLimiter(t, 1+int(global%8), 1+int(method%8), int(queue%4), ops)
		})
	})
}

type held struct {
	p      concurrency.Permit
	method string
}

type pending struct {
	method string
	cancel context.CancelFunc
	done   chan error
	p      *concurrency.Permit
}

func fuzzLimiter(t *testing.T, global, method, queue int, ops []byte) {
	opts := []concurrency.Option{concurrency.WithLimit(global), concurrency.WithMethodLimit(unaryMethod, method), concurrency.WithPriority(0.5, 0.75, nil)}
	if queue > 0 {
		opts = append(opts, concurrency.WithQueue(queue, 10*time.Millisecond))
	}
	l := newLimiter(t, opts...)
	var permits []held
	var waiting []*pending
	defer func() { // let waiters go if a check fails
		for _, w := range waiting {
			w.cancel()
		}
	}()
	collect := func() {
		synctest.Wait()
		rest := waiting[:0]
		for _, w := range waiting {
			select {
			case err := <-w.done:
				w.cancel()
				if err == nil {
					permits = append(permits, held{*w.p, w.method})
				}
			default:
				rest = append(rest, w)
			}
		}
		waiting = rest
	}
	methods := []string{unaryMethod, unaryUnsafeMethod}
	for _, b := range ops {
		op, arg := b%5, int(b/5)
		m := methods[arg%2]
		c := concurrency.Criticality(arg % 3)
		switch op {
		case 0:
			if p, ok := l.TryAcquire(m, c); ok {
				permits = append(permits, held{p, m})
			}
		case 1:
			if len(permits) > 0 {
				i := arg % len(permits)
				switch arg % 3 {
				case 0:
					permits[i].p.Release()
				case 1:
					permits[i].p.Drop()
				default:
					permits[i].p.Ignore()
				}
				permits = append(permits[:i], permits[i+1:]...)
			}
		case 2:
			ctx, cancel := context.WithCancel(concurrency.NewCriticalityContext(context.Background(), c))
			w := &pending{method: m, cancel: cancel, done: make(chan error, 1), p: new(concurrency.Permit)}
			go func() {
				p, err := l.Acquire(ctx, m)
				*w.p = p
				w.done <- err
			}()
			waiting = append(waiting, w)
		case 3:
			if len(waiting) > 0 {
				waiting[arg%len(waiting)].cancel()
			}
		case 4:
			time.Sleep(time.Duration(arg%12) * time.Millisecond)
		}
		collect()
		inMethod, waitMethod := 0, 0
		for _, h := range permits {
			if h.method == unaryMethod {
				inMethod++
			}
		}
		for _, w := range waiting {
			if w.method == unaryMethod {
				waitMethod++
			}
		}
		gs := l.Stats()
		ms, _ := l.MethodStats(unaryMethod)
		// A caller of the limited method that waits for a global permit
		// already holds its method permit.
		switch {
		case gs.InFlight != len(permits) || ms.InFlight < inMethod || ms.InFlight > inMethod+waitMethod:
			t.Fatalf("Stats in flight: global %d, method %d; callers hold %d, %d (%d waiting)", gs.InFlight, ms.InFlight, len(permits), inMethod, waitMethod)
		case gs.InFlight > global || ms.InFlight > method:
			t.Fatalf("in flight %d/%d over the limits %d/%d", gs.InFlight, ms.InFlight, global, method)
		case gs.Queued+ms.Queued != len(waiting):
			t.Fatalf("queued %d+%d; %d callers wait", gs.Queued, ms.Queued, len(waiting))
		}
	}
	for _, w := range waiting {
		w.cancel()
	}
	collect()
	for _, h := range permits {
		h.p.Release()
	}
	gs := l.Stats()
	ms, _ := l.MethodStats(unaryMethod)
	if gs.InFlight != 0 || ms.InFlight != 0 || gs.Queued != 0 || ms.Queued != 0 {
		t.Fatalf("after draining: global %+v, method %+v", gs, ms)
	}
}
