// Package stripe is a counter that many goroutines add to at once without
// writing a cache line that each of them writes.
package stripe

import (
	"math/bits"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// cacheLine is the padding between stripes; 128 bytes also defeats the
// adjacent-line prefetcher of x86 processors.
const cacheLine = 128

type part struct {
	n atomic.Int64
	_ [cacheLine - 8]byte
}

// Counter is a count kept in several stripes: each goroutine adds to one,
// picked from the address of its stack, and Load sums them. Four stripes
// per P, from 4 to 64. Make one with New.
type Counter struct {
	parts []part
	shift uint
}

// New returns a zero Counter.
func New() Counter {
	n := 4 * runtime.GOMAXPROCS(0)
	n = min(max(1<<bits.Len(uint(n-1)), 4), 64) // a power of two
	return Counter{parts: make([]part, n), shift: uint(64 - bits.TrailingZeros(uint(n)))}
}

// Add adds d to the calling goroutine's stripe.
func (c *Counter) Add(d int64) {
	var x byte
	// Goroutine stacks are at least 2 KiB apart: drop the low bits, then
	// spread with Fibonacci hashing.
	h := uint64(uintptr(unsafe.Pointer(&x))>>11) * 0x9E3779B97F4A7C15
	c.parts[h>>c.shift].n.Add(d)
}

// Load returns the sum of the stripes.
func (c *Counter) Load() int64 {
	var sum int64
	for i := range c.parts {
		sum += c.parts[i].n.Load()
	}
	return sum
}
