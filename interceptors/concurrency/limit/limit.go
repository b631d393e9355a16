package limit

import (
	"fmt"
	"time"
)

// Sample is what a limiter measured during one window.
type Sample struct {
	// RTT is the average latency of the window's calls that were not
	// dropped; zero when every call was dropped.
	RTT time.Duration
	// InFlight is the largest number of calls in flight, counted as each
	// call of the window started.
	InFlight int
	// Calls is the number of calls that ended in the window, dropped ones
	// included.
	Calls int
	// Drops is the number of calls that ended in an overload signal: the
	// peer refused them, or they ran out of time.
	Drops int
}

// An Algorithm adapts a concurrency limit to the samples it is given. The
// limiter serialises calls to Update and reads Limit from one goroutine at
// a time, so implementations need no locking. An Algorithm belongs to one
// limiter: do not share one between limiters.
type Algorithm interface {
	// Limit returns the current limit, at least 1.
	Limit() int
	// Update records the sample of one window and returns the new limit.
	Update(s Sample) int
}

func checkBounds(name string, initial, lo, hi int) error {
	switch {
	case lo < 1:
		return fmt.Errorf("limit: %s.Min %d: must be at least 1", name, lo)
	case hi < lo:
		return fmt.Errorf("limit: %s.Max %d: must be at least Min (%d)", name, hi, lo)
	case initial < lo || initial > hi:
		return fmt.Errorf("limit: %s.Initial %d: must be between Min (%d) and Max (%d)", name, initial, lo, hi)
	}
	return nil
}

func clamp(v float64, lo, hi int) float64 {
	return max(float64(lo), min(v, float64(hi)))
}
