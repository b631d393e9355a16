package greeter

import (
	"context"
	"testing"
	"testing/synctest"
)

// FuzzSlots drives the slots of Config.Capacity with a random sequence of
// operations and checks after each that every call either holds a slot or
// waits for one, that no call waits while a slot is free, and that no more
// calls hold a slot than the capacity allows, unless the capacity was
// lowered under them.
func FuzzSlots(f *testing.F) {
	f.Add([]byte{0x30, 0, 0, 0, 1, 2, 0, 1, 1, 1})
	f.Add([]byte{0x10, 0, 0, 0, 0, 2, 2, 1, 0x33, 1})
	f.Add([]byte{0x20, 0, 0, 0x03, 0, 0, 1, 0x13, 2, 1, 1})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) > 64 {
			ops = ops[:64]
		}
		synctest.Test(t, func(t *testing.T) {
			var s slots
			type call struct {
				cancel context.CancelFunc
				done   chan error // receives acquire's result
				holds  bool
			}
			var calls []*call
			capacity, lowered := 0, false
			defer func() { // leave nothing behind in the bubble
				for _, c := range calls {
					c.cancel()
					if !c.holds {
						if err := <-c.done; err == nil {
							s.release()
						}
					}
				}
			}()
			settle := func() {
				synctest.Wait()
				for _, c := range calls {
					if c.holds {
						continue
					}
					select {
					case err := <-c.done:
						if err != nil {
							t.Fatalf("acquire failed without a cancel: %v", err)
						}
						c.holds = true
					default:
					}
				}
			}
			for _, op := range ops {
				arg := int(op >> 4)
				switch op & 0x03 {
				case 0: // a new call
					ctx, cancel := context.WithCancel(t.Context())
					c := &call{cancel: cancel, done: make(chan error, 1)}
					calls = append(calls, c)
					go func() { c.done <- s.acquire(ctx) }()
				case 1: // the arg-th holder finishes
					if i := nth(calls, arg, func(c *call) bool { return c.holds }); i >= 0 {
						s.release()
						calls[i].cancel()
						calls = append(calls[:i], calls[i+1:]...)
					}
				case 2: // the arg-th waiter gives up
					if i := nth(calls, arg, func(c *call) bool { return !c.holds }); i >= 0 {
						c := calls[i]
						c.cancel()
						if err := <-c.done; err == nil {
							s.release() // it got a slot just before: give it back
						}
						calls = append(calls[:i], calls[i+1:]...)
					}
				case 3:
					lowered = lowered || (arg != 0 && (capacity == 0 || arg < capacity))
					capacity = arg
					s.setCapacity(arg)
				}
				settle()
				holding, waiting := 0, 0
				for _, c := range calls {
					if c.holds {
						holding++
					} else {
						waiting++
					}
				}
				inUse, queued := s.stats()
				if inUse != holding || queued != waiting {
					t.Fatalf("stats %d in use, %d waiting; the calls see %d holding, %d waiting", inUse, queued, holding, waiting)
				}
				if waiting > 0 && (capacity == 0 || holding < capacity) {
					t.Fatalf("%d calls wait while %d of %d slots are used", waiting, holding, capacity)
				}
				if !lowered && capacity > 0 && holding > capacity {
					t.Fatalf("%d calls hold a slot; capacity %d", holding, capacity)
				}
				if holding <= capacity || capacity == 0 {
					lowered = false
				}
			}
		})
	})
}

// nth returns the index of the n-th element of calls (modulo their number)
// for which ok holds, or -1.
func nth[T any](calls []T, n int, ok func(T) bool) int {
	var idx []int
	for i, c := range calls {
		if ok(c) {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return -1
	}
	return idx[n%len(idx)]
}
