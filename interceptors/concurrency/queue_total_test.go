package concurrency_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"

	"github.com/bulwarkrpc/bulwark/interceptors/concurrency"
)

// A call that waits in its method's queue and then in the global queue
// waits no longer than WithQueue's maximum in all: 60 ms for the method's
// permit leaves it 40 ms of the 100 ms for the global one, so it is refused
// 100 ms after it arrived, not 160 ms.
func TestQueueWaitIsBoundedAcrossMethodAndGlobalQueues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			m1       = "/svc.S/M1" // limit 1
			m2       = "/svc.S/M2" // the global limit only
			maxWait  = 100 * time.Millisecond
			heldByA  = 60 * time.Millisecond
			deadline = time.Second // far away: the queue, not the caller, decides
		)
		l := newLimiter(t, concurrency.WithLimit(2), concurrency.WithMethodLimit(m1, 1), concurrency.WithQueue(10, maxWait))
		serve := l.UnaryServerInterceptor()
		call := func(method string, release <-chan struct{}) error {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			_, err := serve(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, func(context.Context, any) (any, error) {
				<-release
				return nil, nil
			})
			return err
		}
		releaseA, releaseB, releaseD, released := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
		close(released)
		go func() { _ = call(m1, releaseA) }() // A: M1's permit and a global one
		go func() { _ = call(m2, releaseB) }() // B: the other global one
		synctest.Wait()
		go func() { _ = call(m2, releaseD) }() // D: first in the global queue
		synctest.Wait()

		type result struct {
			err    error
			waited time.Duration
		}
		cDone := make(chan result, 1)
		go func() { // C: waits for M1's permit, then for a global one
			start := time.Now()
			err := call(m1, released)
			cDone <- result{err, time.Since(start)}
		}()
		synctest.Wait()
		time.Sleep(heldByA)
		close(releaseA) // C gets M1's permit; D, queued first, gets A's global one
		synctest.Wait()
		if s := l.Stats(); s.InFlight != 2 || s.Queued != 1 {
			t.Fatalf("global limit: %d in flight, %d queued; want B and D in flight and C queued", s.InFlight, s.Queued)
		}
		c := <-cDone
		if rejection(c.err) != "queue_timeout" {
			t.Fatalf("C: %v; want a queue timeout", c.err)
		}
		if c.waited != maxWait {
			t.Fatalf("C waited %v in all; want exactly WithQueue's %v", c.waited, maxWait)
		}
		close(releaseB)
		close(releaseD)
		synctest.Wait()
	})
}
