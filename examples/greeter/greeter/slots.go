package greeter

import (
	"context"
	"sync"
)

// slots simulates a fixed number of CPUs: at most capacity calls hold a
// slot; the others wait in line, first come first served. capacity 0 means
// unlimited. The capacity can change at any time; raising it lets waiters
// in at once, lowering it lets calls that hold a slot finish.
type slots struct {
	mu       sync.Mutex
	capacity int
	inUse    int
	waiters  []chan struct{} // closed when the waiter is given a slot
}

// acquire takes a slot, waiting for one while ctx allows. On success the
// caller must call release once.
func (s *slots) acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.free() && len(s.waiters) == 0 {
		s.inUse++
		s.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	s.waiters = append(s.waiters, ready)
	s.mu.Unlock()

	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, w := range s.waiters {
			if w == ready {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				return ctx.Err()
			}
		}
		// Given a slot just as ctx ended: hand it on.
		s.inUse--
		s.grant()
		return ctx.Err()
	}
}

// release gives back a slot taken by acquire.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inUse--
	s.grant()
}

// setCapacity changes the capacity and lets in the waiters it makes room
// for.
func (s *slots) setCapacity(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.capacity = n
	s.grant()
}

// stats returns the calls holding a slot and those waiting for one.
func (s *slots) stats() (inUse, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inUse, len(s.waiters)
}

// free reports whether one more call may hold a slot; s.mu is held.
func (s *slots) free() bool { return s.capacity == 0 || s.inUse < s.capacity }

// grant hands free slots to waiters in order; s.mu is held.
func (s *slots) grant() {
	for len(s.waiters) > 0 && s.free() {
		w := s.waiters[0]
		s.waiters[0] = nil
		s.waiters = s.waiters[1:]
		s.inUse++
		close(w)
	}
}
