package concurrency_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
	"github.com/bulwarkrpc/bulwark/interceptors/concurrency/limit"
	"github.com/bulwarkrpc/bulwark/interceptors/outcome"
	"github.com/bulwarkrpc/bulwark/internal/grpctest"
	"github.com/bulwarkrpc/bulwark/internal/testpb"
)

// cpu models a server's processors: slots cores shared by the jobs in
// progress, each of which advances at min(1, slots/jobs) of the clock. A
// job does not stop when its caller gives up, as CPU-bound work does not.
type cpu struct {
	slots float64
	kick  chan struct{}
	quit  chan struct{}
	ended chan struct{}

	mu   sync.Mutex
	jobs []*job
	last time.Time
	idle chan struct{} // closed when jobs becomes empty; nil while it is
}

type job struct {
	rem  float64 // nanoseconds of work left
	done chan struct{}
}

func newCPU(slots int) *cpu {
	c := &cpu{slots: float64(slots), kick: make(chan struct{}, 1), quit: make(chan struct{}), ended: make(chan struct{}), last: time.Now()}
	go c.loop()
	return c
}

// run does work and returns when it is done.
func (c *cpu) run(work time.Duration) {
	j := &job{rem: float64(work), done: make(chan struct{})}
	c.mu.Lock()
	c.advance(time.Now())
	c.jobs = append(c.jobs, j)
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
	<-j.done
}

func (c *cpu) rate() float64 { return min(1, c.slots/float64(len(c.jobs))) }

func (c *cpu) advance(now time.Time) {
	elapsed := float64(now.Sub(c.last))
	c.last = now
	if len(c.jobs) == 0 {
		return
	}
	done := elapsed * c.rate()
	keep := c.jobs[:0]
	for _, j := range c.jobs {
		if j.rem -= done; j.rem <= float64(time.Microsecond) {
			close(j.done)
			continue
		}
		keep = append(keep, j)
	}
	clear(c.jobs[len(keep):])
	c.jobs = keep
	if len(c.jobs) == 0 && c.idle != nil {
		close(c.idle)
		c.idle = nil
	}
}

func (c *cpu) loop() {
	defer close(c.ended)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		c.mu.Lock()
		c.advance(time.Now())
		if len(c.jobs) > 0 {
			least := math.Inf(1)
			for _, j := range c.jobs {
				least = min(least, j.rem)
			}
			timer.Reset(time.Duration(math.Ceil(least / c.rate())))
		} else {
			timer.Stop()
		}
		c.mu.Unlock()
		select {
		case <-timer.C:
		case <-c.kick:
		case <-c.quit:
			return
		}
	}
}

// abort ends every job at once and stops the model.
func (c *cpu) abort() {
	c.mu.Lock()
	for _, j := range c.jobs {
		close(j.done)
	}
	c.jobs = nil
	c.mu.Unlock()
	close(c.quit)
	<-c.ended
}

// stop waits for every job to finish and stops the model.
func (c *cpu) stop() {
	c.mu.Lock()
	var idle chan struct{}
	if len(c.jobs) > 0 {
		c.idle = make(chan struct{})
		idle = c.idle
	}
	c.mu.Unlock()
	if idle != nil {
		<-idle
	}
	close(c.quit)
	<-c.ended
}

type loadResult struct {
	p50, p99                 time.Duration // of the calls that succeeded
	goodput                  float64       // calls that succeeded per second
	ok, rejected, late, sent int
}

// offer sends calls at a steady rate for dur, each with the given deadline,
// and measures those started after warmup.
func offer(t testing.TB, c testpb.TestServiceClient, perSecond float64, dur, warmup, deadline time.Duration) loadResult {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var r loadResult
	var lat []time.Duration
	start := time.Now()
	tick := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
	defer tick.Stop()
	for time.Since(start) < dur {
		<-tick.C
		measured := time.Since(start) >= warmup
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			s := time.Now()
			_, err := c.Unary(ctx, &testpb.UnaryRequest{})
			el := time.Since(s)
			if !measured {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			r.sent++
			switch status.Code(err) {
			case codes.OK:
				r.ok++
				lat = append(lat, el)
			case codes.Unavailable:
				r.rejected++
			case codes.DeadlineExceeded:
				r.late++
			default:
				t.Errorf("unexpected error %v", err)
			}
		})
	}
	wg.Wait()
	slices.Sort(lat)
	if len(lat) > 0 {
		r.p50, r.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	r.goodput = float64(r.ok) / (dur - warmup).Seconds()
	return r
}

// TestAdaptiveLimitUnderOverload offers four times a server's capacity and
// checks that the gradient limit keeps the latency of the calls it admits
// near their unloaded latency and its goodput near capacity, where the same
// server without a limit serves almost nothing in time.
func TestAdaptiveLimitUnderOverload(t *testing.T) {
	const (
		slots    = 8
		work     = 100 * time.Millisecond // per call, alone on a core
		capacity = slots * float64(time.Second/work)
		deadline = time.Second
	)
	run := func(t *testing.T, limited bool, perSecond float64, dur, warmup time.Duration) (loadResult, concurrency.Stats) {
		var res loadResult
		var stats concurrency.Stats
		synctest.Test(t, func(t *testing.T) {
			c := newCPU(slots)
			svc := &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
				c.run(work)
				return &testpb.UnaryResponse{}, nil
			}}
			var opts grpctest.Options
			var l *concurrency.Limiter
			if limited {
				g, err := limit.NewGradient(limit.GradientConfig{})
				if err != nil {
					t.Fatal(err)
				}
				l = newLimiter(t, concurrency.WithAdaptive(g))
				opts.Server = []grpc.ServerOption{grpc.ChainUnaryInterceptor(l.UnaryServerInterceptor())}
			}
			env := grpctest.Start(t, svc, opts)
			res = offer(t, env.Client, perSecond, dur, warmup, deadline)
			c.stop()
			if l != nil {
				stats = l.Stats()
			}
		})
		return res, stats
	}

	unloaded, _ := run(t, true, capacity/2, 3*time.Second, time.Second)
	without, _ := run(t, false, 4*capacity, 8*time.Second, 4*time.Second)
	with, stats := run(t, true, 4*capacity, 8*time.Second, 4*time.Second)

	t.Logf("capacity %.0f calls/s; offered 4x = %.0f calls/s; deadline %v", capacity, 4*capacity, deadline)
	for _, r := range []struct {
		name string
		r    loadResult
	}{{"unloaded (0.5x)", unloaded}, {"4x, no limiter", without}, {"4x, gradient limiter", with}} {
		t.Logf("%-22s p50 %6v  p99 %6v  goodput %5.1f/s (%3.0f%% of capacity)  ok %d  rejected %d  late %d  of %d",
			r.name, r.r.p50, r.r.p99, r.r.goodput, 100*r.r.goodput/capacity, r.r.ok, r.r.rejected, r.r.late, r.r.sent)
	}
	t.Logf("limit at the end: %d (capacity %d cores)", stats.Limit, slots)

	if unloaded.p50 != work || unloaded.late+unloaded.rejected != 0 {
		t.Fatalf("unloaded run: p50 %v, %d late, %d rejected; want %v and none", unloaded.p50, unloaded.late, unloaded.rejected, work)
	}
	if without.goodput > 0.25*capacity {
		t.Errorf("without a limiter goodput is %.0f/s; the model should collapse below 25%% of capacity", without.goodput)
	}
	if with.goodput < 0.8*capacity {
		t.Errorf("with the limiter goodput is %.0f/s; want at least 80%% of capacity (%.0f/s)", with.goodput, capacity)
	}
	if 2*with.p50 > 3*unloaded.p50 || with.p99 > 2*unloaded.p50 {
		t.Errorf("with the limiter p50 %v, p99 %v; want at most 1.5x and 2x the unloaded %v", with.p50, with.p99, unloaded.p50)
	}
	if with.late > with.sent/100 {
		t.Errorf("%d of %d admitted calls missed their deadline", with.late, with.sent)
	}
}

// TestAdaptiveClientAIMD runs a client with an AIMD limit against a server
// that sheds everything above 8 calls: the client's limit comes down to
// about what the server takes, so the server rarely has to refuse.
func TestAdaptiveClientAIMD(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		server := newLimiter(t, concurrency.WithLimit(8))
		a, err := limit.NewAIMD(limit.AIMDConfig{Initial: 30})
		if err != nil {
			t.Fatal(err)
		}
		obs := &events{}
		cl := newLimiter(t, concurrency.WithAdaptive(a), concurrency.WithObserver(obs.observer()))
		env := grpctest.Start(t, &grpctest.Service{UnaryFunc: func(context.Context, *testpb.UnaryRequest) (*testpb.UnaryResponse, error) {
			time.Sleep(50 * time.Millisecond)
			return &testpb.UnaryResponse{}, nil
		}}, grpctest.Options{
			Server: []grpc.ServerOption{grpc.ChainUnaryInterceptor(server.UnaryServerInterceptor())},
			Dial:   []grpc.DialOption{grpc.WithChainUnaryInterceptor(cl.UnaryClientInterceptor())},
		})
		var mu sync.Mutex
		var remote, local, ok int
		var wg sync.WaitGroup
		start := time.Now()
		for range 30 {
			wg.Go(func() {
				for time.Since(start) < 20*time.Second {
					_, err := env.Client.Unary(t.Context(), &testpb.UnaryRequest{})
					late := time.Since(start) > 10*time.Second
					mu.Lock()
					switch {
					case err == nil:
						ok++
					case errors.Is(err, outcome.ErrLocalReject):
						if late {
							local++
						}
					case status.Code(err) == codes.Unavailable:
						if late {
							remote++
						}
					default:
						t.Errorf("unexpected error %v", err)
					}
					mu.Unlock()
					if err != nil {
						time.Sleep(10 * time.Millisecond)
					}
				}
			})
		}
		wg.Wait()
		final := cl.Stats().Limit
		t.Logf("client limit %d; in the last 10 s: %d refused by the server, %d locally; %d calls succeeded in all", final, remote, local, ok)
		if final < 5 || final > 12 {
			t.Errorf("client limit settled at %d; want about the server's 8", final)
		}
		if remote > local/10 {
			t.Errorf("the server refused %d calls in the last 10 s, the client %d; want the client to do most of the refusing", remote, local)
		}
		obs.mu.Lock()
		defer obs.mu.Unlock()
		if len(obs.limits) == 0 || obs.limits[0].Old != 30 || obs.samples == 0 {
			t.Errorf("limit events %v, %d samples", obs.limits[:min(3, len(obs.limits))], obs.samples)
		}
	})
}
