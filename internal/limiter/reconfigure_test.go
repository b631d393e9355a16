package limiter

import (
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Raised shares hand permits to the waiters of the classes they raise;
// lowered ones take nothing back.
func TestSetSharesWakesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(10, 10, []float64{1, 1, 0.2})
		for range 2 {
			s.TryAcquire(Sheddable)
		}
		var got atomic.Int64
		for range 3 {
			go func() {
				if s.Acquire(t.Context(), Sheddable, time.Hour) == Acquired {
					got.Add(1)
				}
			}()
		}
		synctest.Wait()
		if got.Load() != 0 || s.Queued() != 3 {
			t.Fatalf("granted=%d queued=%d; want 0, 3", got.Load(), s.Queued())
		}
		s.SetShares([]float64{1, 1, 0.4})
		synctest.Wait()
		if got.Load() != 2 || s.InFlight() != 4 || s.Queued() != 1 || s.Limit() != 10 {
			t.Fatalf("granted=%d inflight=%d queued=%d limit=%d; want 2, 4, 1, 10", got.Load(), s.InFlight(), s.Queued(), s.Limit())
		}
		s.SetShares(nil) // every class the whole limit
		synctest.Wait()
		if got.Load() != 3 || s.InFlight() != 5 {
			t.Fatalf("granted=%d inflight=%d; want 3, 5", got.Load(), s.InFlight())
		}
		s.SetShares([]float64{1, 0.5, 0.1})
		if s.InFlight() != 5 || s.Threshold(Default) != 5 || s.Threshold(Sheddable) != 1 {
			t.Fatalf("inflight=%d thresholds %d, %d; want 5 held, 5 and 1", s.InFlight(), s.Threshold(Default), s.Threshold(Sheddable))
		}
		for range 5 {
			s.Release()
		}
	})
}

// A shorter queue keeps its waiters and refuses newcomers until it is
// shorter than its new length.
func TestSetMaxQueueKeepsWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(1, 4, nil)
		s.TryAcquire(Default)
		var got atomic.Int64
		for range 4 {
			go func() {
				if s.Acquire(t.Context(), Default, time.Hour) == Acquired {
					got.Add(1)
					s.Release()
				}
			}()
		}
		synctest.Wait()
		s.SetMaxQueue(2)
		if r := s.Acquire(t.Context(), Default, time.Hour); r != QueueFull || s.Queued() != 4 || s.MaxQueue() != 2 {
			t.Fatalf("Acquire = %v, queued %d, max %d; want QueueFull, 4, 2", r, s.Queued(), s.MaxQueue())
		}
		s.SetMaxQueue(0)
		if r := s.Acquire(t.Context(), Default, time.Hour); r != Full {
			t.Fatalf("Acquire with no queue = %v; want Full", r)
		}
		s.Release()
		synctest.Wait()
		if got.Load() != 4 || s.InFlight() != 0 || s.Queued() != 0 {
			t.Fatalf("granted=%d inflight=%d queued=%d; want 4, 0, 0", got.Load(), s.InFlight(), s.Queued())
		}
	})
}

// SetLimit (the adaptive controller's) and SetShares (a reconfiguration's)
// racing lose neither change: the thresholds end as the last limit with the
// last shares, while permits come and go.
func TestSetLimitAndSetSharesLoseNothing(t *testing.T) {
	s := New(100, 100, nil)
	shares := [][]float64{{1, 0.9, 0.1}, {1, 0.5, 0.5}, {1, 0.3, 0.2}}
	const rounds = 2000
	lastLimit, lastShares := 1+(rounds-1)%1000, shares[(rounds-1)%len(shares)]
	var setters, callers sync.WaitGroup
	stop := make(chan struct{})
	for c := range NumClasses {
		callers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if s.Acquire(t.Context(), c, time.Millisecond) == Acquired {
					s.Release()
				}
			}
		})
	}
	setters.Go(func() {
		for i := range rounds {
			s.SetLimit(1 + i%1000)
		}
	})
	setters.Go(func() {
		for i := range rounds {
			s.SetShares(shares[i%len(shares)])
		}
	})
	setters.Wait()
	close(stop)
	callers.Wait()
	sh := sharesOf(lastShares)
	if got, want := s.thr.Load(), pack(lastLimit, &sh); got != want {
		t.Fatalf("thresholds %x; want %x (the last limit with the last shares)", got, want)
	}
	if s.InFlight() != 0 || s.Queued() != 0 {
		t.Fatalf("inflight=%d queued=%d", s.InFlight(), s.Queued())
	}
}
