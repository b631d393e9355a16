package breaker

import "time"

// OpenRemaining gives the tests the time the state machine stays open, in
// ModeMetricsOnly too (where RefusesFor is zero).
func (b *Breaker) OpenRemaining() time.Duration { return b.remaining() }

// CurrentMode gives the tests the breaker's mode.
func (b *Breaker) CurrentMode() Mode {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mode
}
