package limiter

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNeverMoreThanLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit, callers = 7, 200
		s := New(limit, callers, nil)
		var cur, peak, ok atomic.Int64
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				if s.Acquire(t.Context(), Default, time.Hour) != Acquired {
					return
				}
				n := cur.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				time.Sleep(time.Millisecond)
				cur.Add(-1)
				ok.Add(1)
				s.Release()
			})
		}
		wg.Wait()
		if peak.Load() != limit {
			t.Errorf("peak concurrency = %d; want exactly %d", peak.Load(), limit)
		}
		if ok.Load() != callers || s.InFlight() != 0 || s.Queued() != 0 {
			t.Errorf("ok=%d inflight=%d queued=%d; want %d, 0, 0", ok.Load(), s.InFlight(), s.Queued(), callers)
		}
	})
}

func TestResults(t *testing.T) {
	tests := []struct {
		name     string
		maxQueue int
		maxWait  time.Duration
		ctxWait  time.Duration // 0: no deadline
		fill     int           // waiters already queued
		want     Result
		elapsed  time.Duration
	}{
		{name: "no queue", maxQueue: 0, want: Full},
		{name: "queue full", maxQueue: 1, fill: 1, maxWait: time.Second, want: QueueFull},
		{name: "max wait", maxQueue: 4, maxWait: 50 * time.Millisecond, want: Timeout, elapsed: 50 * time.Millisecond},
		{name: "deadline first", maxQueue: 4, maxWait: time.Second, ctxWait: 20 * time.Millisecond, want: Done, elapsed: 20 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := New(1, tc.maxQueue, nil)
				if !s.TryAcquire(Critical) {
					t.Fatal("first TryAcquire failed")
				}
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				for range tc.fill {
					go s.Acquire(ctx, Default, time.Hour)
				}
				synctest.Wait()
				callCtx := t.Context()
				if tc.ctxWait > 0 {
					var c context.CancelFunc
					callCtx, c = context.WithTimeout(callCtx, tc.ctxWait)
					defer c()
				}
				start := time.Now()
				if got := s.Acquire(callCtx, Default, tc.maxWait); got != tc.want {
					t.Errorf("Acquire = %v; want %v", got, tc.want)
				}
				if el := time.Since(start); el != tc.elapsed {
					t.Errorf("took %v; want %v", el, tc.elapsed)
				}
				cancel()
				synctest.Wait()
				s.Release()
				if s.InFlight() != 0 || s.Queued() != 0 {
					t.Errorf("inflight=%d queued=%d; want 0, 0", s.InFlight(), s.Queued())
				}
			})
		})
	}
}

func TestPriorityShares(t *testing.T) {
	s := New(10, 0, []float64{1, 0.8, 0.5})
	count := func(c Class) int {
		n := 0
		for s.TryAcquire(c) {
			n++
		}
		return n
	}
	if got := count(Sheddable); got != 5 {
		t.Errorf("sheddable took %d permits; want 5", got)
	}
	if got := count(Default); got != 3 {
		t.Errorf("default took %d more; want 3 (up to 8)", got)
	}
	if got := count(Critical); got != 2 {
		t.Errorf("critical took %d more; want 2 (up to 10)", got)
	}
	for range 10 {
		s.Release()
	}
	if th := []int{s.Threshold(Critical), s.Threshold(Default), s.Threshold(Sheddable)}; th[0] != 10 || th[1] != 8 || th[2] != 5 {
		t.Errorf("thresholds = %v; want [10 8 5]", th)
	}
	s.SetLimit(1)
	if s.Threshold(Sheddable) != 1 {
		t.Errorf("sheddable threshold at limit 1 = %d; want 1", s.Threshold(Sheddable))
	}
}

func TestQueueOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(1, 10, nil)
		s.TryAcquire(Critical)
		var mu sync.Mutex
		var order []string
		enqueue := func(name string, c Class) {
			go func() {
				if s.Acquire(t.Context(), c, time.Hour) == Acquired {
					mu.Lock()
					order = append(order, name)
					mu.Unlock()
					time.Sleep(time.Millisecond)
					s.Release()
				}
			}()
			synctest.Wait()
		}
		enqueue("shed1", Sheddable)
		enqueue("def1", Default)
		enqueue("def2", Default)
		enqueue("crit1", Critical)
		// A newcomer does not jump a queue of its own class or a more
		// important one.
		if s.TryAcquire(Default) {
			t.Fatal("TryAcquire jumped the queue")
		}
		s.Release()
		synctest.Wait()
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		want := []string{"crit1", "def1", "def2", "shed1"}
		if len(order) != len(want) {
			t.Fatalf("order = %v; want %v", order, want)
		}
		for i := range want {
			if order[i] != want[i] {
				t.Fatalf("order = %v; want %v", order, want)
			}
		}
	})
}

func TestCriticalPassesSheddableWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(4, 10, []float64{1, 1, 0.5})
		s.TryAcquire(Sheddable)
		s.TryAcquire(Sheddable)
		ctx, cancel := context.WithCancel(t.Context())
		go s.Acquire(ctx, Sheddable, time.Hour)
		synctest.Wait()
		if s.Queued() != 1 {
			t.Fatalf("queued = %d; want the sheddable caller waiting", s.Queued())
		}
		if !s.TryAcquire(Critical) {
			t.Error("a critical call waited behind sheddable ones although it had room")
		}
		cancel()
		synctest.Wait()
		for range 3 {
			s.Release()
		}
		if s.InFlight() != 0 || s.Queued() != 0 {
			t.Errorf("inflight=%d queued=%d", s.InFlight(), s.Queued())
		}
	})
}

func TestSetLimitWakesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(1, 10, nil)
		s.TryAcquire(Default)
		var got atomic.Int64
		for range 3 {
			go func() {
				if s.Acquire(t.Context(), Default, time.Hour) == Acquired {
					got.Add(1)
				}
			}()
		}
		synctest.Wait()
		s.SetLimit(3)
		synctest.Wait()
		if got.Load() != 2 || s.InFlight() != 3 || s.Queued() != 1 {
			t.Fatalf("granted=%d inflight=%d queued=%d; want 2, 3, 1", got.Load(), s.InFlight(), s.Queued())
		}
		s.SetLimit(1)
		for range 3 {
			s.Release()
		}
		synctest.Wait()
		if got.Load() != 3 || s.InFlight() != 1 {
			t.Fatalf("granted=%d inflight=%d; want 3, 1", got.Load(), s.InFlight())
		}
		s.Release()
	})
}

func TestReleaseWithoutPermitPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Release without a permit did not panic")
		}
	}()
	New(1, 0, nil).Release()
}

func TestNewRefusesBadValues(t *testing.T) {
	tests := []struct {
		name   string
		limit  int
		queue  int
		shares []float64
	}{
		{"zero limit", 0, 0, nil},
		{"limit too large", MaxLimit + 1, 0, nil},
		{"negative queue", 1, -1, nil},
		{"share zero", 1, 0, []float64{1, 0, 0}},
		{"shares increase", 1, 0, []float64{1, 0.5, 0.8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			New(tc.limit, tc.queue, tc.shares)
		})
	}
}

// FuzzSemaphore runs random sequences of acquisitions, releases, waits,
// cancellations, clock steps and limit changes, and checks after each step
// that the permits held match the callers holding one, that no grant ever
// pushed them over the limit, and that everything drains to zero.
func FuzzSemaphore(f *testing.F) {
	f.Add(uint8(2), uint8(2), []byte{0, 0, 0, 2, 9, 16, 1, 4, 1, 1})
	f.Add(uint8(1), uint8(0), []byte{0, 7, 14, 1, 0})
	f.Add(uint8(3), uint8(5), []byte{2, 9, 16, 23, 5, 12, 3, 1, 1, 4, 11, 18})
	f.Add(uint8(4), uint8(3), []byte{0, 0, 0, 0, 2, 2, 2, 5, 3, 3, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, limit, queue uint8, ops []byte) {
		if len(ops) > 200 {
			ops = ops[:200]
		}
		synctest.Test(t, func(t *testing.T) {
			fuzzSemaphore(t, 1+int(limit%16), int(queue%8), ops)
		})
	})
}

type fuzzWaiter struct {
	cancel context.CancelFunc
	done   chan Result
}

func fuzzSemaphore(t *testing.T, limit, queue int, ops []byte) {
	s := New(limit, queue, []float64{1, 0.75, 0.5})
	held := 0
	var waiting []*fuzzWaiter
	collect := func() (granted int) {
		synctest.Wait()
		rest := waiting[:0]
		for _, w := range waiting {
			select {
			case r := <-w.done:
				w.cancel()
				if r == Acquired {
					held++
					granted++
				}
			default:
				rest = append(rest, w)
			}
		}
		waiting = rest
		return granted
	}
	for _, b := range ops {
		op, arg := b%7, int(b/7)
		class := Class(arg % int(NumClasses))
		switch op {
		case 0:
			if s.TryAcquire(class) {
				held++
				if s.InFlight() > s.Threshold(class) {
					t.Fatalf("class %d holds %d permits; threshold %d", class, s.InFlight(), s.Threshold(class))
				}
			}
		case 1:
			if held > 0 {
				held--
				s.Release()
			}
		case 2:
			ctx, cancel := context.WithCancel(context.Background())
			w := &fuzzWaiter{cancel: cancel, done: make(chan Result, 1)}
			wait := time.Duration(arg%4) * 10 * time.Millisecond
			go func() { w.done <- s.Acquire(ctx, class, wait) }()
			waiting = append(waiting, w)
		case 3:
			if len(waiting) > 0 {
				waiting[arg%len(waiting)].cancel()
			}
		case 4:
			time.Sleep(time.Duration(arg) * time.Millisecond)
		case 5:
			s.SetLimit(1 + arg%16)
		case 6:
			if s.TryAcquire(Critical) {
				held++
			}
		}
		granted := collect()
		if got := s.InFlight(); got != held {
			t.Fatalf("after op %d: InFlight = %d; callers hold %d", op, got, held)
		}
		if granted > 0 && held > s.Limit() {
			t.Fatalf("after op %d: a grant took the count to %d over the limit %d", op, held, s.Limit())
		}
		if got := s.Queued(); got != len(waiting) {
			t.Fatalf("after op %d: Queued = %d; %d callers wait", op, got, len(waiting))
		}
		if s.Queued() > queue {
			t.Fatalf("Queued = %d over the queue length %d", s.Queued(), queue)
		}
	}
	for _, w := range waiting {
		w.cancel()
	}
	collect()
	for range held {
		s.Release()
	}
	if s.InFlight() != 0 || s.Queued() != 0 {
		t.Fatalf("after draining: InFlight = %d, Queued = %d; want 0, 0", s.InFlight(), s.Queued())
	}
}

func BenchmarkTryAcquireRelease(b *testing.B) {
	s := New(MaxLimit, 0, nil)
	for b.Loop() {
		if s.TryAcquire(Default) {
			s.Release()
		}
	}
}

func BenchmarkTryAcquireReleaseParallel(b *testing.B) {
	s := New(MaxLimit, 0, nil)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if s.TryAcquire(Default) {
				s.Release()
			}
		}
	})
}
